import CivitasCore
import Foundation
import SQLKit

/// A case as stored: its type and version, where it is in the workflow, who works it, and the applicant's answers.
public struct CaseRecord: Sendable, Equatable {
    public var id: Int64
    public var jurisdictionID: String
    public var typeKey: String
    public var typeVersion: Int
    public var department: String
    public var state: String
    public var queue: String
    public var workable: Bool
    public var assigneeID: Int64?
    public var applicantID: Int64?
    public var partner: String?
    public var data: [String: JSONValue]
    public var createdAt: Date
    public var updatedAt: Date
    public var submittedAt: Date?
    public var stateEnteredAt: Date
    public var dueAt: Date?
    public var closedAt: Date?
    /// The language the applicant applied in; the mail about the case is written in it.
    public var language: Language = .english
}

public struct CaseEvent: Sendable, Equatable {
    public enum Visibility: String, Sendable { case `internal`, applicant }
    public var id: Int64
    public var kind: String
    public var actor: String
    public var visibility: Visibility
    public var fromState: String?
    public var toState: String?
    public var transition: String?
    public var body: String?
    public var at: Date
}

public struct CaseDocument: Sendable, Equatable {
    public var id: Int64
    public var type: String
    public var version: Int
    public var filename: String
    public var contentType: String
    public var mediaID: String
    public var size: Int
    public var uploadedBy: String
    public var at: Date
}

public struct CaseTask: Sendable, Equatable {
    public var id: Int64
    public var title: String
    /// `applicant`, or a staff user's id.
    public var assignee: String
    public var documentType: String?
    public var dueAt: Date?
    public var doneAt: Date?
    public var createdBy: String
    public var at: Date
}

public struct StoredDecision: Sendable, Equatable {
    public var ruleID: String
    public var ruleVersion: Int
    public var passed: Bool
    public var input: [String: String]
    public var explanation: String
    public var at: Date
}

/// Someone on a case besides the applicant: a household member, an authorised representative, a lender, an employer.
public struct CaseParty: Sendable, Equatable {
    public var id: Int64
    public var role: String
    public var name: String
    public var email: String?

    /// The role and name trimmed, an empty email left out; or a refusal that names the field.
    public static func checked(role: String, name: String, email: String?, field: (String) -> String = { $0 }) throws -> (
        role: String, name: String, email: String?
    ) {
        let roleWanted = "A person on a case needs a role in a few words (at most 60 characters), such as household member or lender."
        let nameWanted = "A person on a case needs a name (at most 200 characters)."
        // Lengths as written (as the API document counts them), then trimmed.
        let trimmedRole = role.trimmingCharacters(in: .whitespacesAndNewlines)
        let trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard role.unicodeScalars.count <= 60, !trimmedRole.isEmpty else {
            throw CivitasError.invalid("party_invalid", roleWanted, field: field("role"))
        }
        guard name.unicodeScalars.count <= 200, !trimmedName.isEmpty else {
            throw CivitasError.invalid("party_invalid", nameWanted, field: field("name"))
        }
        guard email.map({ $0.isEmpty || NewServiceRequest.isPlausibleEmail($0) }) ?? true else {
            throw CivitasError.invalid(
                "party_invalid", "That email address does not look right; leave it out or write it like name@example.org.", field: field("email"))
        }
        return (trimmedRole, trimmedName, email?.isEmpty == true ? nil : email)
    }
}

public struct QueueHealth: Sendable, Equatable {
    public var name: String
    public var department: String
    public var skills: [String]
    public var waiting: Int
    public var unassigned: Int
    public var oldest: Date?
    /// Due within a business day's worth of hours (8) or overdue.
    public var atRisk: Int
    public var overdue: Int
}

/// Who does something to a case, as the workflow sees them and as the timeline names them.
public struct CaseCaller: Sendable, Equatable {
    public var actor: CaseActor
    /// `staff:12`, `resident:7`, `partner:cli_ab`, `cli`, `automation: NAME`.
    public var name: String
    public var userID: Int64?

    public init(actor: CaseActor, name: String, userID: Int64? = nil) {
        self.actor = actor
        self.name = name
        self.userID = userID
    }
}
