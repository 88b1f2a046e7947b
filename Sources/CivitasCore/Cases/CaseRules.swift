import Foundation

/// A rule's outcome for one case, kept with the rule's version and the values it used, and told to the applicant
/// in the rule's own words.
public struct CaseDecision: Sendable, Equatable {
    public var ruleID: String
    public var ruleVersion: Int
    public var passed: Bool
    /// Each field the rule read, as shown to the applicant ("$312").
    public var values: [String: String]
    public var text: String

    public init(ruleID: String, ruleVersion: Int, passed: Bool, values: [String: String], text: String) {
        self.ruleID = ruleID
        self.ruleVersion = ruleVersion
        self.passed = passed
        self.values = values
        self.text = text
    }
}

/// Whether a transition may be taken now, and if not, every reason in plain words.
public struct TransitionCheck: Sendable {
    public var problems: [String]
    /// Rules evaluated on the way (guards and `decides`), to be kept whether or not the transition is taken.
    public var decisions: [CaseDecision]
    public var allowed: Bool { problems.isEmpty }
}

/// Filling the agency's texts with a case's values.
public enum CaseText {
    /// The `{field}` names in a text.
    public static func placeholders(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            names.append(String(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    public static func fill(_ text: String, _ values: [String: String]) -> String {
        var result = text
        for (name, value) in values { result = result.replacingOccurrences(of: "{\(name)}", with: value) }
        return result
    }
}

extension CaseType {
    /// A value as the applicant reads it: money with its currency, choices by their label, yes/no as words.
    public func display(_ value: JSONValue?, of field: CaseField) -> String {
        guard let value, value != .null else { return CaseWords.noAnswer(language) }
        switch (field.type, value) {
        case (.money, _):
            guard let number = Self.number(value) else { return Self.plain(value) }
            let whole = number == number.rounded()
            return currency + (whole ? String(Int(number)) : String(format: "%.2f", number))
        case (.choice, .string(let key)): return field.choices.first { $0.key == key }?.label ?? key
        case (.yesno, _): return Self.bool(value).map { CaseWords.yesNo($0, language) } ?? Self.plain(value)
        case (.document, _): return CaseWords.provided(Self.bool(value) == true, language)
        case (.date, .string(let day)) where Self.isDay(day): return Self.longDay(day, language)
        default: return Self.plain(value)
        }
    }

    public static func plain(_ value: JSONValue) -> String {
        switch value {
        case .null: "no answer"
        case .bool(let flag): flag ? "yes" : "no"
        case .integer(let number): String(number)
        case .number(let number): number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .string(let text): text
        case .array(let items): items.map(plain).joined(separator: ", ")
        case .object: "(details)"
        }
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let number): Double(number)
        case .number(let number): number.isFinite ? number : nil
        case .string(let text): Double(text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ",", with: ""))
        default: nil
        }
    }

    static func bool(_ value: JSONValue) -> Bool? {
        switch value {
        case .bool(let flag): flag
        case .string(let text): ["yes", "true"].contains(text.lowercased()) ? true : ["no", "false"].contains(text.lowercased()) ? false : nil
        default: nil
        }
    }

    /// The case's answers as the expression language sees them; a document field is true once uploaded.
    public func expressionValues(_ data: [String: JSONValue], documents: Set<String>) -> [String: ExpressionValue] {
        var values: [String: ExpressionValue] = [:]
        // A document, asked as a field or only declared, reads as true once uploaded and as no value before.
        for document in self.documents { values[document.key] = documents.contains(document.key) ? .bool(true) : .null }
        for field in fields {
            if field.type == .document { continue }
            guard let value = data[field.key], value != .null else { continue }
            switch field.type {
            case .number, .money: values[field.key] = Self.number(value).map(ExpressionValue.number) ?? .null
            case .yesno: values[field.key] = Self.bool(value).map(ExpressionValue.bool) ?? .null
            default:
                if case .array(let items) = value {
                    values[field.key] = .list(items.map { .text(Self.plain($0)) })
                } else {
                    values[field.key] = .text(Self.plain(value))
                }
            }
        }
        return values
    }

    /// Is the field asked, given the answers so far?
    public func applies(_ field: CaseField, data: [String: JSONValue], documents: Set<String>, now: Date) -> Bool {
        guard let condition = field.when else { return true }
        return (try? condition.evaluate(expressionValues(data, documents: documents), now: now).passed) ?? false
    }

    /// What is wrong with one answer, in words, or nil when it is fine. A missing optional answer is fine.
    public func problem(with value: JSONValue?, for field: CaseField, documents: Set<String> = [], now: Date = Date()) -> String? {
        if field.type == .document {
            return field.required && !documents.contains(field.key) ? CaseWords.upload(document(field.key)?.label ?? field.label, language) : nil
        }
        guard let value, value != .null, value != .string("") else { return field.required ? CaseWords.answer(field.label, language) : nil }
        switch field.type {
        case .text, .address, .person:
            guard case .string(let text) = value, text.unicodeScalars.count <= 500 else {
                return CaseWords.atMostCharacters(field.label, "500", language)
            }
            if field.type == .address, !Self.looksLikeAddress(text) { return CaseWords.address(field.label, language) }
        case .longtext:
            guard case .string(let text) = value, text.unicodeScalars.count <= 10_000 else {
                return CaseWords.atMostCharacters(field.label, "10,000", language)
            }
        case .email:
            guard case .string(let text) = value, text.range(of: #"^[^@\s]+@[^@\s]+\.[^@\s]+$"#, options: .regularExpression) != nil,
                text.count <= 254
            else { return CaseWords.email(field.label, language) }
        case .phone:
            guard case .string(let text) = value, text.filter(\.isNumber).count >= 7, text.count <= 30,
                text.allSatisfy({ $0.isNumber || " +-().".contains($0) })
            else { return CaseWords.phone(field.label, language) }
        case .number, .money:
            guard let number = Self.number(value) else { return CaseWords.number(field.label, language) }
            if let minimum = field.minimum, number < minimum { return CaseWords.atLeast(field.label, display(.number(minimum), of: field), language) }
            if let maximum = field.maximum, number > maximum { return CaseWords.atMost(field.label, display(.number(maximum), of: field), language) }
            if field.type == .money, (number * 100).rounded() != number * 100 { return CaseWords.cents(field.label, language) }
        case .date:
            guard case .string(let text) = value, Self.isDay(text) else { return CaseWords.date(field.label, language) }
            let earliest = field.earliest?.day(now: now, zone: calendar.zone) ?? "1900-01-01"
            let latest = field.latest?.day(now: now, zone: calendar.zone) ?? "2199-12-31"
            if text < earliest {
                return CaseWords.notBefore(field.label, field.earliest == .today ? nil : Self.longDay(earliest, language), language)
            }
            if text > latest { return CaseWords.notAfter(field.label, field.latest == .today ? nil : Self.longDay(latest, language), language) }
        case .choice:
            let keys: [String]
            switch value {
            case .string(let key): keys = [key]
            case .array(let items): keys = items.map(Self.plain)
            default: keys = []
            }
            guard !keys.isEmpty, keys.allSatisfy({ key in field.choices.contains { $0.key == key } }) else {
                return CaseWords.chooseOne(field.label, field.choices.map(\.label), language)
            }
        case .yesno:
            guard Self.bool(value) != nil else { return CaseWords.yesOrNo(field.label, language) }
        case .document:
            break
        }
        return nil
    }

    /// A day (YYYY-MM-DD) as a reader of `language` writes it: "April 2, 1988", "2 de abril de 1988".
    public static func longDay(_ day: String, _ language: Language) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let parts = day.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])) else { return day }
        let format = DateFormatter()
        format.locale = Locale(identifier: language == .spanish ? "es_US" : "en_US")
        format.timeZone = .gmt
        format.dateStyle = .long
        format.timeStyle = .none
        return format.string(from: date)
    }

    /// An address a letter can reach: a number (house, box or route) and a street or place name, in two words or more.
    static func looksLikeAddress(_ text: String) -> Bool {
        let words = text.split { $0.isWhitespace || $0 == "," }
        return words.count >= 2 && text.contains(where: \.isNumber) && words.contains { $0.filter(\.isLetter).count >= 2 }
    }

    static func isDay(_ text: String) -> Bool {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard text.count == 10, parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]) else { return false }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        guard let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])) else { return false }
        return calendar.component(.day, from: date) == parts[2]
    }

    /// Every problem with the answers: the fields that apply, in order.
    public func problems(_ data: [String: JSONValue], documents: Set<String>, now: Date) -> [(field: String, message: String)] {
        fields.compactMap { field in
            guard applies(field, data: data, documents: documents, now: now) else { return nil }
            return problem(with: data[field.key], for: field, documents: documents, now: now).map { (field.key, $0) }
        }
    }

    /// Evaluates one rule over the case, keeping the values it read, as shown to the applicant.
    public func decide(_ rule: EligibilityRule, data: [String: JSONValue], documents: Set<String>, now: Date) -> CaseDecision {
        var shown: [String: String] = [:]
        for field in fields { shown[field.key] = display(data[field.key], of: field) }
        do {
            let evaluation = try rule.condition.evaluate(expressionValues(data, documents: documents), now: now)
            var used: [String: String] = [:]
            for (name, _) in evaluation.used { used[name] = shown[name] ?? "no answer" }
            let text = CaseText.fill(evaluation.passed ? rule.passText : rule.failText, shown)
            return CaseDecision(ruleID: rule.id, ruleVersion: rule.version, passed: evaluation.passed, values: used, text: text)
        } catch {
            // A rule that cannot be evaluated (an answer is missing) does not pass, and says why.
            let used = Dictionary(uniqueKeysWithValues: rule.condition.identifiers.map { ($0, shown[$0] ?? "no answer") })
            return CaseDecision(
                ruleID: rule.id, ruleVersion: rule.version, passed: false, values: used,
                text: "Rule \(rule.id) v\(rule.version) (\(rule.label)) could not be decided: \(error).")
        }
    }

    /// May `actor` take `transition` from `state` now? Every refusal reason is listed, and every rule evaluated on the
    /// way is returned as a decision to keep.
    public func check(
        _ transition: CaseTransition, from state: String, by actor: CaseActor, data: [String: JSONValue], documents: Set<String>, reason: String?,
        now: Date
    ) -> TransitionCheck {
        var problems: [String] = []
        if !transition.from.contains(state) {
            problems.append(CaseWords.notNow(transition.label, self.state(state)?.label ?? state, language))
        }
        if !transition.by.contains(actor) {
            problems.append(CaseWords.notYours(transition.label, transition.by.map(\.name).sorted().joined(separator: ", "), actor.name, language))
        }
        if transition.reasonRequired, (reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problems.append(CaseWords.giveReason(transition.label, language))
        }
        if transition.guarding.fieldsValid { problems += self.problems(data, documents: documents, now: now).map(\.message) }
        for key in transition.guarding.documents where !documents.contains(key) {
            problems.append(CaseWords.notProvided(document(key)?.label ?? key, language))
        }
        if let condition = transition.guarding.condition,
            (try? condition.evaluate(expressionValues(data, documents: documents), now: now).passed) != true
        {
            problems.append(CaseWords.conditionFails(condition.source, language))
        }
        var decisions: [CaseDecision] = []
        for id in transition.guarding.rules + transition.decides where !decisions.contains(where: { $0.ruleID == id }) {
            guard let rule = rule(id) else { continue }
            let decision = decide(rule, data: data, documents: documents, now: now)
            decisions.append(decision)
            if transition.guarding.rules.contains(id), !decision.passed { problems.append(decision.text) }
        }
        return TransitionCheck(problems: problems, decisions: decisions)
    }
}
