import Foundation

/// A definition file that could not be loaded: every mistake found, each with its line and field.
public struct CaseTypeInvalid: Error, Sendable, CustomStringConvertible {
    public var errors: [DefinitionError]
    public init(errors: [DefinitionError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension CaseType {
    static let keyPattern = #"^[a-z][a-z0-9_-]{0,62}$"#

    /// Reads and checks a case type definition. Nothing is half-loaded: either the whole type is valid, or every
    /// mistake is reported with its line and field path.
    public static func load(_ root: DefinitionNode, zone: TimeZone, version: Int = 1) throws(CaseTypeInvalid) -> CaseType {
        var r = DefinitionReader()
        r.only(
            root, "",
            [
                "key", "name", "description", "department", "currency", "queues", "default_queue", "calendar", "fields", "documents", "states",
                "transitions", "rules", "automations", "translations", "audience", "who_can_apply", "time_needed",
                "what_happens_next",
            ])
        let line = root.line
        func isKey(_ text: String?) -> Bool { text.map { $0.range(of: keyPattern, options: .regularExpression) != nil } ?? false }
        let key = r.text(root["key"], "key", parentLine: line) ?? ""
        if !key.isEmpty, !isKey(key) { r.fail(root["key"], "key", "must be lowercase letters, digits, - or _, starting with a letter") }
        let name = r.text(root["name"], "name", parentLine: line) ?? ""
        let description = r.text(root["description"], "description", required: false, parentLine: line) ?? ""
        let department = r.text(root["department"], "department", parentLine: line) ?? ""
        let currency = r.text(root["currency"], "currency", required: false, parentLine: line) ?? "$"

        // Calendar
        var calendar = BusinessCalendar.standard(zone: zone)
        if let node = root["calendar"] {
            r.only(node, "calendar", ["hours", "holidays"])
            if let hours = r.text(node["hours"], "calendar.hours", required: false, parentLine: node.line) {
                do { calendar.hours = try Shift.parse(hours) } catch {
                    r.fail(node["hours"], "calendar.hours", "must read like \u{201C}mon-fri 08:00-17:00\u{201D}")
                }
            }
            for (index, item) in r.list(node["holidays"], "calendar.holidays", parentLine: node.line).enumerated() {
                guard let day = r.text(item, "calendar.holidays[\(index)]", parentLine: node.line) else { continue }
                if day.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) == nil {
                    r.fail(item, "calendar.holidays[\(index)]", "must be a day like 2026-12-25")
                } else {
                    calendar.holidays.insert(day)
                }
            }
        }

        // Queues
        var queues: [CaseQueue] = []
        for (index, item) in r.list(root["queues"], "queues", parentLine: line, required: true).enumerated() {
            let path = "queues[\(index)]"
            r.only(item, path, ["name", "skills", "assignment"])
            guard let queueName = r.text(item["name"], path + ".name", parentLine: item.line) else { continue }
            if queues.contains(where: { $0.name == queueName }) {
                r.fail(item["name"], path + ".name", "repeats the queue \u{201C}\(queueName)\u{201D}")
            }
            var assignment = CaseQueue.Assignment.pull
            if let text = r.text(item["assignment"], path + ".assignment", required: false, parentLine: item.line) {
                if let parsed = CaseQueue.Assignment(rawValue: text) {
                    assignment = parsed
                } else {
                    r.fail(item["assignment"], path + ".assignment", "must be pull, round_robin or least_loaded")
                }
            }
            queues.append(
                CaseQueue(name: queueName, skills: Set(r.texts(item["skills"], path + ".skills", parentLine: item.line)), assignment: assignment))
        }
        let defaultQueue = r.text(root["default_queue"], "default_queue", required: false, parentLine: line) ?? queues.first?.name ?? ""
        if !queues.isEmpty, !queues.contains(where: { $0.name == defaultQueue }) {
            r.fail(root["default_queue"], "default_queue", "names no queue of this file")
        }

        // Documents
        var documents: [DocumentType] = []
        for (index, item) in r.list(root["documents"], "documents", parentLine: line).enumerated() {
            let path = "documents[\(index)]"
            r.only(item, path, ["key", "label", "types", "max_mb"])
            let documentKey = r.text(item["key"], path + ".key", parentLine: item.line) ?? ""
            if !isKey(documentKey) { r.fail(item["key"], path + ".key", "must be lowercase letters, digits, - or _") }
            if documents.contains(where: { $0.key == documentKey }) {
                r.fail(item["key"], path + ".key", "repeats the document \u{201C}\(documentKey)\u{201D}")
            }
            let types = r.texts(item["types"], path + ".types", parentLine: item.line)
            let known = ["application/pdf", "image/jpeg", "image/png"]
            for (position, type) in types.enumerated() where !known.contains(type) {
                r.fail(item["types"], "\(path).types[\(position)]", "must be one of \(known.joined(separator: ", "))")
            }
            let megabytes = r.number(item["max_mb"], path + ".max_mb", parentLine: item.line) ?? 10
            if megabytes <= 0 || megabytes > 25 { r.fail(item["max_mb"], path + ".max_mb", "must be more than 0 and at most 25") }
            documents.append(
                DocumentType(
                    key: documentKey, label: r.text(item["label"], path + ".label", parentLine: item.line) ?? documentKey,
                    contentTypes: types.isEmpty ? known : types, maximumBytes: Int(megabytes * 1_048_576)))
        }

        // Fields
        let fields = readFields(root, documents: documents, &r)
        // Expressions read the fields and the documents (true once uploaded).
        let fieldKeys = Set(fields.map(\.key)).union(documents.map(\.key))

        // Rules
        var rules: [EligibilityRule] = []
        for (index, item) in r.list(root["rules"], "rules", parentLine: line).enumerated() {
            let path = "rules[\(index)]"
            r.only(item, path, ["id", "version", "label", "when", "pass", "fail"])
            let id = r.text(item["id"], path + ".id", parentLine: item.line) ?? ""
            if rules.contains(where: { $0.id == id }) { r.fail(item["id"], path + ".id", "repeats the rule \u{201C}\(id)\u{201D}") }
            let version = r.number(item["version"], path + ".version", parentLine: item.line) ?? 1
            let text = r.text(item["when"], path + ".when", parentLine: item.line) ?? "true"
            let condition = expression(text, item["when"], path + ".when", known: fieldKeys, &r)
            let pass = r.text(item["pass"], path + ".pass", parentLine: item.line) ?? ""
            let fail = r.text(item["fail"], path + ".fail", parentLine: item.line) ?? ""
            for (words, name) in [(pass, "pass"), (fail, "fail")] {
                for placeholder in CaseText.placeholders(in: words) where !fields.contains(where: { $0.key == placeholder }) {
                    r.fail(item[name], "\(path).\(name)", "names {\(placeholder)}, which is not a field")
                }
            }
            if let condition {
                rules.append(
                    EligibilityRule(
                        id: id, version: Int(version), label: r.text(item["label"], path + ".label", required: false, parentLine: item.line) ?? id,
                        condition: condition, passText: pass, failText: fail))
            }
        }

        // States
        var states: [CaseState] = []
        for (index, item) in r.list(root["states"], "states", parentLine: line, required: true).enumerated() {
            let path = "states[\(index)]"
            r.only(item, path, ["key", "label", "applicant_text", "sla", "final", "waiting_on_applicant"])
            let stateKey = r.text(item["key"], path + ".key", parentLine: item.line) ?? ""
            if !isKey(stateKey) { r.fail(item["key"], path + ".key", "must be lowercase letters, digits, - or _") }
            if states.contains(where: { $0.key == stateKey }) { r.fail(item["key"], path + ".key", "repeats the state \u{201C}\(stateKey)\u{201D}") }
            var level: ServiceLevel?
            if let text = r.text(item["sla"], path + ".sla", required: false, parentLine: item.line) {
                level = ServiceLevel.parse(text)
                if level == nil {
                    r.fail(
                        item["sla"], path + ".sla",
                        "must read like \u{201C}5 business days\u{201D}, \u{201C}8 business hours\u{201D} or \u{201C}30 days\u{201D}")
                }
            }
            let label = r.text(item["label"], path + ".label", parentLine: item.line) ?? stateKey
            states.append(
                CaseState(
                    key: stateKey, label: label,
                    applicantText: r.text(item["applicant_text"], path + ".applicant_text", required: false, parentLine: item.line) ?? label,
                    serviceLevel: level, final: r.bool(item["final"], path + ".final", parentLine: item.line) ?? false,
                    waitingOnApplicant: r.bool(item["waiting_on_applicant"], path + ".waiting_on_applicant", parentLine: item.line) ?? false))
        }
        if states.first?.final == true { r.fail(root["states"], "states[0]", "the first state is where cases start; it cannot be final") }
        let stateKeys = Set(states.map(\.key))

        // Transitions
        var transitions: [CaseTransition] = []
        for (index, item) in r.list(root["transitions"], "transitions", parentLine: line, required: true).enumerated() {
            let path = "transitions[\(index)]"
            r.only(item, path, ["key", "label", "from", "to", "by", "guard", "reason_required", "asks_for_documents", "decides"])
            let transitionKey = r.text(item["key"], path + ".key", parentLine: item.line) ?? ""
            if !isKey(transitionKey) { r.fail(item["key"], path + ".key", "must be lowercase letters, digits, - or _") }
            if transitions.contains(where: { $0.key == transitionKey }) {
                r.fail(item["key"], path + ".key", "repeats the transition \u{201C}\(transitionKey)\u{201D}")
            }
            let from = r.texts(item["from"], path + ".from", parentLine: item.line)
            if from.isEmpty { r.fail(item["from"], path + ".from", "is required", line: item.line) }
            for state in from where !stateKeys.contains(state) {
                r.fail(item["from"], path + ".from", "names the unknown state \u{201C}\(state)\u{201D}")
            }
            let to = r.text(item["to"], path + ".to", parentLine: item.line) ?? ""
            if !to.isEmpty, !stateKeys.contains(to) { r.fail(item["to"], path + ".to", "names the unknown state \u{201C}\(to)\u{201D}") }
            var by: Set<CaseActor> = []
            for name in r.texts(item["by"], path + ".by", parentLine: item.line) {
                if let actor = CaseActor(name) {
                    by.insert(actor)
                } else {
                    r.fail(
                        item["by"], path + ".by",
                        "names \u{201C}\(name)\u{201D}; use applicant, partner, automatic or a role (\(CaseActor.roles.sorted().joined(separator: ", ")))"
                    )
                }
            }
            if by.isEmpty { r.fail(item["by"], path + ".by", "must name who may take it", line: item.line) }
            var guarding = TransitionGuard(fieldsValid: false, documents: [], rules: [], condition: nil)
            if let node = item["guard"] {
                r.only(node, path + ".guard", ["fields_valid", "documents", "rules", "when"])
                guarding.fieldsValid = r.bool(node["fields_valid"], path + ".guard.fields_valid", parentLine: node.line) ?? false
                guarding.documents = r.texts(node["documents"], path + ".guard.documents", parentLine: node.line)
                for document in guarding.documents where !documents.contains(where: { $0.key == document }) {
                    r.fail(node["documents"], path + ".guard.documents", "names the unknown document \u{201C}\(document)\u{201D}")
                }
                guarding.rules = r.texts(node["rules"], path + ".guard.rules", parentLine: node.line)
                if let text = r.text(node["when"], path + ".guard.when", required: false, parentLine: node.line) {
                    guarding.condition = expression(text, node["when"], path + ".guard.when", known: fieldKeys, &r)
                }
            }
            let decides = r.texts(item["decides"], path + ".decides", parentLine: item.line)
            for id in guarding.rules + decides where !rules.contains(where: { $0.id == id }) {
                r.fail(item["guard"] ?? item, path, "names the unknown rule \u{201C}\(id)\u{201D}")
            }
            transitions.append(
                CaseTransition(
                    key: transitionKey, label: r.text(item["label"], path + ".label", parentLine: item.line) ?? transitionKey, from: from, to: to,
                    by: by, guarding: guarding,
                    reasonRequired: r.bool(item["reason_required"], path + ".reason_required", parentLine: item.line) ?? false,
                    asksForDocuments: r.bool(item["asks_for_documents"], path + ".asks_for_documents", parentLine: item.line) ?? false,
                    decides: decides))
        }
        for state in states where !state.final && !transitions.contains(where: { $0.from.contains(state.key) }) {
            r.fail(root["states"], "states.\(state.key)", "is not final, but no transition leaves it")
        }

        // Automations
        var automations: [Automation] = []
        for (index, item) in r.list(root["automations"], "automations", parentLine: line).enumerated() {
            let path = "automations[\(index)]"
            r.only(item, path, ["name", "when_entering", "after", "in_state", "if", "route_to", "remind", "transition"])
            let automationName = r.text(item["name"], path + ".name", parentLine: item.line) ?? "automation \(index + 1)"
            var trigger: AutomationTrigger?
            if let state = r.text(item["when_entering"], path + ".when_entering", required: false, parentLine: item.line) {
                if !stateKeys.contains(state) {
                    r.fail(item["when_entering"], path + ".when_entering", "names the unknown state \u{201C}\(state)\u{201D}")
                }
                trigger = .entering(state)
            } else if let after = r.text(item["after"], path + ".after", required: false, parentLine: item.line) {
                let state = r.text(item["in_state"], path + ".in_state", parentLine: item.line) ?? ""
                if !state.isEmpty, !stateKeys.contains(state) {
                    r.fail(item["in_state"], path + ".in_state", "names the unknown state \u{201C}\(state)\u{201D}")
                }
                if let level = ServiceLevel.parse(after) {
                    trigger = .after(state: state, level)
                } else {
                    r.fail(item["after"], path + ".after", "must read like \u{201C}14 days\u{201D} or \u{201C}3 business days\u{201D}")
                }
            } else {
                r.fail(item, path, "needs when_entering: STATE, or after: DURATION with in_state: STATE")
            }
            var condition: Expression?
            if let text = r.text(item["if"], path + ".if", required: false, parentLine: item.line) {
                condition = expression(text, item["if"], path + ".if", known: fieldKeys, &r)
            }
            var actions: [AutomationAction] = []
            if let queue = r.text(item["route_to"], path + ".route_to", required: false, parentLine: item.line) {
                if !queues.contains(where: { $0.name == queue }) { r.fail(item["route_to"], path + ".route_to", "names no queue of this file") }
                actions.append(.routeTo(queue))
            }
            if let message = r.text(item["remind"], path + ".remind", required: false, parentLine: item.line) { actions.append(.remind(message)) }
            if let transition = r.text(item["transition"], path + ".transition", required: false, parentLine: item.line) {
                if let found = transitions.first(where: { $0.key == transition }) {
                    if !found.by.contains(.automatic) {
                        r.fail(item["transition"], path + ".transition", "\u{201C}\(transition)\u{201D} must list automatic in its by")
                    }
                } else {
                    r.fail(item["transition"], path + ".transition", "names the unknown transition \u{201C}\(transition)\u{201D}")
                }
                actions.append(.transition(transition))
            }
            if actions.isEmpty { r.fail(item, path, "does nothing: give route_to, remind or transition") }
            if let trigger { automations.append(Automation(name: automationName, trigger: trigger, condition: condition, actions: actions)) }
        }

        // Translations: the same texts in another language, under the same names as above.
        var translations: [Language: [String: String]] = [:]
        if let node = root["translations"] {
            let known = translatablePaths(
                fields: fields, documents: documents, states: states, transitions: transitions, rules: rules, automations: automations)
            let others = Language.allCases.filter { $0 != .english }.map(\.rawValue)
            if case .mapping(let languages, _) = node {
                for entry in languages {
                    let base = "translations.\(entry.key)"
                    guard let language = Language(rawValue: entry.key), language != .english else {
                        r.fail(entry.value, base, "must be a language Civitas speaks besides English: \(others.joined(separator: ", "))")
                        continue
                    }
                    var words: [String: String] = [:]
                    func walk(_ node: DefinitionNode, _ path: String) {
                        switch node {
                        case .mapping(let pairs, _):
                            for pair in pairs { walk(pair.value, path.isEmpty ? pair.key : "\(path).\(pair.key)") }
                        case .scalar(let text, _) where known.contains(path):
                            words[path] = text
                            if path.hasPrefix("rules."), path.hasSuffix(".pass") || path.hasSuffix(".fail") {
                                for placeholder in CaseText.placeholders(in: text) where !fields.contains(where: { $0.key == placeholder }) {
                                    r.fail(node, "\(base).\(path)", "names {\(placeholder)}, which is not a field")
                                }
                            }
                        default:
                            r.fail(
                                node, "\(base).\(path)",
                                "names no text of this file (a field's label, hint or choice; a document's label; a state's label or applicant_text; a step's label; a rule's label, pass or fail; an automation's remind)"
                            )
                        }
                    }
                    walk(entry.value, "")
                    translations[language] = words
                }
            } else {
                r.fail(node, "translations", "must map a language (\(others.joined(separator: ", "))) to its texts")
            }
        }

        guard r.errors.isEmpty else { throw CaseTypeInvalid(errors: r.errors) }
        var type = CaseType(
            key: key, name: name, description: description, department: department, currency: currency, version: version, queues: queues,
            defaultQueue: defaultQueue, calendar: calendar, fields: fields, documents: documents, states: states, transitions: transitions,
            rules: rules,
            automations: automations)
        type.translations = translations
        try readStartPage(root, into: &type)
        return type
    }

    /// The start page's words and who may apply; in its own function to keep `load`'s frame small.
    private static func readStartPage(_ root: DefinitionNode, into type: inout CaseType) throws(CaseTypeInvalid) {
        var r = DefinitionReader()
        type.whoCanApply = r.text(root["who_can_apply"], "who_can_apply", required: false, parentLine: root.line) ?? ""
        type.timeNeeded = r.text(root["time_needed"], "time_needed", required: false, parentLine: root.line) ?? ""
        type.whatHappensNext = r.text(root["what_happens_next"], "what_happens_next", required: false, parentLine: root.line) ?? ""
        let audience = r.text(root["audience"], "audience", required: false, parentLine: root.line) ?? "public"
        if let known = CaseType.Audience(rawValue: audience) {
            type.audience = known
        } else {
            r.fail(root["audience"], "audience", "must be public or staff")
        }
        guard r.errors.isEmpty else { throw CaseTypeInvalid(errors: r.errors) }
    }

    static func expression(
        _ text: String, _ node: DefinitionNode?, _ path: String, known: Set<String>, _ r: inout DefinitionReader, earlier: Bool = false
    ) -> Expression? {
        do {
            let parsed = try Expression(text)
            for name in parsed.identifiers.sorted() where !known.contains(name) {
                r.fail(
                    node, path,
                    earlier
                        ? "uses \u{201C}\(name)\u{201D}, which is not a field asked before this one"
                        : "uses \u{201C}\(name)\u{201D}, which is not a field")
            }
            return parsed
        } catch {
            r.fail(node, path, "\(error)")
            return nil
        }
    }
}
