import CivitasCore
import Foundation
import SQLKit

/// Work distribution: skills, queues an agent may pull from, assignment, and queue health for supervisors.
extension CaseStore {
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
            Set(
                try await sql.select().column("skill").from("user_skills").where("user_id", .equal, userID).all().map {
                    try $0.decode(column: "skill", as: String.self)
                })
        }
    }

    /// The queues someone with these departments and skills may pull from.
    public func queues(departments: [String], skills: Set<String>, jurisdictionID: String) async throws -> [CaseQueue] {
        if departments.isEmpty { return [] }
        return try await database.read { sql in
            var select = sql.select().columns("name", "department", "skills", "assignment").from("case_queues").where(
                "jurisdiction_id", .equal, jurisdictionID)
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
                throw CivitasError(
                    .forbidden, code: "queue_not_yours", message: "You may not pull from \(queue): it needs skills or a department you do not have.")
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
            try await self.event(
                id, kind: "assigned", actor: "staff:\(userID)", visibility: .internal, body: "Pulled from the queue by staff \(userID).", now: now,
                sql: sql)
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
                guard current.closedAt == nil else {
                    throw CivitasError(.conflict, code: "case_closed", message: "Case \(id) is closed; nothing was reassigned.")
                }
                try await sql.update("cases").set("assignee_id", to: SQLBind(userID)).set("updated_at", to: SQLBind(Clock.millis(now))).where(
                    "id", .equal, id
                ).run()
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
                    .column(
                        SQLQueryString("SUM(CASE WHEN due_at IS NOT NULL AND due_at <= \(bind: Clock.millis(now)) THEN 1 ELSE 0 END)"), as: "overdue"
                    )
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
            let has = Set(
                try await sql.select().column("skill").from("user_skills").where("user_id", .equal, id).all()
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
}
