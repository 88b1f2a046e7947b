import CivitasCore
import Foundation
import SQLKit

/// Someone who hears about a request: its reporter, or a resident who said "me too".
public struct Follower: Sendable, Equatable {
    public enum Kind: String, Sendable { case reporter, follower }
    public var id: Int64
    public var requestID: Int64
    public var email: String
    public var userID: Int64?
    public var kind: Kind
    public var language: Language
    public var unsubscribeToken: String
}

/// A report in progress on the web, kept between its pages (any instance can serve the next page).
public struct ReportDraftStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// A new empty draft; returns its id (random, stored hashed).
    public func create(jurisdictionID: String, lifetime: TimeInterval = 6 * 3600, now: Date = Date()) async throws -> String {
        let id = SecureRandom.token(bytes: 20)
        try await database.transaction { sql in
            try await sql.insert(into: "report_drafts").columns("id_hash", "jurisdiction_id", "data", "created_at", "expires_at")
                .values(
                    SQLBind(SecureRandom.sha256Hex(id)), SQLBind(jurisdictionID), SQLBind("{}"), SQLBind(Clock.millis(now)),
                    SQLBind(Clock.millis(now.addingTimeInterval(lifetime)))
                ).run()
        }
        return id
    }

    /// The draft's answers (each name with its values, as a form has them), or nil when it does not exist or has expired.
    public func load(_ id: String, jurisdictionID: String, now: Date = Date()) async throws -> [String: [String]]? {
        guard id.count == 40, id.allSatisfy(\.isHexDigit) else { return nil }
        return try await database.read { sql in
            guard
                let row = try await sql.select().columns("data", "expires_at").from("report_drafts")
                    .where("id_hash", .equal, SecureRandom.sha256Hex(id)).where("jurisdiction_id", .equal, jurisdictionID).first(),
                try row.decode(column: "expires_at", as: Int64.self) > Clock.millis(now)
            else { return nil }
            return try? JSONDecoder().decode([String: [String]].self, from: Data(try row.decode(column: "data", as: String.self).utf8))
        }
    }

    public func save(_ id: String, data: [String: [String]], jurisdictionID: String) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(data), as: UTF8.self)
        try await database.transaction { sql in
            try await sql.update("report_drafts").set("data", to: text).where("id_hash", .equal, SecureRandom.sha256Hex(id))
                .where("jurisdiction_id", .equal, jurisdictionID).run()
        }
    }

    public func delete(_ id: String, sql: any SQLDatabase) async throws {
        try await sql.delete(from: "report_drafts").where("id_hash", .equal, SecureRandom.sha256Hex(id)).run()
    }

    public func delete(_ id: String) async throws {
        try await database.transaction { sql in try await delete(id, sql: sql) }
    }

    /// Drops expired drafts; returns how many.
    @discardableResult
    public func purge(now: Date = Date()) async throws -> Int {
        try await database.transaction { sql in
            let rows = try await sql.delete(from: "report_drafts").where("expires_at", .lessThan, Clock.millis(now)).returning("id_hash").all()
            return rows.count
        }
    }
}
