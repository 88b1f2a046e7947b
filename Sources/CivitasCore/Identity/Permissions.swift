/// Everything an actor may be allowed to do. Each route checks exactly one of these.
public enum Permission: String, Sendable, CaseIterable {
    /// List and read requests without personal data.
    case readRequests = "requests.read"
    /// Read who reported a request and their answers (written to the audit chain).
    case readPersonalData = "requests.read_personal"
    case createRequest = "requests.create"
    case changeStatus = "requests.change_status"
    case assignRequest = "requests.assign"
    case setPriority = "requests.set_priority"
    case addNote = "requests.add_note"
    /// Read the notes on a request; internal notes need `readInternalNotes` as well.
    case readNotes = "requests.read_notes"
    case readInternalNotes = "requests.read_internal_notes"
    /// Join duplicates into one request: the children close, their reporters follow the parent.
    case mergeRequests = "requests.merge"
    /// Write the response templates staff pick from when they change a status.
    case manageTemplates = "templates.manage"
    /// Plan a department's day onto its crews (dispatchers).
    case planWork = "plans.create"
    case useStaffConsole = "staff.console"
    case manageUsers = "users.manage"
    case manageClients = "clients.manage"
    case readAudit = "audit.read"
    /// Read a case: its answers, documents, timeline (the applicant reads their own).
    case readCases = "cases.read"
    /// Open a case (a resident applies for themselves; staff and partners for others).
    case createCase = "cases.create"
    /// Work cases: take staff steps, pull from queues, notes, tasks, documents.
    case workCases = "cases.work"
    /// See queue health and reassign cases in bulk.
    case superviseCases = "cases.supervise"
    /// Import case types.
    case manageCaseTypes = "casetypes.manage"
    /// Edit the site's own pages (contact, accessibility statement, privacy notice).
    case manageSitePages = "site.manage"
}

/// What a permission is checked against: the jurisdiction as a whole, or one record in it.
public enum PermissionTarget: Sendable, Equatable {
    /// Nothing in particular yet (listing, a console page): results are narrowed afterwards.
    case jurisdiction(String)
    /// One record: its department (`agency_responsible` for requests) and the resident it belongs to, if any.
    case record(jurisdictionID: String, department: String?, residentID: Int64?)

    var jurisdictionID: String {
        switch self {
        case .jurisdiction(let id), .record(let id, _, _): id
        }
    }
}

/// The answer, with the reason in words for logs, tests and the people who ask why.
public struct Decision: Sendable, Equatable {
    public var allowed: Bool
    public var reason: String
}

/// The one table that decides every allow and deny in Civitas.
public enum Permissions {
    /// Who holds a permission: staff roles (inside their departments), partners with a scope (inside theirs),
    /// and whether a resident holds it for their own records.
    public struct Grant: Sendable {
        public var roles: Set<StaffRole>
        public var scope: Scope?
        public var residentOwn: Bool
    }

    private static let everyRole = Set(StaffRole.allCases)
    private static let working: Set<StaffRole> = [.admin, .supervisor, .agent, .crew]

    public static let table: [Permission: Grant] = [
        .readRequests: Grant(roles: everyRole, scope: .requestsRead, residentOwn: true),
        .readPersonalData: Grant(roles: working, scope: .requestsRead, residentOwn: true),
        .createRequest: Grant(roles: [.admin, .supervisor, .agent], scope: .requestsWrite, residentOwn: false),
        .changeStatus: Grant(roles: working, scope: .requestsWrite, residentOwn: false),
        .assignRequest: Grant(roles: [.admin, .supervisor, .agent], scope: .requestsWrite, residentOwn: false),
        .setPriority: Grant(roles: [.admin, .supervisor], scope: .requestsWrite, residentOwn: false),
        .addNote: Grant(roles: working, scope: .requestsWrite, residentOwn: false),
        .readNotes: Grant(roles: everyRole, scope: .requestsRead, residentOwn: true),
        .readInternalNotes: Grant(roles: everyRole, scope: nil, residentOwn: false),
        .mergeRequests: Grant(roles: [.admin, .supervisor, .agent], scope: .requestsWrite, residentOwn: false),
        .manageTemplates: Grant(roles: [.admin, .supervisor], scope: nil, residentOwn: false),
        // Personal tokens with requests:write may plan for their owner; partner systems never plan (checked by the API).
        .planWork: Grant(roles: [.admin, .supervisor], scope: .requestsWrite, residentOwn: false),
        .useStaffConsole: Grant(roles: everyRole, scope: nil, residentOwn: false),
        .manageUsers: Grant(roles: [.admin], scope: nil, residentOwn: false),
        .manageClients: Grant(roles: [.admin], scope: nil, residentOwn: false),
        .readAudit: Grant(roles: [.admin], scope: nil, residentOwn: false),
        .readCases: Grant(roles: [.admin, .supervisor, .agent], scope: .casesRead, residentOwn: true),
        .createCase: Grant(roles: [.admin, .supervisor, .agent], scope: .casesWrite, residentOwn: true),
        .workCases: Grant(roles: [.admin, .supervisor, .agent], scope: .casesWrite, residentOwn: false),
        .superviseCases: Grant(roles: [.admin, .supervisor], scope: .casesWrite, residentOwn: false),
        .manageCaseTypes: Grant(roles: [.admin], scope: nil, residentOwn: false),
        .manageSitePages: Grant(roles: [.admin], scope: nil, residentOwn: false),
    ]

    public static func decide(_ actor: Actor, _ permission: Permission, on target: PermissionTarget) -> Decision {
        guard let grant = table[permission] else { return Decision(allowed: false, reason: "no grant for \(permission.rawValue)") }
        guard let jurisdiction = actor.jurisdictionID else {
            return Decision(allowed: false, reason: "not signed in")
        }
        guard jurisdiction == target.jurisdictionID else {
            return Decision(allowed: false, reason: "belongs to another jurisdiction")
        }
        switch actor {
        case .anonymous:
            return Decision(allowed: false, reason: "not signed in")
        case .resident(let userID, _):
            guard grant.residentOwn else { return Decision(allowed: false, reason: "residents may not \(permission.rawValue)") }
            switch target {
            case .jurisdiction: return Decision(allowed: true, reason: "a resident's own records")
            case .record(_, _, let owner):
                return owner == userID
                    ? Decision(allowed: true, reason: "the resident's own record")
                    : Decision(allowed: false, reason: "another resident's record")
            }
        case .staff(_, _, let role, let departments, let scopes):
            guard grant.roles.contains(role) else {
                return Decision(allowed: false, reason: "the \(role.rawValue) role may not \(permission.rawValue)")
            }
            if let scopes {
                guard let needed = grant.scope, scopes.contains(needed) else {
                    return Decision(allowed: false, reason: "the token lacks the scope for \(permission.rawValue)")
                }
            }
            return departmentDecision(departments, target)
        case .partner(_, _, let scopes, let departments):
            guard let needed = grant.scope else {
                return Decision(allowed: false, reason: "partners may not \(permission.rawValue)")
            }
            guard scopes.contains(needed) else {
                return Decision(allowed: false, reason: "the token lacks the \(needed.rawValue) scope")
            }
            return departmentDecision(departments, target)
        }
    }

    private static func departmentDecision(_ departments: DepartmentScope, _ target: PermissionTarget) -> Decision {
        switch target {
        case .jurisdiction: return Decision(allowed: true, reason: "within the jurisdiction")
        case .record(_, let department, _):
            return departments.contains(department)
                ? Decision(allowed: true, reason: "within the actor's departments")
                : Decision(allowed: false, reason: "outside the actor's departments")
        }
    }
}
