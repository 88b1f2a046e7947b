import CivitasCore
import Foundation
import SQLKit

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
                AuditEvent(actor: createdBy, action: "casetype.import", subject: "case_type:\(type.key)@\(type.version)"),
                jurisdictionID: jurisdictionID,
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
        "id", "jurisdiction_id", "type_key", "type_version", "department", "state", "queue", "workable", "assignee_id", "applicant_id", "partner",
        "data",
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
            var select = sql.select().columns(Self.caseColumns.map { SQLColumn($0) }).from("cases").where(
                "jurisdiction_id", .equal, query.jurisdictionID)
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
                        explanation: try row.decode(column: "explanation", as: String.self),
                        at: Clock.date(try row.decode(column: "created_at", as: Int64.self)))
                }
        }
    }

}
