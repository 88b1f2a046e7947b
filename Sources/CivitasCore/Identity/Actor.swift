/// A staff member's job, which decides what they may do inside their departments.
public enum StaffRole: String, Sendable, Codable, CaseIterable {
    /// Runs the install for the jurisdiction: people, partner clients, the audit chain.
    case admin
    /// Leads a department's team: assigns, prioritises, closes.
    case supervisor
    /// Works requests in the contact center or back office.
    case agent
    /// Resolves work in the street.
    case crew
    /// Reads to report; sees no personal data and changes nothing.
    case analyst

    /// Roles that see every department when none is given; the others must be given at least one.
    public var defaultsToAllDepartments: Bool { self == .admin || self == .analyst }
}

/// What a partner system's credential lets it do.
public enum Scope: String, Sendable, Codable, CaseIterable {
    case requestsRead = "requests:read"
    case requestsWrite = "requests:write"
    case casesRead = "cases:read"
    case casesWrite = "cases:write"

    /// Parses a space- or comma-separated list, rejecting unknown scopes by name.
    public static func parseList(_ text: String) throws -> [Scope] {
        var scopes: [Scope] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "," }) {
            guard let scope = Scope(rawValue: String(word)) else {
                let known = Scope.allCases.map(\.rawValue).joined(separator: ", ")
                throw CivitasError.invalid("scope_unknown", "There is no scope '\(word)'. Known scopes: \(known).", field: "scope")
            }
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        return scopes
    }
}

/// The departments a credential reaches: every one in the jurisdiction, or a named few.
public enum DepartmentScope: Sendable, Equatable {
    case all
    case only(Set<String>)

    public func contains(_ department: String?) -> Bool {
        switch self {
        case .all: true
        case .only(let names): department.map { names.contains($0) } ?? false
        }
    }

    /// Stored form: `*` for all, otherwise the names joined by newlines.
    public var stored: String {
        switch self {
        case .all: "*"
        case .only(let names): names.sorted().joined(separator: "\n")
        }
    }

    public init(stored: String?) {
        guard let stored, stored != "*" else {
            self = .all
            return
        }
        self = .only(Set(stored.split(separator: "\n").map(String.init)))
    }

    public var names: [String] {
        switch self {
        case .all: ["*"]
        case .only(let names): names.sorted()
        }
    }
}

/// Who is asking: established by a session, a bearer token or an API key, before any permission is checked.
public enum Actor: Sendable, Equatable {
    case anonymous
    /// A signed-in resident.
    case resident(userID: Int64, jurisdictionID: String)
    /// A staff member who passed the second factor. `scopes` is nil for a browser session (the role alone decides)
    /// and set for a personal API token, which can only narrow what the role allows.
    case staff(userID: Int64, jurisdictionID: String, role: StaffRole, departments: DepartmentScope, scopes: Set<Scope>?)
    /// A partner system holding an OAuth access token.
    case partner(clientID: String, jurisdictionID: String, scopes: Set<Scope>, departments: DepartmentScope)

    public var jurisdictionID: String? {
        switch self {
        case .anonymous: nil
        case .resident(_, let jurisdiction), .staff(_, let jurisdiction, _, _, _), .partner(_, let jurisdiction, _, _): jurisdiction
        }
    }

    /// How the actor is named in history and in the audit chain: `staff:12`, `partner:cli_ab12`, `resident:7`.
    public var auditName: String {
        switch self {
        case .anonymous: "anonymous"
        case .resident(let id, _): "resident:\(id)"
        case .staff(let id, _, _, _, _): "staff:\(id)"
        case .partner(let client, _, _, _): "partner:\(client)"
        }
    }
}
