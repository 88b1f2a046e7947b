import CivitasCore
import Foundation
import SQLKit

/// A staff member's named queue filters.
public struct SavedView: Sendable, Equatable {
    public var id: Int64
    public var name: String
    /// The queue's query string, e.g. `status=open&sla=breached`.
    public var query: String
}

public struct SavedViewStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    public func list(userID: Int64, jurisdictionID: String) async throws -> [SavedView] {
        try await database.read { sql in
            try await sql.select().columns("id", "name", "query").from("saved_views").where("jurisdiction_id", .equal, jurisdictionID)
                .where("user_id", .equal, userID).orderBy("name").all().map {
                    SavedView(
                        id: try $0.decode(column: "id", as: Int64.self), name: try $0.decode(column: "name", as: String.self),
                        query: try $0.decode(column: "query", as: String.self))
                }
        }
    }

    @discardableResult
    public func save(name: String, query: String, userID: Int64, jurisdictionID: String, now: Date = Date()) async throws -> Int64 {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...60).contains(name.unicodeScalars.count) else {
            throw CivitasError.invalid("name_invalid", "Name the view in 1 to 60 characters.", field: "name")
        }
        guard query.unicodeScalars.count <= 1000 else {
            throw CivitasError.invalid("query_invalid", "The view's filters are too long.", field: "name")
        }
        return try await database.transaction { sql in
            let row = try await sql.insert(into: "saved_views").columns("jurisdiction_id", "user_id", "name", "query", "created_at")
                .values(SQLBind(jurisdictionID), SQLBind(userID), SQLBind(name), SQLBind(query), SQLBind(Clock.millis(now)))
                .returning("id").first()
            return try row?.decode(column: "id", as: Int64.self) ?? 0
        }
    }

    public func delete(id: Int64, userID: Int64, jurisdictionID: String) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "saved_views").where("jurisdiction_id", .equal, jurisdictionID).where("user_id", .equal, userID)
                .where("id", .equal, id).run()
        }
    }
}
