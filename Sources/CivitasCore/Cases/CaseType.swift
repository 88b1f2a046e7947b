import Foundation

/// A kind of case an agency handles (an unemployment claim, a building permit, an HR request), defined in a file
/// rather than in code: the application's fields, the documents it takes, the states and who may move a case
/// between them, the guards on those moves, service levels, eligibility rules and automation.
public struct CaseType: Sendable {
    public var key: String
    public var name: String
    public var description: String
    public var department: String
    /// The currency symbol money fields are shown with ("$").
    public var currency: String
    public var version: Int
    public var queues: [CaseQueue]
    /// Where a new case waits unless an automation routes it elsewhere.
    public var defaultQueue: String
    public var calendar: BusinessCalendar
    public var fields: [CaseField]
    public var documents: [DocumentType]
    public var states: [CaseState]
    public var transitions: [CaseTransition]
    public var rules: [EligibilityRule]
    public var automations: [Automation]
    /// The type's texts in other languages, by path (`fields.full_name.label`, `states.submitted.applicant_text`,
    /// `rules.UI-4.fail`); a text without a translation stays as the file wrote it.
    public var translations: [Language: [String: String]] = [:]
    /// Who may apply, in plain words, for the start page ("Anyone who lost work in the state ...").
    public var whoCanApply = ""
    /// How long applying and a decision take, in plain words, for the start page.
    public var timeNeeded = ""
    /// What happens after the application is sent, in plain words, for the confirmation page.
    public var whatHappensNext = ""
    /// Who applies: the public (residents, on the web), or staff only (an HR request), which is not offered to residents.
    public var audience: Audience = .public

    public enum Audience: String, Sendable, CaseIterable {
        case `public`
        case staff
    }
    /// The language the texts are in now (see `localized`); checks and answers are described in it too.
    public var language: Language = .english
    /// For a localized type: each choice field's labels as the file wrote them, to their keys (decisions kept them so).
    var writtenChoices: [String: [String: String]] = [:]
    /// For a localized type: each reminder as the file wrote it, to its translation (the history keeps the former).
    var translatedReminders: [String: String] = [:]

    public var initialState: CaseState { states[0] }
    public func state(_ key: String) -> CaseState? { states.first { $0.key == key } }
    public func transition(_ key: String) -> CaseTransition? { transitions.first { $0.key == key } }
    public func field(_ key: String) -> CaseField? { fields.first { $0.key == key } }
    public func document(_ key: String) -> DocumentType? { documents.first { $0.key == key } }
    public func rule(_ id: String) -> EligibilityRule? { rules.first { $0.id == id } }
    /// The transitions that leave `state`.
    public func transitions(from state: String) -> [CaseTransition] { transitions.filter { $0.from.contains(state) } }
}

public struct CaseQueue: Sendable, Equatable {
    /// How cases reach people: they pull the next one themselves, or each new case is given at once to the next
    /// eligible person in turn, or to the eligible person with the fewest open cases.
    public enum Assignment: String, Sendable, CaseIterable {
        case pull
        case roundRobin = "round_robin"
        case leastLoaded = "least_loaded"
    }

    public var name: String
    /// An agent works a queue only with every one of its skills.
    public var skills: Set<String>
    public var assignment: Assignment

    public init(name: String, skills: Set<String>, assignment: Assignment = .pull) {
        self.name = name
        self.skills = skills
        self.assignment = assignment
    }
}

public enum CaseFieldType: String, Sendable, CaseIterable {
    case text, longtext, number, money, date, choice, yesno, address, person, email, phone, document
}

public struct CaseField: Sendable {
    public var key: String
    public var label: String
    public var hint: String?
    public var type: CaseFieldType
    public var required: Bool
    /// Asked only when this holds (`separation_reason == "quit"`).
    public var when: Expression?
    public var choices: [(key: String, label: String)]
    public var minimum: Double?
    public var maximum: Double?
    /// Personal data: every staff or partner read of the case is audited with these fields named.
    public var personal: Bool
    /// For a date: the earliest and the latest day accepted (a birth date is never after today).
    public var earliest: DayLimit?
    public var latest: DayLimit?
}

/// A bound on a date answer: today (in the agency's time zone) or a fixed day.
public enum DayLimit: Sendable, Equatable {
    case today
    case day(String)

    /// `today` or a day written YYYY-MM-DD; nil for anything else.
    public init?(_ text: String) {
        if text == "today" {
            self = .today
        } else if CaseType.isDay(text) {
            self = .day(text)
        } else {
            return nil
        }
    }

    /// The day it stands for, YYYY-MM-DD.
    public func day(now: Date, zone: TimeZone) -> String {
        switch self {
        case .day(let day): return day
        case .today:
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let parts = calendar.dateComponents([.year, .month, .day], from: now)
            return String(format: "%04d-%02d-%02d", parts.year ?? 1970, parts.month ?? 1, parts.day ?? 1)
        }
    }
}

public struct DocumentType: Sendable, Equatable {
    public var key: String
    public var label: String
    public var contentTypes: [String]
    public var maximumBytes: Int
}

public struct CaseState: Sendable {
    public var key: String
    public var label: String
    /// What the applicant reads about this state ("We are reviewing your claim").
    public var applicantText: String
    public var serviceLevel: ServiceLevel?
    public var final: Bool
    /// The case waits on the applicant here (documents, answers): their deadline is shown to them.
    public var waitingOnApplicant: Bool
}

/// Who may take a transition.
public enum CaseActor: Sendable, Hashable {
    case role(String)
    case applicant
    case partner
    case automatic

    public static let roles: Set<String> = ["admin", "supervisor", "agent", "crew", "analyst"]

    init?(_ text: String) {
        switch text {
        case "applicant": self = .applicant
        case "partner": self = .partner
        case "automatic": self = .automatic
        default:
            guard Self.roles.contains(text) else { return nil }
            self = .role(text)
        }
    }

    public var name: String {
        switch self {
        case .role(let role): role
        case .applicant: "applicant"
        case .partner: "partner"
        case .automatic: "automatic"
        }
    }
}

public struct TransitionGuard: Sendable {
    /// Every required field (that applies) has a valid value.
    public var fieldsValid: Bool
    /// These documents have been uploaded.
    public var documents: [String]
    /// These eligibility rules pass; each evaluation is kept as a decision.
    public var rules: [String]
    public var condition: Expression?

    public var isEmpty: Bool { !fieldsValid && documents.isEmpty && rules.isEmpty && condition == nil }
}

public struct CaseTransition: Sendable {
    public var key: String
    public var label: String
    public var from: [String]
    public var to: String
    public var by: Set<CaseActor>
    public var guarding: TransitionGuard
    public var reasonRequired: Bool
    /// Taking it names which documents the applicant must now provide.
    public var asksForDocuments: Bool
    /// Evaluate these rules and keep the decisions, whether they pass or not (a denial explains itself too).
    public var decides: [String]
}

/// A rule in the agency's own words: the condition, and what to tell the applicant when it passes or fails, with
/// the values it used filled in ("your weekly earnings of {weekly_earnings} are above the $300 limit").
public struct EligibilityRule: Sendable {
    public var id: String
    public var version: Int
    public var label: String
    public var condition: Expression
    public var passText: String
    public var failText: String
}

public enum AutomationTrigger: Sendable {
    /// When a case enters the state.
    case entering(String)
    /// When a case has been in the state this long (checked by the timer sweep).
    case after(state: String, ServiceLevel)
}

public enum AutomationAction: Sendable, Equatable {
    case routeTo(String)
    case remind(String)
    case transition(String)
}

public struct Automation: Sendable {
    public var name: String
    public var trigger: AutomationTrigger
    public var condition: Expression?
    public var actions: [AutomationAction]
}

extension CaseType {
    /// Every text of the type that a translation may give, with where it is now.
    static func translatablePaths(
        fields: [CaseField], documents: [DocumentType], states: [CaseState], transitions: [CaseTransition], rules: [EligibilityRule],
        automations: [Automation]
    ) -> Set<String> {
        var paths: Set<String> = ["name", "description", "who_can_apply", "time_needed", "what_happens_next"]
        for field in fields {
            paths.formUnion(["fields.\(field.key).label", "fields.\(field.key).hint"])
            for choice in field.choices { paths.insert("fields.\(field.key).choices.\(choice.key)") }
        }
        for document in documents { paths.insert("documents.\(document.key).label") }
        for state in states { paths.formUnion(["states.\(state.key).label", "states.\(state.key).applicant_text"]) }
        for transition in transitions { paths.insert("transitions.\(transition.key).label") }
        for rule in rules { paths.formUnion(["rules.\(rule.id).label", "rules.\(rule.id).pass", "rules.\(rule.id).fail"]) }
        for automation in automations where automation.actions.contains(where: { if case .remind = $0 { true } else { false } }) {
            paths.insert("automations.\(automation.name).remind")
        }
        return paths
    }

    /// The type as a reader of `language` sees it: each text its translation has, the rest as written.
    public func localized(_ language: Language) -> CaseType {
        var copy = self
        copy.language = language
        guard let words = translations[language] else { return copy }
        for field in fields where !field.choices.isEmpty {
            copy.writtenChoices[field.key] = Dictionary(field.choices.map { ($0.label, $0.key) }, uniquingKeysWith: { a, _ in a })
        }
        func text(_ path: String, _ current: String) -> String { words[path] ?? current }
        copy.name = text("name", name)
        copy.description = text("description", description)
        copy.whoCanApply = text("who_can_apply", whoCanApply)
        copy.timeNeeded = text("time_needed", timeNeeded)
        copy.whatHappensNext = text("what_happens_next", whatHappensNext)
        func changed<Item>(_ items: [Item], _ change: (inout Item) -> Void) -> [Item] {
            items.map {
                var item = $0
                change(&item)
                return item
            }
        }
        copy.fields = changed(fields) { field in
            field.label = text("fields.\(field.key).label", field.label)
            field.hint = words["fields.\(field.key).hint"] ?? field.hint
            field.choices = field.choices.map { [key = field.key] in ($0.key, text("fields.\(key).choices.\($0.key)", $0.label)) }
        }
        copy.documents = changed(documents) { $0.label = text("documents.\($0.key).label", $0.label) }
        copy.states = changed(states) { state in
            state.label = text("states.\(state.key).label", state.label)
            state.applicantText = text("states.\(state.key).applicant_text", state.applicantText)
        }
        copy.transitions = changed(transitions) { $0.label = text("transitions.\($0.key).label", $0.label) }
        copy.automations = changed(automations) { automation in
            automation.actions = automation.actions.map { [name = automation.name] action in
                guard case .remind(let text) = action, let translated = words["automations.\(name).remind"] else { return action }
                copy.translatedReminders[text] = translated
                return .remind(translated)
            }
        }
        copy.rules = changed(rules) { rule in
            rule.label = text("rules.\(rule.id).label", rule.label)
            rule.passText = text("rules.\(rule.id).pass", rule.passText)
            rule.failText = text("rules.\(rule.id).fail", rule.failText)
        }
        return copy
    }

    /// A task's title as the applicant reads it: a document asked for is named in this type's language; any other
    /// task as staff wrote it.
    public func taskTitle(_ title: String, documentType: String?) -> String {
        guard language != .english, let key = documentType, let document = document(key) else { return title }
        return CaseWords.uploadTask(document.label, language)
    }

    /// A line of the case's history as the applicant reads it. Lines Civitas wrote (the case started, a step taken with
    /// its reason) are told again in this type's language, a step by what it means for them; what people wrote is
    /// shown as written. `kept` is the line as stored (in English).
    public func historyLine(kind: String, transition: String?, to state: String?, kept: String) -> String {
        guard language != .english else { return kept }
        switch kind {
        case "created":
            return CaseWords.started(name, language)
        case "transition":
            guard let key = transition, let state, let step = self.transition(key) else { return kept }
            var line = "\(step.label): \(self.state(state)?.applicantText ?? state)"
            if let reason = CaseWords.reason(in: kept) { line += CaseWords.withReason(String(reason), language) }
            return line
        case "reminder":
            return translatedReminders[kept] ?? kept
        case "party":
            return CaseWords.party(kept, language) ?? kept
        default:
            return kept
        }
    }

    /// What the automation called `name` reminds the applicant of, in this type's language.
    public func reminder(of name: String) -> String? {
        automations.first { $0.name == name }?.actions.lazy.compactMap { if case .remind(let text) = $0 { text } else { nil } }.first
    }

    /// A decision kept in the words of the day it was made, told again in this type's language from the values it
    /// used; as kept when the translation names a value the decision did not keep.
    public func explain(ruleID: String, passed: Bool, values: [String: String], kept: String) -> String {
        guard language != .english, translations[language] != nil, let rule = rule(ruleID) else { return kept }
        let text = passed ? rule.passText : rule.failText
        guard CaseText.placeholders(in: text).allSatisfy({ values[$0] != nil }) else { return kept }
        var shown = values
        for (key, value) in values {
            guard let field = field(key) else { continue }
            if let choice = writtenChoices[key]?[value], let label = field.choices.first(where: { $0.key == choice })?.label {
                shown[key] = label
            } else if field.type == .yesno, value == "yes" || value == "no" {
                shown[key] = CaseWords.yesNo(value == "yes", language)
            }
        }
        return CaseText.fill(text, shown)
    }
}
