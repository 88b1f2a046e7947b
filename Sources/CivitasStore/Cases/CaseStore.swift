import CivitasCore
import Foundation
import SQLKit

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
    public static func checked(role: String, name: String, email: String?, field: (String) -> String = { $0 }) throws -> (role: String, name: String, email: String?) {
        let roleWanted = "A person on a case needs a role in a few words (at most 60 characters), such as household member or lender."
        let nameWanted = "A person on a case needs a name (at most 200 characters)."
        // Lengths as written (as the API document counts them), then trimmed.
        let trimmedRole = role.trimmingCharacters(in: .whitespacesAndNewlines), trimmedName = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard role.unicodeScalars.count <= 60, !trimmedRole.isEmpty else { throw CivitasError.invalid("party_invalid", roleWanted, field: field("role")) }
        guard name.unicodeScalars.count <= 200, !trimmedName.isEmpty else { throw CivitasError.invalid("party_invalid", nameWanted, field: field("name")) }
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

/// Parsed case types by jurisdiction, key and version. A version never changes once imported, so it is kept.
actor CaseTypeCache {
    var types: [String: CaseType] = [:]
    func get(_ key: String) -> CaseType? { types[key] }
    func put(_ key: String, _ type: CaseType) { types[key] = type }
}

/// Case types, cases and everything that happens to them. Every change is one transaction with its timeline
/// entries, decisions, mail to the applicant and webhook deliveries to partners.
public struct CaseStore: Sendable {
    let database: Database
    let cache = CaseTypeCache()
    public var zone: TimeZone = .gmt
    /// Where links in mail to applicants point.
    public var publicURL: String = "http://localhost:8080"
    public var site: String = "Civitas"

    public init(database: Database) { self.database = database }

    static func refusal(_ refusal: CaseRefusal) -> CivitasError {
        CivitasError(.conflict, code: "transition_refused", message: refusal.message)
    }

    // MARK: Case types

    /// Imports a definition as the next version of its type (or the first). Queues it names are created or updated.
    public func importType(_ text: String, createdBy: String, jurisdictionID: String, now: Date = Date()) async throws -> CaseType {
        let parsed: CaseType
        let zone = try await zone(of: jurisdictionID)
        do {
            parsed = try CaseType.load(try DefinitionFile.parse(text), zone: zone)
        } catch let invalid {
            throw CivitasError.invalid("definition_invalid", "The case type file has mistakes:\n" + invalid.description, field: "definition")
        }
        return try await database.transaction { [parsed] sql in
            var type = parsed
            let last = try await sql.select().column(SQLFunction("MAX", args: SQLColumn("version")), as: "v").from("case_types")
                .where("jurisdiction_id", .equal, jurisdictionID).where("key", .equal, type.key).first()?.decode(column: "v", as: Int?.self)
            type.version = (last ?? 0) + 1
            try await sql.insert(into: "case_types")
                .columns("jurisdiction_id", "key", "version", "name", "department", "definition", "created_by", "created_at")
                .values(
                    SQLBind(jurisdictionID), SQLBind(type.key), SQLBind(type.version), SQLBind(type.name), SQLBind(type.department), SQLBind(text),
                    SQLBind(createdBy), SQLBind(Clock.millis(now))
                ).run()
            for queue in type.queues {
                try await sql.delete(from: "case_queues").where("jurisdiction_id", .equal, jurisdictionID).where("name", .equal, queue.name).run()
                try await sql.insert(into: "case_queues").columns("jurisdiction_id", "name", "department", "skills", "assignment")
                    .values(
                        SQLBind(jurisdictionID), SQLBind(queue.name), SQLBind(type.department), SQLBind(queue.skills.sorted().joined(separator: ",")),
                        SQLBind(queue.assignment.rawValue)
                    ).run()
            }
            try await AuditStore.append(
                AuditEvent(actor: createdBy, action: "casetype.import", subject: "case_type:\(type.key)@\(type.version)"), jurisdictionID: jurisdictionID,
                at: now, sql: sql)
            return type
        }
    }

    /// The jurisdiction's own time zone, as stored: business hours and holidays are counted in it.
    func zone(of jurisdictionID: String) async throws -> TimeZone {
        let stored = try await database.read { sql in
            try await sql.select().column("time_zone").from("jurisdictions").where("id", .equal, jurisdictionID).first()?
                .decode(column: "time_zone", as: String.self)
        }
        return stored.flatMap(TimeZone.init(identifier:)) ?? zone
    }

    /// One version of a type (the latest when `version` is nil).
    public func type(_ key: String, version: Int? = nil, jurisdictionID: String) async throws -> CaseType? {
        // Parsed types are kept by version and time zone (the zone counts business hours; it may be set after import).
        let zone = try await zone(of: jurisdictionID)
        if let version, let cached = await cache.get("\(jurisdictionID)|\(key)|\(version)|\(zone.identifier)") { return cached }
        // The version first (the definition itself is read only when that version is not parsed yet).
        let latest = try await database.read { sql in
            var query = sql.select().column("version").from("case_types").where("jurisdiction_id", .equal, jurisdictionID).where("key", .equal, key)
            if let version { query = query.where("version", .equal, version) }
            return try await query.orderBy("version", .descending).limit(1).first()?.decode(column: "version", as: Int.self)
        }
        guard let found = latest else { return nil }
        let cacheKey = "\(jurisdictionID)|\(key)|\(found)|\(zone.identifier)"
        if let cached = await cache.get(cacheKey) { return cached }
        guard let definition = try await self.definition(key, version: found, jurisdictionID: jurisdictionID) else { return nil }
        let type = try CaseType.load(try DefinitionFile.parse(definition), zone: zone, version: found)
        await cache.put(cacheKey, type)
        return type
    }

    /// The latest version of every type.
    public func types(jurisdictionID: String) async throws -> [CaseType] {
        let keys = try await database.read { sql in
            try await sql.select().distinct().column("key").from("case_types").where("jurisdiction_id", .equal, jurisdictionID).orderBy("key").all()
                .map { try $0.decode(column: "key", as: String.self) }
        }
        var types: [CaseType] = []
        for key in keys { if let type = try await type(key, jurisdictionID: jurisdictionID) { types.append(type) } }
        return types
    }

    /// The original file of a version, as imported.
    public func definition(_ key: String, version: Int, jurisdictionID: String) async throws -> String? {
        try await database.read { sql in
            try await sql.select().column("definition").from("case_types").where("jurisdiction_id", .equal, jurisdictionID).where("key", .equal, key)
                .where("version", .equal, version).first()?.decode(column: "definition", as: String.self)
        }
    }

    // MARK: Reading

    static let caseColumns = [
        "id", "jurisdiction_id", "type_key", "type_version", "department", "state", "queue", "workable", "assignee_id", "applicant_id", "partner", "data",
        "created_at", "updated_at", "submitted_at", "state_entered_at", "due_at", "closed_at", "language",
    ]

    static func decodeCase(_ row: any SQLRow) throws -> CaseRecord {
        let text = try row.decode(column: "data", as: String.self)
        var data: [String: JSONValue] = [:]
        if case .object(let object)? = try? JSONValue.parse(Data(text.utf8)) { data = object }
        return CaseRecord(
            id: try row.decode(column: "id", as: Int64.self), jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
            typeKey: try row.decode(column: "type_key", as: String.self), typeVersion: try row.decode(column: "type_version", as: Int.self),
            department: try row.decode(column: "department", as: String.self), state: try row.decode(column: "state", as: String.self),
            queue: try row.decode(column: "queue", as: String.self), workable: try row.decode(column: "workable", as: Int.self) == 1,
            assigneeID: try row.decode(column: "assignee_id", as: Int64?.self), applicantID: try row.decode(column: "applicant_id", as: Int64?.self),
            partner: try row.decode(column: "partner", as: String?.self), data: data,
            createdAt: Clock.date(try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: Clock.date(try row.decode(column: "updated_at", as: Int64.self)),
            submittedAt: try row.decode(column: "submitted_at", as: Int64?.self).map(Clock.date),
            stateEnteredAt: Clock.date(try row.decode(column: "state_entered_at", as: Int64.self)),
            dueAt: try row.decode(column: "due_at", as: Int64?.self).map(Clock.date),
            closedAt: try row.decode(column: "closed_at", as: Int64?.self).map(Clock.date),
            language: Language(rawValue: try row.decode(column: "language", as: String.self)) ?? .english)
    }

    public func find(id: Int64, jurisdictionID: String) async throws -> CaseRecord? {
        try await database.read { sql in
            try await sql.select().columns(Self.caseColumns.map { SQLColumn($0) }).from("cases").where("jurisdiction_id", .equal, jurisdictionID)
                .where("id", .equal, id).first().map(Self.decodeCase)
        }
    }

    public struct Query: Sendable {
        public var jurisdictionID: String
        public var departments: [String]?
        public var queue: String?
        public var state: String?
        public var assigneeID: Int64?
        public var applicantID: Int64?
        public var openOnly = false
        public var limit = 100
        public init(jurisdictionID: String) { self.jurisdictionID = jurisdictionID }
    }

    /// Cases matching `query`, most urgent first (soonest due, then oldest).
    public func list(_ query: Query) async throws -> [CaseRecord] {
        // A credential limited to no department at all reaches no case (and SQL has no empty IN list).
        if query.departments?.isEmpty == true { return [] }
        return try await database.read { sql in
            var select = sql.select().columns(Self.caseColumns.map { SQLColumn($0) }).from("cases").where("jurisdiction_id", .equal, query.jurisdictionID)
            if let departments = query.departments, !departments.contains("*") { select = select.where("department", .in, departments) }
            if let queue = query.queue { select = select.where("queue", .equal, queue) }
            if let state = query.state { select = select.where("state", .equal, state) }
            if let assignee = query.assigneeID { select = select.where("assignee_id", .equal, assignee) }
            if let applicant = query.applicantID { select = select.where("applicant_id", .equal, applicant) }
            if query.openOnly { select = select.where("closed_at", .is, SQLLiteral.null) }
            return try await select.orderBy(SQLRaw("COALESCE(due_at, 9000000000000000)")).orderBy("id").limit(max(1, min(query.limit, 1000))).all()
                .map(Self.decodeCase)
        }
    }

    public func events(of caseID: Int64, includeInternal: Bool) async throws -> [CaseEvent] {
        try await database.read { sql in
            var select = sql.select().columns("id", "kind", "actor", "visibility", "from_state", "to_state", "transition", "body", "created_at")
                .from("case_events").where("case_id", .equal, caseID)
            if !includeInternal { select = select.where("visibility", .equal, CaseEvent.Visibility.applicant.rawValue) }
            return try await select.orderBy("id").all().map { row in
                CaseEvent(
                    id: try row.decode(column: "id", as: Int64.self), kind: try row.decode(column: "kind", as: String.self),
                    actor: try row.decode(column: "actor", as: String.self),
                    visibility: CaseEvent.Visibility(rawValue: try row.decode(column: "visibility", as: String.self)) ?? .internal,
                    fromState: try row.decode(column: "from_state", as: String?.self), toState: try row.decode(column: "to_state", as: String?.self),
                    transition: try row.decode(column: "transition", as: String?.self), body: try row.decode(column: "body", as: String?.self),
                    at: Clock.date(try row.decode(column: "created_at", as: Int64.self)))
            }
        }
    }

    public func documents(of caseID: Int64) async throws -> [CaseDocument] {
        try await database.read { sql in
            try await sql.select().columns("id", "document_type", "version", "filename", "content_type", "media_id", "size", "uploaded_by", "created_at")
                .from("case_documents").where("case_id", .equal, caseID).orderBy("document_type").orderBy("version").all().map { row in
                    CaseDocument(
                        id: try row.decode(column: "id", as: Int64.self), type: try row.decode(column: "document_type", as: String.self),
                        version: try row.decode(column: "version", as: Int.self), filename: try row.decode(column: "filename", as: String.self),
                        contentType: try row.decode(column: "content_type", as: String.self), mediaID: try row.decode(column: "media_id", as: String.self),
                        size: Int(try row.decode(column: "size", as: Int64.self)), uploadedBy: try row.decode(column: "uploaded_by", as: String.self),
                        at: Clock.date(try row.decode(column: "created_at", as: Int64.self)))
                }
        }
    }

    public func tasks(of caseID: Int64) async throws -> [CaseTask] {
        try await database.read { sql in
            try await sql.select().columns("id", "title", "assignee", "document_type", "due_at", "done_at", "created_by", "created_at").from("case_tasks")
                .where("case_id", .equal, caseID).orderBy("id").all().map { row in
                    CaseTask(
                        id: try row.decode(column: "id", as: Int64.self), title: try row.decode(column: "title", as: String.self),
                        assignee: try row.decode(column: "assignee", as: String.self), documentType: try row.decode(column: "document_type", as: String?.self),
                        dueAt: try row.decode(column: "due_at", as: Int64?.self).map(Clock.date),
                        doneAt: try row.decode(column: "done_at", as: Int64?.self).map(Clock.date), createdBy: try row.decode(column: "created_by", as: String.self),
                        at: Clock.date(try row.decode(column: "created_at", as: Int64.self)))
                }
        }
    }

    public func decisions(of caseID: Int64) async throws -> [StoredDecision] {
        try await database.read { sql in
            try await sql.select().columns("rule_id", "rule_version", "passed", "input", "explanation", "created_at").from("case_decisions")
                .where("case_id", .equal, caseID).orderBy("id").all().map { row in
                    var input: [String: String] = [:]
                    if case .object(let object)? = try? JSONValue.parse(Data(try row.decode(column: "input", as: String.self).utf8)) {
                        for (key, value) in object { if case .string(let text) = value { input[key] = text } }
                    }
                    return StoredDecision(
                        ruleID: try row.decode(column: "rule_id", as: String.self), ruleVersion: try row.decode(column: "rule_version", as: Int.self),
                        passed: try row.decode(column: "passed", as: Int.self) == 1, input: input,
                        explanation: try row.decode(column: "explanation", as: String.self), at: Clock.date(try row.decode(column: "created_at", as: Int64.self)))
                }
        }
    }

    public func parties(of caseID: Int64) async throws -> [CaseParty] {
        try await database.read { sql in
            try await sql.select().columns("id", "role", "name", "email").from("case_parties").where("case_id", .equal, caseID).orderBy("id").all().map { row in
                CaseParty(
                    id: try row.decode(column: "id", as: Int64.self), role: try row.decode(column: "role", as: String.self),
                    name: try row.decode(column: "name", as: String.self), email: try row.decode(column: "email", as: String?.self))
            }
        }
    }

    /// Adds someone to a case, with a line on the timeline the applicant can read (they should know who else is on it).
    @discardableResult
    public func addParty(
        _ caseID: Int64, role: String, name: String, email: String?, by caller: CaseCaller, jurisdictionID: String, now: Date = Date(),
        field: (String) -> String = { $0 }
    ) async throws -> CaseParty {
        let party = try CaseParty.checked(role: role, name: name, email: email, field: field)
        guard let found = try await find(id: caseID, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("case_not_found", "There is no case \(caseID).")
        }
        guard found.closedAt == nil else { throw CivitasError(.conflict, code: "case_closed", message: "Case \(caseID) is closed; the people on it stay as they are.") }
        return try await database.transaction { [self] sql in
            let row = try await sql.insert(into: "case_parties").columns("case_id", "role", "name", "email", "created_at")
                .values(SQLBind(caseID), SQLBind(party.role), SQLBind(party.name), SQLBind(party.email), SQLBind(Clock.millis(now)))
                .returning("id").first()
            guard let id = try row?.decode(column: "id", as: Int64.self) else { throw CivitasError.invalid("party_not_added", "The person could not be added.") }
            try await event(caseID, kind: "party", actor: caller.name, visibility: .applicant, body: CaseWords.partyAdded(party.name, party.role, .english), now: now, sql: sql)
            try await sql.update("cases").set("updated_at", to: SQLBind(Clock.millis(now))).where("id", .equal, caseID).run()
            return CaseParty(id: id, role: party.role, name: party.name, email: party.email)
        }
    }

    /// Takes someone off a case (added by mistake, or no longer representing the applicant); the timeline keeps that they were.
    public func removeParty(_ partyID: Int64, caseID: Int64, by caller: CaseCaller, jurisdictionID: String, now: Date = Date()) async throws {
        guard let found = try await find(id: caseID, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("case_not_found", "There is no case \(caseID).")
        }
        guard found.closedAt == nil else { throw CivitasError(.conflict, code: "case_closed", message: "Case \(caseID) is closed; the people on it stay as they are.") }
        try await database.transaction { [self] sql in
            guard let row = try await sql.select().columns("role", "name").from("case_parties").where("id", .equal, partyID).where("case_id", .equal, caseID).first()
            else { throw CivitasError.notFound("party_not_found", "There is no such person on case \(caseID).") }
            try await sql.delete(from: "case_parties").where("id", .equal, partyID).run()
            let name = try row.decode(column: "name", as: String.self), role = try row.decode(column: "role", as: String.self)
            try await event(caseID, kind: "party", actor: caller.name, visibility: .applicant, body: CaseWords.partyRemoved(name, role, .english), now: now, sql: sql)
            try await sql.update("cases").set("updated_at", to: SQLBind(Clock.millis(now))).where("id", .equal, caseID).run()
        }
    }

    static func documentTypes(_ caseID: Int64, sql: any SQLDatabase) async throws -> Set<String> {
        Set(try await sql.select().distinct().column("document_type").from("case_documents").where("case_id", .equal, caseID).all()
            .map { try $0.decode(column: "document_type", as: String.self) })
    }

    // MARK: Writing

    /// Checks answers against the type: unknown fields and invalid values are refused, each named.
    static func validate(_ data: [String: JSONValue], type: CaseType) throws {
        for (key, value) in data.sorted(by: { $0.key < $1.key }) {
            guard let field = type.field(key), field.type != .document else {
                throw CivitasError.invalid("field_unknown", "\(type.name) has no question \u{201C}\(key)\u{201D}.", field: "data.\(key)")
            }
            if value == .null || value == .string("") { continue }
            var optional = field
            optional.required = false
            if let problem = type.problem(with: value, for: optional) { throw CivitasError.invalid("field_invalid", problem, field: "data.\(key)") }
        }
    }

    /// Opens a case in the type's first state; with `submit`, takes the type's `submit` step at once (a partner
    /// or staff filing a complete application).
    public func create(
        typeKey: String, data: [String: JSONValue], by caller: CaseCaller, applicantID: Int64? = nil, parties: [(role: String, name: String, email: String?)] = [],
        submit: Bool = false, language: Language = .english, jurisdictionID: String, now: Date = Date()
    ) async throws -> CaseRecord {
        try await database.transaction { [self] sql in
            try await create(
                typeKey: typeKey, data: data, by: caller, applicantID: applicantID, parties: parties, submit: submit, language: language,
                jurisdictionID: jurisdictionID, now: now, sql: sql)
        }
    }

    /// Creates a case inside the caller's transaction (the API's idempotent create keeps its key in the same one).
    public func create(
        typeKey: String, data: [String: JSONValue], by caller: CaseCaller, applicantID: Int64? = nil, parties: [(role: String, name: String, email: String?)] = [],
        submit: Bool = false, language: Language = .english, jurisdictionID: String, now: Date = Date(), sql: any SQLDatabase
    ) async throws -> CaseRecord {
        guard let type = try await type(typeKey, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("case_type_not_found", "There is no case type \u{201C}\(typeKey)\u{201D}.")
        }
        try Self.validate(data, type: type)
        let id = try await insertCase(
            type, data: data, by: caller, applicantID: applicantID, parties: parties, submit: submit, language: language, jurisdictionID: jurisdictionID,
            now: now, sql: sql)
        return try await Self.fetch(id, jurisdictionID: jurisdictionID, sql: sql)
    }

    static func fetch(_ id: Int64, jurisdictionID: String, sql: any SQLDatabase) async throws -> CaseRecord {
        guard let row = try await sql.select().columns(caseColumns.map { SQLColumn($0) }).from("cases").where("jurisdiction_id", .equal, jurisdictionID)
            .where("id", .equal, id).first()
        else { throw CivitasError.notFound("case_not_found", "There is no case \(id).") }
        return try decodeCase(row)
    }

    func insertCase(
        _ type: CaseType, data: [String: JSONValue], by caller: CaseCaller, applicantID: Int64?, parties: [(role: String, name: String, email: String?)],
        submit: Bool, language: Language = .english, jurisdictionID: String, now: Date, sql: any SQLDatabase
    ) async throws -> Int64 {
        let parties = try parties.map { try CaseParty.checked(role: $0.role, name: $0.name, email: $0.email, field: { _ in "parties" }) }
        let snapshot = CaseSnapshot(state: type.initialState.key, queue: type.defaultQueue, data: data, documents: [], stateEnteredAt: now)
        let row = try await sql.insert(into: "cases")
            .columns(
                "jurisdiction_id", "type_key", "type_version", "department", "state", "queue", "workable", "assignee_id", "applicant_id", "partner", "data",
                "created_at", "updated_at", "submitted_at", "state_entered_at", "due_at", "closed_at", "language")
            .values(
                SQLBind(jurisdictionID), SQLBind(type.key), SQLBind(type.version), SQLBind(type.department), SQLBind(snapshot.state),
                SQLBind(snapshot.queue), SQLBind(0), SQLBind(Int64?.none), SQLBind(applicantID),
                SQLBind(caller.actor == .partner ? caller.name : nil), SQLBind(JSONValue.object(data).jsonText), SQLBind(Clock.millis(now)),
                SQLBind(Clock.millis(now)), SQLBind(Int64?.none), SQLBind(Clock.millis(now)), SQLBind(Int64?.none), SQLBind(Int64?.none),
                SQLBind(language.rawValue)
            )
            .returning("id").first()
        guard let id = try row?.decode(column: "id", as: Int64.self) else { throw CivitasError.invalid("case_not_created", "The case could not be created.") }
        try await event(id, kind: "created", actor: caller.name, visibility: .applicant, body: CaseWords.started(type.name, .english), now: now, sql: sql)
        for party in parties {
            try await sql.insert(into: "case_parties").columns("case_id", "role", "name", "email", "created_at")
                .values(SQLBind(id), SQLBind(party.role), SQLBind(party.name), SQLBind(party.email), SQLBind(Clock.millis(now))).run()
        }
        try await webhook("case.created", caseID: id, type: type, state: snapshot.state, extra: [:], jurisdictionID: jurisdictionID, now: now, sql: sql)
        if submit {
            guard type.transition("submit") != nil else {
                throw CivitasError.invalid("submit_unknown", "\(type.name) has no step named submit.", field: "submit")
            }
            try await take(id, "submit", by: caller, reason: nil, documents: [], jurisdictionID: jurisdictionID, now: now, sql: sql)
        }
        // Last: appending to the audit chain locks its head row until commit, so the rest of the work is done first.
        try await AuditStore.append(
            AuditEvent(
                actor: caller.name, action: "case.create", subject: "case:\(id)", person: applicantID.map { "user:\($0)" },
                fields: data.keys.filter { type.field($0)?.personal == true }.sorted()),
            jurisdictionID: jurisdictionID, at: now, sql: sql)
        return id
    }

    /// Changes answers. Applicants change theirs only while the case is a draft or waits on them; nobody changes a
    /// closed case.
    public func update(_ caseID: Int64, data: [String: JSONValue], by caller: CaseCaller, jurisdictionID: String, now: Date = Date()) async throws
        -> CaseRecord
    {
        guard let found = try await find(id: caseID, jurisdictionID: jurisdictionID),
            let type = try await type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdictionID)
        else { throw CivitasError.notFound("case_not_found", "There is no case \(caseID).") }
        try Self.validate(data, type: type)
        try await database.transaction { [self] sql in
            let current = try await lock(caseID, jurisdictionID: jurisdictionID, sql: sql)
            guard current.closedAt == nil else { throw CivitasError(.conflict, code: "case_closed", message: "Case \(caseID) is closed; its answers stay as they are.") }
            if caller.actor == .applicant, current.state != type.initialState.key, type.state(current.state)?.waitingOnApplicant != true {
                throw CivitasError(.conflict, code: "case_locked", message: "The case is with the agency now; send a message to change an answer.")
            }
            var merged = current.data
            for (key, value) in data { merged[key] = value == .null ? nil : value }
            try await sql.update("cases").set("data", to: SQLBind(JSONValue.object(merged).jsonText)).set("updated_at", to: SQLBind(Clock.millis(now)))
                .where("id", .equal, caseID).run()
            let names = data.keys.sorted().map { type.field($0)?.label ?? $0 }
            try await event(caseID, kind: "updated", actor: caller.name, visibility: .applicant, body: "Answers changed: \(names.joined(separator: "; ")).", now: now, sql: sql)
            try await AuditStore.append(
                AuditEvent(actor: caller.name, action: "case.update", subject: "case:\(caseID)", person: current.applicantID.map { "user:\($0)" },
                           fields: data.keys.sorted()),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
        return try await find(id: caseID, jurisdictionID: jurisdictionID)!
    }

    func lock(_ caseID: Int64, jurisdictionID: String, sql: any SQLDatabase) async throws -> CaseRecord {
        let select = sql.select().columns(Self.caseColumns.map { SQLColumn($0) }).from("cases").where("jurisdiction_id", .equal, jurisdictionID)
            .where("id", .equal, caseID)
        if sql.dialect.name == "postgresql" { select.lockingClause(SQLRaw("FOR UPDATE")) }
        guard let row = try await select.first() else { throw CivitasError.notFound("case_not_found", "There is no case \(caseID).") }
        return try Self.decodeCase(row)
    }

    /// Takes a step of the case's workflow. `documents` names what the applicant must now provide, for a step that
    /// asks for documents: each becomes a task of theirs, due when the waiting state's service level ends.
    @discardableResult
    public func transition(
        _ caseID: Int64, _ key: String, by caller: CaseCaller, reason: String? = nil, documents: [String] = [], jurisdictionID: String, now: Date = Date()
    ) async throws -> CaseRecord {
        try await database.transaction { [self] sql in
            try await take(caseID, key, by: caller, reason: reason, documents: documents, jurisdictionID: jurisdictionID, now: now, sql: sql)
        }
        return try await find(id: caseID, jurisdictionID: jurisdictionID)!
    }

    func take(
        _ caseID: Int64, _ key: String, by caller: CaseCaller, reason: String?, documents requested: [String], jurisdictionID: String, now: Date,
        sql: any SQLDatabase
    ) async throws {
        let current = try await lock(caseID, jurisdictionID: jurisdictionID, sql: sql)
        guard let type = try await type(current.typeKey, version: current.typeVersion, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("case_type_not_found", "The case's type is missing.")
        }
        if let reason, reason.unicodeScalars.count > 5000 { throw CivitasError.invalid("reason_invalid", "A reason has at most 5000 characters.", field: "reason") }
        guard let step = type.transition(key) else {
            throw CivitasError.invalid("transition_unknown", "\(type.name) has no step \u{201C}\(key)\u{201D}.", field: "transition")
        }
        if step.asksForDocuments {
            guard !requested.isEmpty else {
                throw CivitasError.invalid("documents_missing", "Name the documents the applicant must provide.", field: "documents")
            }
            for document in requested where type.document(document) == nil {
                throw CivitasError.invalid("document_unknown", "\(type.name) takes no document \u{201C}\(document)\u{201D}.", field: "documents")
            }
        }
        let snapshot = CaseSnapshot(
            state: current.state, queue: current.queue, data: current.data, documents: try await Self.documentTypes(caseID, sql: sql),
            stateEnteredAt: current.stateEnteredAt)
        let (next, effects): (CaseSnapshot, [CaseEffect])
        do {
            (next, effects) = try type.take(key, by: caller.actor, actorName: caller.name, on: snapshot, reason: reason, now: now)
        } catch let refusal {
            throw Self.refusal(refusal)
        }
        try await apply(effects, to: current, next: next, type: type, requested: step.asksForDocuments ? requested : [], by: caller, now: now, sql: sql)
    }

    /// Writes what the workflow decided: the case row, the timeline, decisions, tasks, mail and webhooks.
    func apply(
        _ effects: [CaseEffect], to current: CaseRecord, next: CaseSnapshot, type: CaseType, requested: [String], by caller: CaseCaller, now: Date,
        sql: any SQLDatabase
    ) async throws {
        let caseID = current.id
        let jurisdictionID = current.jurisdictionID
        let state = type.state(next.state)
        let update = sql.update("cases").set("state", to: SQLBind(next.state)).set("queue", to: SQLBind(next.queue))
            .set("workable", to: SQLBind(type.isWork(next.state) ? 1 : 0)).set("updated_at", to: SQLBind(Clock.millis(now)))
            .set("state_entered_at", to: SQLBind(Clock.millis(next.stateEnteredAt))).set("due_at", to: SQLBind(type.due(next).map(Clock.millis)))
            .set("closed_at", to: SQLBind(state?.final == true ? Clock.millis(now) : nil))
        if current.submittedAt == nil, next.state != type.initialState.key { update.set("submitted_at", to: SQLBind(Clock.millis(now))) }
        // A case routed to another queue waits there for whoever pulls it next.
        if next.queue != current.queue { update.set("assignee_id", to: SQLBind(Int64?.none)) }
        try await update.where("id", .equal, caseID).run()
        // A queue that hands out its cases gives one that is now work and has nobody to the next eligible person.
        if type.isWork(next.state), next.queue != current.queue || current.assigneeID == nil || !type.isWork(current.state) {
            let assigned = next.queue != current.queue ? nil : current.assigneeID
            if assigned == nil, let person = try await Self.autoAssignee(queue: next.queue, department: type.department, jurisdictionID: jurisdictionID, sql: sql) {
                try await sql.update("cases").set("assignee_id", to: SQLBind(person.id)).where("id", .equal, caseID).run()
                try await event(caseID, kind: "assigned", actor: "queue: \(next.queue)", visibility: .internal, body: "Given to staff \(person.id) (\(person.how)).", now: now, sql: sql)
            }
        }

        // What the applicant is told, in the language they applied in.
        let applicantType = type.localized(current.language)
        var toldApplicant: [String] = []
        for effect in effects {
            switch effect {
            case .moved(let transition, let from, let to, let actor, let reason):
                let label = type.transition(transition)?.label ?? transition
                var body = "\(label): \(type.state(from)?.label ?? from) → \(type.state(to)?.label ?? to)."
                if let reason, !reason.isEmpty { body += CaseWords.withReason(reason, .english) }
                try await event(caseID, kind: "transition", actor: actor, visibility: .applicant, from: from, to: to, transition: transition, body: body, now: now, sql: sql)
                try await webhook(
                    "case.transitioned", caseID: caseID, type: type, state: to, extra: ["from": .string(from), "to": .string(to), "transition": .string(transition)],
                    jurisdictionID: jurisdictionID, now: now, sql: sql)
                toldApplicant.append(applicantType.state(to)?.applicantText ?? to)
                if let reason, !reason.isEmpty { toldApplicant.append(reason) }
                if type.state(to)?.final == true {
                    try await sql.update("case_tasks").set("done_at", to: SQLBind(Clock.millis(now))).where("case_id", .equal, caseID)
                        .where("done_at", .is, SQLLiteral.null).run()
                }
            case .decided(let decision):
                try await sql.insert(into: "case_decisions").columns("case_id", "rule_id", "rule_version", "passed", "input", "explanation", "created_at")
                    .values(
                        SQLBind(caseID), SQLBind(decision.ruleID), SQLBind(decision.ruleVersion), SQLBind(decision.passed ? 1 : 0),
                        SQLBind(JSONValue.object(decision.values.mapValues { .string($0) }).jsonText), SQLBind(decision.text), SQLBind(Clock.millis(now))
                    ).run()
                try await webhook(
                    "case.decided", caseID: caseID, type: type, state: next.state,
                    extra: ["rule": .string(decision.ruleID), "rule_version": .integer(Int64(decision.ruleVersion)), "passed": .bool(decision.passed)],
                    jurisdictionID: jurisdictionID, now: now, sql: sql)
            case .routed(let queue, let automation):
                try await event(caseID, kind: "routed", actor: "automation: \(automation)", visibility: .internal, body: "Routed to \(queue).", now: now, sql: sql)
            case .reminded(let message, let automation):
                try await event(caseID, kind: "reminder", actor: "automation: \(automation)", visibility: .applicant, body: message, now: now, sql: sql)
                toldApplicant.append(applicantType.reminder(of: automation) ?? message)
            }
        }
        for document in requested {
            let label = type.document(document)?.label ?? document
            let due = state?.serviceLevel.map { type.calendar.deadline($0, from: now) }
            try await sql.insert(into: "case_tasks").columns("case_id", "title", "assignee", "document_type", "due_at", "created_by", "created_at")
                .values(
                    SQLBind(caseID), SQLBind("Upload: \(label)"), SQLBind("applicant"), SQLBind(document), SQLBind(due.map(Clock.millis)), SQLBind(caller.name),
                    SQLBind(Clock.millis(now))
                ).run()
        }
        if !toldApplicant.isEmpty { try await mailApplicant(current, type: type, lines: toldApplicant, now: now, sql: sql) }
    }

    /// Mail to the applicant about their case, in the language they applied in (the type's translation for its
    /// texts, where it has one).
    func mailApplicant(_ found: CaseRecord, type: CaseType, lines: [String], now: Date, sql: any SQLDatabase) async throws {
        guard let applicant = found.applicantID,
            let email = try await sql.select().column("email").from("users").where("id", .equal, applicant).where("deleted_at", .is, SQLLiteral.null).first()?
                .decode(column: "email", as: String.self)
        else { return }
        let name = type.localized(found.language).name
        let mail = CaseNotice.news(site: site, caseID: found.id, typeName: name, lines: lines, link: "\(publicURL)/my/cases/\(found.id)", language: found.language)
        try await MailOutboxStore.enqueue(to: email, subject: mail.subject, body: mail.body, jurisdictionID: found.jurisdictionID, now: now, sql: sql)
    }

    func event(
        _ caseID: Int64, kind: String, actor: String, visibility: CaseEvent.Visibility, from: String? = nil, to: String? = nil, transition: String? = nil,
        body: String?, now: Date, sql: any SQLDatabase
    ) async throws {
        try await sql.insert(into: "case_events")
            .columns("case_id", "kind", "actor", "visibility", "from_state", "to_state", "transition", "body", "created_at")
            .values(
                SQLBind(caseID), SQLBind(kind), SQLBind(actor), SQLBind(visibility.rawValue), SQLBind(from), SQLBind(to), SQLBind(transition), SQLBind(body),
                SQLBind(Clock.millis(now))
            ).run()
    }

    /// Uploads a new version of one of the case's documents; tasks asking for it are done.
    @discardableResult
    public func addDocument(
        _ caseID: Int64, type documentType: String, filename: String, contentType: String, bytes: [UInt8], by caller: CaseCaller, jurisdictionID: String,
        now: Date = Date()
    ) async throws -> CaseDocument {
        guard let found = try await find(id: caseID, jurisdictionID: jurisdictionID),
            let type = try await type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdictionID)
        else { throw CivitasError.notFound("case_not_found", "There is no case \(caseID).") }
        guard let document = type.document(documentType) else {
            throw CivitasError.invalid("document_unknown", "\(type.name) takes no document \u{201C}\(documentType)\u{201D}.", field: "type")
        }
        guard !bytes.isEmpty, bytes.count <= document.maximumBytes else {
            throw CivitasError.invalid("document_size", "\(document.label): the file must be at most \(document.maximumBytes / 1_048_576) MB.", field: "file")
        }
        guard let sniffed = Self.sniff(bytes), document.contentTypes.contains(sniffed) else {
            let allowed = document.contentTypes.map { $0.split(separator: "/").last.map { $0.uppercased() } ?? $0 }.joined(separator: ", ")
            throw CivitasError.invalid("document_type", "\(document.label): the file must be \(allowed).", field: "file")
        }
        _ = contentType
        let cleanName = String(filename.filter { !$0.isNewline && $0 != "/" && $0 != "\\" }.prefix(200))
        return try await database.transaction { [self] sql in
            let current = try await lock(caseID, jurisdictionID: jurisdictionID, sql: sql)
            guard current.closedAt == nil else { throw CivitasError(.conflict, code: "case_closed", message: "Case \(caseID) is closed.") }
            let last = try await sql.select().column(SQLFunction("MAX", args: SQLColumn("version")), as: "v").from("case_documents")
                .where("case_id", .equal, caseID).where("document_type", .equal, documentType).first()?.decode(column: "v", as: Int?.self)
            let upload = MediaUpload(contentType: sniffed, bytes: bytes)
            try await MediaStore.insert(upload, jurisdictionID: jurisdictionID, now: now, sql: sql)
            let version = (last ?? 0) + 1
            let row = try await sql.insert(into: "case_documents")
                .columns("case_id", "document_type", "version", "filename", "content_type", "media_id", "size", "uploaded_by", "created_at")
                .values(
                    SQLBind(caseID), SQLBind(documentType), SQLBind(version), SQLBind(cleanName.isEmpty ? documentType : cleanName), SQLBind(sniffed),
                    SQLBind(upload.id), SQLBind(bytes.count), SQLBind(caller.name), SQLBind(Clock.millis(now))
                ).returning("id").first()
            try await sql.update("case_tasks").set("done_at", to: SQLBind(Clock.millis(now))).where("case_id", .equal, caseID)
                .where("document_type", .equal, documentType).where("done_at", .is, SQLLiteral.null).run()
            try await event(
                caseID, kind: "document", actor: caller.name, visibility: .applicant, body: "\(document.label) uploaded (version \(version)).", now: now, sql: sql)
            try await sql.update("cases").set("updated_at", to: SQLBind(Clock.millis(now))).where("id", .equal, caseID).run()
            try await webhook(
                "case.document_added", caseID: caseID, type: type, state: current.state,
                extra: ["document_type": .string(documentType), "version": .integer(Int64(version))], jurisdictionID: jurisdictionID, now: now, sql: sql)
            return CaseDocument(
                id: try row?.decode(column: "id", as: Int64.self) ?? 0, type: documentType, version: version, filename: cleanName, contentType: sniffed,
                mediaID: upload.id, size: bytes.count, uploadedBy: caller.name, at: now)
        }
    }

    /// What a file really is, from its first bytes, whatever its name or the browser says.
    static func sniff(_ bytes: [UInt8]) -> String? {
        if bytes.starts(with: [0x25, 0x50, 0x44, 0x46, 0x2D]) { return "application/pdf" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        return nil
    }

    /// A note (`internal`, staff only) or a message to or from the applicant (`applicant`).
    public func addNote(_ caseID: Int64, body: String, visibility: CaseEvent.Visibility, by caller: CaseCaller, jurisdictionID: String, now: Date = Date())
        async throws
    {
        let text = body.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.unicodeScalars.count <= 5000 else {
            throw CivitasError.invalid("note_invalid", "Write a message of 1 to 5000 characters.", field: "body")
        }
        guard let found = try await find(id: caseID, jurisdictionID: jurisdictionID),
            let type = try await type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdictionID)
        else { throw CivitasError.notFound("case_not_found", "There is no case \(caseID).") }
        try await database.transaction { [self] sql in
            let kind = caller.actor == .applicant ? "message" : visibility == .internal ? "note" : "message"
            try await event(caseID, kind: kind, actor: caller.name, visibility: caller.actor == .applicant ? .applicant : visibility, body: text, now: now, sql: sql)
            if caller.actor != .applicant, visibility == .applicant {
                try await mailApplicant(found, type: type, lines: [CaseNotice.messageFromUs(found.language), text], now: now, sql: sql)
            }
            if visibility == .applicant {
                try await webhook("case.message", caseID: caseID, type: type, state: found.state, extra: [:], jurisdictionID: jurisdictionID, now: now, sql: sql)
            }
        }
    }

    @discardableResult
    public func addTask(
        _ caseID: Int64, title: String, assignee: String, due: Date?, by caller: CaseCaller, jurisdictionID: String, now: Date = Date()
    ) async throws -> Int64 {
        let text = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.count <= 300 else { throw CivitasError.invalid("task_invalid", "A task needs a title of 1 to 300 characters.", field: "title") }
        guard assignee == "applicant" || Int64(assignee) != nil else {
            throw CivitasError.invalid("task_invalid", "A task is for the applicant or a staff member's id.", field: "assignee")
        }
        guard try await find(id: caseID, jurisdictionID: jurisdictionID) != nil else { throw CivitasError.notFound("case_not_found", "There is no case \(caseID).") }
        return try await database.transaction { [self] sql in
            let row = try await sql.insert(into: "case_tasks").columns("case_id", "title", "assignee", "due_at", "created_by", "created_at")
                .values(SQLBind(caseID), SQLBind(text), SQLBind(assignee), SQLBind(due.map(Clock.millis)), SQLBind(caller.name), SQLBind(Clock.millis(now)))
                .returning("id").first()
            try await event(
                caseID, kind: "task", actor: caller.name, visibility: assignee == "applicant" ? .applicant : .internal, body: "Task: \(text)", now: now, sql: sql)
            return try row?.decode(column: "id", as: Int64.self) ?? 0
        }
    }

    public func completeTask(_ taskID: Int64, caseID: Int64, by caller: CaseCaller, jurisdictionID: String, now: Date = Date()) async throws {
        try await database.transaction { [self] sql in
            _ = try await lock(caseID, jurisdictionID: jurisdictionID, sql: sql)
            guard let row = try await sql.select().column("title").from("case_tasks").where("id", .equal, taskID).where("case_id", .equal, caseID).first() else {
                throw CivitasError.notFound("task_not_found", "Case \(caseID) has no task \(taskID).")
            }
            try await sql.update("case_tasks").set("done_at", to: SQLBind(Clock.millis(now))).where("id", .equal, taskID).run()
            try await event(
                caseID, kind: "task_done", actor: caller.name, visibility: .internal, body: "Done: \(try row.decode(column: "title", as: String.self))", now: now,
                sql: sql)
        }
    }

    // MARK: Work distribution

    public func setSkills(userID: Int64, skills: Set<String>) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "user_skills").where("user_id", .equal, userID).run()
            for skill in skills.sorted() {
                try await sql.insert(into: "user_skills").columns("user_id", "skill").values(SQLBind(userID), SQLBind(skill)).run()
            }
        }
    }

    public func skills(userID: Int64) async throws -> Set<String> {
        try await database.read { sql in
            Set(try await sql.select().column("skill").from("user_skills").where("user_id", .equal, userID).all().map { try $0.decode(column: "skill", as: String.self) })
        }
    }

    /// The queues someone with these departments and skills may pull from.
    public func queues(departments: [String], skills: Set<String>, jurisdictionID: String) async throws -> [CaseQueue] {
        if departments.isEmpty { return [] }
        return try await database.read { sql in
            var select = sql.select().columns("name", "department", "skills", "assignment").from("case_queues").where("jurisdiction_id", .equal, jurisdictionID)
            if !departments.contains("*") { select = select.where("department", .in, departments) }
            return try await select.orderBy("name").all().map { row in
                CaseQueue(
                    name: try row.decode(column: "name", as: String.self),
                    skills: Set(try row.decode(column: "skills", as: String.self).split(separator: ",").map(String.init)),
                    assignment: CaseQueue.Assignment(rawValue: try row.decode(column: "assignment", as: String.self)) ?? .pull)
            }.filter { $0.skills.isSubset(of: skills) }
        }
    }

    /// Gives the caller the most urgent unassigned case of the queues they may work (or of `queue`), never one
    /// another agent pulled at the same moment (`FOR UPDATE SKIP LOCKED` on PostgreSQL; one writer on SQLite).
    public func pull(
        userID: Int64, departments: [String], skills: Set<String>, queue: String? = nil, jurisdictionID: String, now: Date = Date()
    ) async throws -> CaseRecord? {
        var names = try await queues(departments: departments, skills: skills, jurisdictionID: jurisdictionID).map(\.name)
        if let queue {
            guard names.contains(queue) else {
                throw CivitasError(.forbidden, code: "queue_not_yours", message: "You may not pull from \(queue): it needs skills or a department you do not have.")
            }
            names = [queue]
        }
        guard !names.isEmpty else { return nil }
        let pulled = try await database.transaction { [names] sql -> Int64? in
            let select = sql.select().column("id").from("cases").where("jurisdiction_id", .equal, jurisdictionID).where("workable", .equal, 1)
                .where("assignee_id", .is, SQLLiteral.null).where("queue", .in, names)
                .orderBy(SQLRaw("COALESCE(due_at, 9000000000000000)")).orderBy("id").limit(1)
            if sql.dialect.name == "postgresql" { select.lockingClause(SQLRaw("FOR UPDATE SKIP LOCKED")) }
            guard let id = try await select.first()?.decode(column: "id", as: Int64.self) else { return nil }
            try await sql.update("cases").set("assignee_id", to: SQLBind(userID)).set("updated_at", to: SQLBind(Clock.millis(now)))
                .where("id", .equal, id).where("assignee_id", .is, SQLLiteral.null).run()
            try await self.event(id, kind: "assigned", actor: "staff:\(userID)", visibility: .internal, body: "Pulled from the queue by staff \(userID).", now: now, sql: sql)
            return id
        }
        guard let pulled else { return nil }
        return try await find(id: pulled, jurisdictionID: jurisdictionID)
    }

    /// Gives cases to someone (or to nobody, back to the queue), all or none.
    public func assign(_ ids: [Int64], to userID: Int64?, by caller: CaseCaller, jurisdictionID: String, now: Date = Date()) async throws {
        guard !ids.isEmpty, ids.count <= 1000 else { throw CivitasError.invalid("ids_invalid", "Choose 1 to 1000 cases.", field: "ids") }
        try await database.transaction { [self] sql in
            for id in ids {
                let current = try await lock(id, jurisdictionID: jurisdictionID, sql: sql)
                guard current.closedAt == nil else { throw CivitasError(.conflict, code: "case_closed", message: "Case \(id) is closed; nothing was reassigned.") }
                try await sql.update("cases").set("assignee_id", to: SQLBind(userID)).set("updated_at", to: SQLBind(Clock.millis(now))).where("id", .equal, id).run()
                try await event(
                    id, kind: "assigned", actor: caller.name, visibility: .internal,
                    body: userID.map { "Assigned to staff \($0)." } ?? "Returned to the queue.", now: now, sql: sql)
            }
        }
    }

    /// Each queue's waiting work, oldest case, and cases due within 8 hours or overdue.
    public func health(departments: [String], jurisdictionID: String, now: Date = Date()) async throws -> [QueueHealth] {
        if departments.isEmpty { return [] }
        return try await database.read { sql in
            var queues = sql.select().columns("name", "department", "skills").from("case_queues").where("jurisdiction_id", .equal, jurisdictionID)
            if !departments.contains("*") { queues = queues.where("department", .in, departments) }
            var result: [QueueHealth] = []
            for row in try await queues.orderBy("department").orderBy("name").all() {
                let name = try row.decode(column: "name", as: String.self)
                let soon = Clock.millis(now.addingTimeInterval(8 * 3600))
                let counts = try await sql.select()
                    .column(SQLFunction("COUNT", args: SQLLiteral.all), as: "waiting")
                    .column(SQLRaw("SUM(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END)"), as: "unassigned")
                    .column(SQLFunction("MIN", args: SQLColumn("state_entered_at")), as: "oldest")
                    .column(SQLQueryString("SUM(CASE WHEN due_at IS NOT NULL AND due_at <= \(bind: soon) THEN 1 ELSE 0 END)"), as: "at_risk")
                    .column(SQLQueryString("SUM(CASE WHEN due_at IS NOT NULL AND due_at <= \(bind: Clock.millis(now)) THEN 1 ELSE 0 END)"), as: "overdue")
                    .from("cases").where("jurisdiction_id", .equal, jurisdictionID).where("queue", .equal, name).where("workable", .equal, 1).first()
                result.append(
                    QueueHealth(
                        name: name, department: try row.decode(column: "department", as: String.self),
                        skills: try row.decode(column: "skills", as: String.self).split(separator: ",").map(String.init),
                        waiting: Int(try counts?.decode(column: "waiting", as: Int64?.self) ?? 0),
                        unassigned: Int(try counts?.decode(column: "unassigned", as: Int64?.self) ?? 0),
                        oldest: try counts?.decode(column: "oldest", as: Int64?.self).map(Clock.date),
                        atRisk: Int(try counts?.decode(column: "at_risk", as: Int64?.self) ?? 0),
                        overdue: Int(try counts?.decode(column: "overdue", as: Int64?.self) ?? 0)))
            }
            return result
        }
    }

    /// Who a queue that hands out its cases gives the next one to: staff of its department (agents and supervisors,
    /// not disabled) with all its skills; in turn after the last one given a case, or the one with the fewest open
    /// cases. Nil for a queue people pull from.
    static func autoAssignee(queue: String, department: String, jurisdictionID: String, sql: any SQLDatabase) async throws
        -> (id: Int64, how: String)?
    {
        let select = sql.select().columns("skills", "assignment", "last_assigned").from("case_queues")
            .where("jurisdiction_id", .equal, jurisdictionID).where("name", .equal, queue)
        if sql.dialect.name == "postgresql" { select.lockingClause(SQLRaw("FOR UPDATE")) }
        guard let row = try await select.first(),
            let assignment = CaseQueue.Assignment(rawValue: try row.decode(column: "assignment", as: String.self)), assignment != .pull
        else { return nil }
        let skills = Set(try row.decode(column: "skills", as: String.self).split(separator: ",").map(String.init))
        let staff = try await sql.select().columns("id", "departments").from("users").where("jurisdiction_id", .equal, jurisdictionID)
            .where("kind", .equal, "staff").where("role", .in, ["agent", "supervisor"]).where("disabled_at", .is, SQLLiteral.null)
            .where("deleted_at", .is, SQLLiteral.null).orderBy("id").all()
        var eligible: [Int64] = []
        for person in staff {
            let id = try person.decode(column: "id", as: Int64.self)
            guard DepartmentScope(stored: try person.decode(column: "departments", as: String?.self)).contains(department) else { continue }
            let has = Set(try await sql.select().column("skill").from("user_skills").where("user_id", .equal, id).all()
                .map { try $0.decode(column: "skill", as: String.self) })
            if skills.isSubset(of: has) { eligible.append(id) }
        }
        guard !eligible.isEmpty else { return nil }
        let chosen: Int64
        switch assignment {
        case .pull: return nil
        case .roundRobin:
            let last = try row.decode(column: "last_assigned", as: Int64?.self) ?? 0
            chosen = eligible.first { $0 > last } ?? eligible[0]
        case .leastLoaded:
            var load: [Int64: Int] = [:]
            for row in try await sql.select().column("assignee_id").column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("cases")
                .where("jurisdiction_id", .equal, jurisdictionID).where("closed_at", .is, SQLLiteral.null).where("assignee_id", .in, eligible)
                .groupBy("assignee_id").all()
            {
                load[try row.decode(column: "assignee_id", as: Int64.self)] = Int(try row.decode(column: "n", as: Int64.self))
            }
            chosen = eligible.min { (load[$0] ?? 0, $0) < (load[$1] ?? 0, $1) }!
        }
        try await sql.update("case_queues").set("last_assigned", to: SQLBind(chosen)).where("jurisdiction_id", .equal, jurisdictionID)
            .where("name", .equal, queue).run()
        return (chosen, assignment == .roundRobin ? "in turn" : "fewest open cases")
    }

    // MARK: Timers

    /// Runs the timer automations that are due ("after 14 days waiting on the applicant"), each once per stay in a
    /// state, even with several processes sweeping at once. Returns how many fired.
    @discardableResult
    public func sweep(jurisdictionID: String, now: Date = Date()) async throws -> Int {
        var fired = 0
        for caseType in try await types(jurisdictionID: jurisdictionID) {
            let timed = Set(caseType.automations.compactMap { automation -> String? in
                if case .after(let state, _) = automation.trigger { return state }
                return nil
            })
            guard !timed.isEmpty else { continue }
            let rows = try await database.read { sql in
                try await sql.select().columns("id", "type_version", "state", "state_entered_at").from("cases")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("type_key", .equal, caseType.key)
                    .where("state", .in, Array(timed)).where("closed_at", .is, SQLLiteral.null).orderBy("id").limit(10_000).all()
                    .map { row in
                        (id: try row.decode(column: "id", as: Int64.self), version: try row.decode(column: "type_version", as: Int.self),
                         state: try row.decode(column: "state", as: String.self),
                         entered: Clock.date(try row.decode(column: "state_entered_at", as: Int64.self)))
                    }
            }
            // Only cases with a timer past its time are locked and looked at closely; the rest wait for a later sweep.
            var candidates: [Int64] = []
            for row in rows {
                guard let version = try await type(caseType.key, version: row.version, jurisdictionID: jurisdictionID) else { continue }
                let due = version.automations.contains { automation in
                    guard case .after(let state, let level) = automation.trigger, state == row.state else { return false }
                    return version.calendar.deadline(level, from: row.entered) <= now
                }
                if due { candidates.append(row.id) }
            }
            for id in candidates {
                fired += try await database.transaction { [self] sql -> Int in
                    let current = try await lock(id, jurisdictionID: jurisdictionID, sql: sql)
                    guard let version = try await type(current.typeKey, version: current.typeVersion, jurisdictionID: jurisdictionID) else { return 0 }
                    let already = Set(try await sql.select().column("automation").from("case_timers_fired").where("case_id", .equal, id)
                        .where("state_entered_at", .equal, Clock.millis(current.stateEnteredAt)).all().map { try $0.decode(column: "automation", as: String.self) })
                    var snapshot = CaseSnapshot(
                        state: current.state, queue: current.queue, data: current.data, documents: try await Self.documentTypes(id, sql: sql),
                        stateEnteredAt: current.stateEnteredAt)
                    var count = 0
                    for automation in version.dueTimers(snapshot, now: now, fired: already) {
                        try await sql.insert(into: "case_timers_fired").columns("case_id", "automation", "state_entered_at")
                            .values(SQLBind(id), SQLBind(automation.name), SQLBind(Clock.millis(snapshot.stateEnteredAt))).run()
                        let before = snapshot
                        let (next, effects) = version.fire(automation, on: snapshot, now: now)
                        var record = current
                        record.state = before.state
                        record.queue = before.queue
                        try await apply(
                            effects, to: record, next: next, type: version, requested: [],
                            by: CaseCaller(actor: .automatic, name: "automation: \(automation.name)"), now: now, sql: sql)
                        snapshot = next
                        count += 1
                        if next.state != before.state { break }
                    }
                    return count
                }
            }
        }
        return fired
    }

    // MARK: Webhooks

    public struct Webhook: Sendable, Equatable {
        public var id: Int64
        public var clientID: String
        public var url: String
        public var events: [String]
        public var active: Bool
    }

    public struct Delivery: Sendable, Equatable {
        public var id: Int64
        public var webhookID: Int64
        public var url: String
        public var secret: String
        public var eventID: String
        public var eventType: String
        public var payload: String
        public var attempts: Int
        public var deliveredAt: Date?
        public var lastStatus: Int?
        public var lastError: String?
        public var nextAttemptAt: Date
    }

    public static let eventTypes = ["case.created", "case.transitioned", "case.decided", "case.document_added", "case.message"]

    /// Subscribes a partner client to case events; returns the webhook and the secret its deliveries are signed with.
    public func subscribe(
        clientID: String, url: String, events: [String], departments: [String], jurisdictionID: String, allowPrivate: Bool = false,
        now: Date = Date()
    ) async throws -> (Webhook, String) {
        guard let parsed = URL(string: url), ["https", "http"].contains(parsed.scheme ?? ""), let host = parsed.host, url.count <= 2000 else {
            throw CivitasError.invalid("url_invalid", "Give the receiver's full https:// address.", field: "url")
        }
        // Deliveries leave from inside the agency's network: a partner may not point them at the server itself or
        // at private addresses, unless the operator allows it (WEBHOOKS_ALLOW_PRIVATE, for tests and internal partners).
        if !allowPrivate, Self.isPrivate(host: host) {
            throw CivitasError.invalid("url_private", "The receiver must be a public address, not a local or private one.", field: "url")
        }
        let chosen = events.isEmpty ? Self.eventTypes : events
        for event in chosen where !Self.eventTypes.contains(event) {
            throw CivitasError.invalid("event_unknown", "Events are \(Self.eventTypes.joined(separator: ", ")).", field: "events")
        }
        let secret = "whsec_" + SecureRandom.token(bytes: 24)
        let id = try await database.transaction { sql in
            let row = try await sql.insert(into: "webhooks").columns("jurisdiction_id", "client_id", "url", "secret", "events", "departments", "active", "created_at")
                .values(
                    SQLBind(jurisdictionID), SQLBind(clientID), SQLBind(url), SQLBind(secret), SQLBind(chosen.joined(separator: ",")),
                    SQLBind(departments.joined(separator: "\u{1F}")), SQLBind(1), SQLBind(Clock.millis(now))
                ).returning("id").first()
            return try row?.decode(column: "id", as: Int64.self) ?? 0
        }
        return (Webhook(id: id, clientID: clientID, url: url, events: chosen, active: true), secret)
    }

    /// Loopback, private, link-local and unspecified addresses in any numeric form, and names that mean this machine.
    /// (A public-looking name that resolves to such an address is refused when it is delivered to.)
    static func isPrivate(host: String) -> Bool {
        var name = host.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        if name.isEmpty || name == "localhost" || name.hasSuffix(".localhost") || name.hasSuffix(".local") || name.hasSuffix(".internal") { return true }
        let addresses = NetworkAddress.literal(name)
        return addresses.contains { !NetworkAddress.isPublic($0) }
    }

    public func webhooks(clientID: String?, jurisdictionID: String) async throws -> [Webhook] {
        try await database.read { sql in
            var select = sql.select().columns("id", "client_id", "url", "events", "active").from("webhooks").where("jurisdiction_id", .equal, jurisdictionID)
            if let clientID { select = select.where("client_id", .equal, clientID) }
            return try await select.orderBy("id").all().map { row in
                Webhook(
                    id: try row.decode(column: "id", as: Int64.self), clientID: try row.decode(column: "client_id", as: String.self),
                    url: try row.decode(column: "url", as: String.self),
                    events: try row.decode(column: "events", as: String.self).split(separator: ",").map(String.init),
                    active: try row.decode(column: "active", as: Int.self) == 1)
            }
        }
    }

    public func unsubscribe(_ id: Int64, clientID: String?, jurisdictionID: String) async throws {
        try await database.transaction { sql in
            var select = sql.select().column("id").from("webhooks").where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, id)
            if let clientID { select = select.where("client_id", .equal, clientID) }
            guard try await select.first() != nil else { throw CivitasError.notFound("webhook_not_found", "There is no webhook \(id).") }
            try await sql.update("webhooks").set("active", to: SQLBind(0)).where("id", .equal, id).run()
        }
    }

    /// Queues an event for every active subscriber that may read the case, in the change's own transaction: an
    /// event is delivered if and only if its change is committed.
    func webhook(
        _ eventType: String, caseID: Int64, type: CaseType, state: String, extra: [String: JSONValue], jurisdictionID: String, now: Date,
        sql: any SQLDatabase
    ) async throws {
        let subscribers = try await sql.select().columns("id", "events", "departments").from("webhooks").where("jurisdiction_id", .equal, jurisdictionID)
            .where("active", .equal, 1).all()
        for row in subscribers {
            let events = try row.decode(column: "events", as: String.self).split(separator: ",").map(String.init)
            let departments = try row.decode(column: "departments", as: String.self).split(separator: "\u{1F}").map(String.init)
            guard events.contains(eventType), departments.contains("*") || departments.contains(type.department) else { continue }
            let eventID = "evt_" + SecureRandom.token(bytes: 12)
            var payload: [String: JSONValue] = [
                "id": .string(eventID), "type": .string(eventType), "created_at": .string(W3CDateTime.format(now)),
                "case": .object([
                    "id": .integer(caseID), "type": .string(type.key), "type_version": .integer(Int64(type.version)), "state": .string(state),
                    "url": .string("/api/v1/cases/\(caseID)"),
                ]),
            ]
            if !extra.isEmpty { payload["data"] = .object(extra) }
            try await sql.insert(into: "webhook_deliveries")
                .columns("webhook_id", "event_id", "event_type", "payload", "attempts", "next_attempt_at", "created_at")
                .values(
                    SQLBind(try row.decode(column: "id", as: Int64.self)), SQLBind(eventID), SQLBind(eventType), SQLBind(JSONValue.object(payload).jsonText),
                    SQLBind(0), SQLBind(Clock.millis(now)), SQLBind(Clock.millis(now))
                ).run()
        }
    }

    /// Takes up to `limit` deliveries that are due, pushing their next attempt out so another process does not
    /// send them at the same time. A delivery that is never confirmed is tried again after `lease`.
    public func claimDeliveries(limit: Int = 20, lease: TimeInterval = 60, now: Date = Date()) async throws -> [Delivery] {
        try await database.transaction { sql in
            let select = sql.select()
                .columns(
                    SQLColumn("id", table: "webhook_deliveries"), SQLColumn("webhook_id"), SQLColumn("url"), SQLColumn("secret"), SQLColumn("event_id"),
                    SQLColumn("event_type"), SQLColumn("payload"), SQLColumn("attempts"), SQLColumn("next_attempt_at"))
                .from("webhook_deliveries").join("webhooks", on: SQLColumn("webhook_id"), .equal, SQLColumn("id", table: "webhooks"))
                .where("delivered_at", .is, SQLLiteral.null).where("next_attempt_at", .lessThanOrEqual, Clock.millis(now)).where("attempts", .lessThan, 12)
                .where(SQLColumn("active", table: "webhooks"), .equal, SQLBind(1))
                .orderBy("next_attempt_at").limit(limit)
            if sql.dialect.name == "postgresql" { select.lockingClause(SQLRaw("FOR UPDATE OF webhook_deliveries SKIP LOCKED")) }
            let rows = try await select.all()
            var claimed: [Delivery] = []
            for row in rows {
                let id = try row.decode(column: "id", as: Int64.self)
                try await sql.update("webhook_deliveries").set("next_attempt_at", to: SQLBind(Clock.millis(now.addingTimeInterval(lease)))).where("id", .equal, id).run()
                claimed.append(
                    Delivery(
                        id: id, webhookID: try row.decode(column: "webhook_id", as: Int64.self), url: try row.decode(column: "url", as: String.self),
                        secret: try row.decode(column: "secret", as: String.self), eventID: try row.decode(column: "event_id", as: String.self),
                        eventType: try row.decode(column: "event_type", as: String.self), payload: try row.decode(column: "payload", as: String.self),
                        attempts: try row.decode(column: "attempts", as: Int.self), deliveredAt: nil, lastStatus: nil, lastError: nil,
                        nextAttemptAt: now.addingTimeInterval(lease)))
            }
            return claimed
        }
    }

    /// Records an attempt: delivered on a 2xx, else tried again after a backoff that doubles (30 s, 1 min, ... up to 6 h,
    /// with the default `firstRetry`).
    public func recordAttempt(_ id: Int64, status: Int?, error: String?, firstRetry: TimeInterval = 30, now: Date = Date()) async throws {
        try await database.transaction { sql in
            guard let row = try await sql.select().column("attempts").from("webhook_deliveries").where("id", .equal, id).first() else { return }
            let attempts = try row.decode(column: "attempts", as: Int.self) + 1
            let update = sql.update("webhook_deliveries").set("attempts", to: SQLBind(attempts)).set("last_status", to: SQLBind(status))
                .set("last_error", to: SQLBind(error.map { String($0.prefix(500)) }))
            if let status, (200..<300).contains(status) {
                update.set("delivered_at", to: SQLBind(Clock.millis(now)))
            } else {
                let delay = min(firstRetry * pow(2, Double(attempts - 1)), 6 * 3600)
                update.set("next_attempt_at", to: SQLBind(Clock.millis(now.addingTimeInterval(delay))))
            }
            try await update.where("id", .equal, id).run()
        }
    }

    /// The delivery log of a client's webhooks, newest first.
    public func deliveries(clientID: String?, jurisdictionID: String, limit: Int = 100) async throws -> [Delivery] {
        try await database.read { sql in
            var select = sql.select()
                .columns(
                    SQLColumn("id", table: "webhook_deliveries"), SQLColumn("webhook_id"), SQLColumn("url"), SQLColumn("event_id"), SQLColumn("event_type"),
                    SQLColumn("payload"), SQLColumn("attempts"), SQLColumn("next_attempt_at"), SQLColumn("delivered_at"), SQLColumn("last_status"),
                    SQLColumn("last_error"))
                .from("webhook_deliveries").join("webhooks", on: SQLColumn("webhook_id"), .equal, SQLColumn("id", table: "webhooks"))
                .where(SQLColumn("jurisdiction_id", table: "webhooks"), .equal, SQLBind(jurisdictionID))
            if let clientID { select = select.where(SQLColumn("client_id", table: "webhooks"), .equal, SQLBind(clientID)) }
            return try await select.orderBy(SQLOrderBy(expression: SQLColumn("id", table: "webhook_deliveries"), direction: SQLDirection.descending)).limit(limit).all().map { row in
                Delivery(
                    id: try row.decode(column: "id", as: Int64.self), webhookID: try row.decode(column: "webhook_id", as: Int64.self),
                    url: try row.decode(column: "url", as: String.self), secret: "", eventID: try row.decode(column: "event_id", as: String.self),
                    eventType: try row.decode(column: "event_type", as: String.self), payload: try row.decode(column: "payload", as: String.self),
                    attempts: try row.decode(column: "attempts", as: Int.self), deliveredAt: try row.decode(column: "delivered_at", as: Int64?.self).map(Clock.date),
                    lastStatus: try row.decode(column: "last_status", as: Int?.self), lastError: try row.decode(column: "last_error", as: String?.self),
                    nextAttemptAt: Clock.date(try row.decode(column: "next_attempt_at", as: Int64.self)))
            }
        }
    }

    // MARK: Idempotency

    /// Runs `work` once per caller and key: a retry with the same key and the same request gets the first answer;
    /// the same key with a different request is refused. The key is kept in the same transaction as the work, so a
    /// crash leaves either both or neither.
    public func idempotent(
        caller: String, key: String, fingerprint: String, jurisdictionID: String, now: Date = Date(),
        work: @escaping @Sendable (any SQLDatabase) async throws -> (status: Int, body: String)
    ) async throws -> (status: Int, body: String, replayed: Bool) {
        guard (16...100).contains(key.count), key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw CivitasError.invalid("idempotency_key_invalid", "Send an Idempotency-Key of 16 to 100 letters, digits, - or _.", field: "Idempotency-Key")
        }
        @Sendable func stored(_ sql: any SQLDatabase) async throws -> (status: Int, body: String, replayed: Bool)? {
            guard let row = try await sql.select().columns("fingerprint", "status", "body").from("idempotency_keys")
                .where("jurisdiction_id", .equal, jurisdictionID).where("caller", .equal, caller).where("key", .equal, key).first()
            else { return nil }
            guard try row.decode(column: "fingerprint", as: String.self) == fingerprint else {
                throw CivitasError(.unprocessable, code: "idempotency_key_reused", message: "This Idempotency-Key was used for a different request.", field: "Idempotency-Key")
            }
            return (try row.decode(column: "status", as: Int.self), try row.decode(column: "body", as: String.self), true)
        }
        if let earlier = try await database.read({ try await stored($0) }) { return earlier }
        do {
            return try await database.transaction { sql in
                if let earlier = try await stored(sql) { return earlier }
                let (status, body) = try await work(sql)
                try await sql.insert(into: "idempotency_keys").columns("jurisdiction_id", "caller", "key", "fingerprint", "status", "body", "created_at")
                    .values(SQLBind(jurisdictionID), SQLBind(caller), SQLBind(key), SQLBind(fingerprint), SQLBind(status), SQLBind(body), SQLBind(Clock.millis(now)))
                    .run()
                return (status, body, false)
            }
        } catch let error as CivitasError {
            throw error
        } catch {
            // Two identical requests at once on PostgreSQL: the second's insert of the key fails and its work is rolled
            // back; it answers with the first one's result.
            if let earlier = try await database.read({ try await stored($0) }) { return earlier }
            throw error
        }
    }
}
