import CivitasCore
import Foundation
import SQLKit

/// Tasks on a case: what someone must do, such as a document asked of the applicant.
extension CaseStore {
    public func tasks(of caseID: Int64) async throws -> [CaseTask] {
        try await database.read { sql in
            try await sql.select().columns("id", "title", "assignee", "document_type", "due_at", "done_at", "created_by", "created_at").from(
                "case_tasks"
            )
            .where("case_id", .equal, caseID).orderBy("id").all().map { row in
                CaseTask(
                    id: try row.decode(column: "id", as: Int64.self), title: try row.decode(column: "title", as: String.self),
                    assignee: try row.decode(column: "assignee", as: String.self),
                    documentType: try row.decode(column: "document_type", as: String?.self),
                    dueAt: try row.decode(column: "due_at", as: Int64?.self).map(Clock.date),
                    doneAt: try row.decode(column: "done_at", as: Int64?.self).map(Clock.date),
                    createdBy: try row.decode(column: "created_by", as: String.self),
                    at: Clock.date(try row.decode(column: "created_at", as: Int64.self)))
            }
        }
    }

    @discardableResult
    public func addTask(
        _ caseID: Int64, title: String, assignee: String, due: Date?, by caller: CaseCaller, jurisdictionID: String, now: Date = Date()
    ) async throws -> Int64 {
        let text = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.count <= 300 else {
            throw CivitasError.invalid("task_invalid", "A task needs a title of 1 to 300 characters.", field: "title")
        }
        guard assignee == "applicant" || Int64(assignee) != nil else {
            throw CivitasError.invalid("task_invalid", "A task is for the applicant or a staff member's id.", field: "assignee")
        }
        guard try await find(id: caseID, jurisdictionID: jurisdictionID) != nil else {
            throw CivitasError.notFound("case_not_found", "There is no case \(caseID).")
        }
        return try await database.transaction { [self] sql in
            let row = try await sql.insert(into: "case_tasks").columns("case_id", "title", "assignee", "due_at", "created_by", "created_at")
                .values(
                    SQLBind(caseID), SQLBind(text), SQLBind(assignee), SQLBind(due.map(Clock.millis)), SQLBind(caller.name),
                    SQLBind(Clock.millis(now))
                )
                .returning("id").first()
            try await event(
                caseID, kind: "task", actor: caller.name, visibility: assignee == "applicant" ? .applicant : .internal, body: "Task: \(text)",
                now: now, sql: sql)
            return try row?.decode(column: "id", as: Int64.self) ?? 0
        }
    }

    public func completeTask(_ taskID: Int64, caseID: Int64, by caller: CaseCaller, jurisdictionID: String, now: Date = Date()) async throws {
        try await database.transaction { [self] sql in
            _ = try await lock(caseID, jurisdictionID: jurisdictionID, sql: sql)
            guard
                let row = try await sql.select().column("title").from("case_tasks").where("id", .equal, taskID).where("case_id", .equal, caseID)
                    .first()
            else {
                throw CivitasError.notFound("task_not_found", "Case \(caseID) has no task \(taskID).")
            }
            try await sql.update("case_tasks").set("done_at", to: SQLBind(Clock.millis(now))).where("id", .equal, taskID).run()
            try await event(
                caseID, kind: "task_done", actor: caller.name, visibility: .internal,
                body: "Done: \(try row.decode(column: "title", as: String.self))", now: now,
                sql: sql)
        }
    }
}
