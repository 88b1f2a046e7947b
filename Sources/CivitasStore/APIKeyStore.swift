import CivitasCore
import Foundation
import SQLKit

/// A key an Open311 client uses to submit requests.
public struct APIKey: Sendable, Equatable {
    public var id: Int64
    public var jurisdictionID: String
    public var name: String
}

/// API keys, stored as SHA-256 hashes only: the key itself is shown once, when it is made.
public struct APIKeyStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// Makes a new key and returns it in clear; only its hash is kept.
    public func create(name: String, jurisdictionID: String, now: Date = Date()) async throws -> (APIKey, String) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 200 else {
            throw CivitasError.invalid("api_key_name_invalid", "The key needs a name of 1 to 200 characters.", field: "name")
        }
        let key = "civ_" + SecureRandom.token(bytes: 24)
        let id = try await database.transaction { sql in
            try await sql.insert(into: "api_keys").columns("jurisdiction_id", "name", "key_hash", "created_at")
                .values(
                    SQLBind(jurisdictionID), SQLBind(trimmed), SQLBind(SecureRandom.sha256Hex(key)),
                    SQLBind(Clock.millis(now))
                )
                .returning("id").first()?.decode(column: "id", as: Int64.self)
        }
        guard let id else {
            throw CivitasError(.unavailable, code: "insert_failed", message: "The key could not be stored.")
        }
        return (APIKey(id: id, jurisdictionID: jurisdictionID, name: trimmed), key)
    }

    /// The live key matching `key` in this jurisdiction, if any.
    public func verify(_ key: String, jurisdictionID: String) async throws -> APIKey? {
        try await database.read { sql in
            try await sql.select().columns("id", "jurisdiction_id", "name").from("api_keys")
                .where("key_hash", .equal, SecureRandom.sha256Hex(key))
                .where("jurisdiction_id", .equal, jurisdictionID)
                .where("revoked_at", .is, SQLLiteral.null).first()
                .map { row in
                    APIKey(
                        id: try row.decode(column: "id", as: Int64.self),
                        jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
                        name: try row.decode(column: "name", as: String.self))
                }
        }
    }
}
