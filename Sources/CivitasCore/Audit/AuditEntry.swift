import Foundation

/// One thing that happened to data: a change, or a read of personal data by staff or a partner.
public struct AuditEvent: Sendable, Equatable {
    /// Who: `staff:12`, `partner:cli_ab`, `resident:7`, `apikey:3`, `cli`, `anonymous`.
    public var actor: String
    /// What: `request.create`, `request.read_personal`, `request.change_status`, `user.create`, ...
    public var action: String
    /// Which record: `service_request:42`, `user:7`, `oauth_client:cli_ab`.
    public var subject: String
    /// Whose personal data it touched: `user:7` for an account holder, `email:a@b.org` otherwise.
    public var person: String?
    /// Which fields, comma-separated (e.g. `email,phone,first_name`), or empty.
    public var fields: [String]
    /// The stated reason, for reads of personal data.
    public var purpose: String?
    /// From where: the client address of an HTTP request, or `cli`.
    public var source: String?

    public init(
        actor: String, action: String, subject: String, person: String? = nil, fields: [String] = [], purpose: String? = nil,
        source: String? = nil
    ) {
        self.actor = actor
        self.action = action
        self.subject = subject
        self.person = person
        self.fields = fields
        self.purpose = purpose
        self.source = source
    }
}

/// An entry of the chain as stored.
public struct AuditEntry: Sendable, Equatable {
    public var seq: Int64
    public var jurisdictionID: String
    public var at: Date
    public var event: AuditEvent
    public var prevHash: String
    public var hash: String

    public init(seq: Int64, jurisdictionID: String, at: Date, event: AuditEvent, prevHash: String, hash: String) {
        self.seq = seq
        self.jurisdictionID = jurisdictionID
        self.at = at
        self.event = event
        self.prevHash = prevHash
        self.hash = hash
    }
}

/// The outcome of walking a chain.
public struct AuditVerification: Sendable, Equatable {
    public var jurisdictionID: String
    public var entries: Int
    /// The sequence number of the first entry that is not what was written, with what is wrong, if any.
    public var firstBad: (seq: Int64, problem: String)?

    public var intact: Bool { firstBad == nil }

    public init(jurisdictionID: String, entries: Int, firstBad: (seq: Int64, problem: String)?) {
        self.jurisdictionID = jurisdictionID
        self.entries = entries
        self.firstBad = firstBad
    }

    public static func == (a: AuditVerification, b: AuditVerification) -> Bool {
        a.jurisdictionID == b.jurisdictionID && a.entries == b.entries && a.firstBad?.seq == b.firstBad?.seq
            && a.firstBad?.problem == b.firstBad?.problem
    }
}
