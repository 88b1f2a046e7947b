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
