import CivitasCore
import Foundation
import SQLKit

/// A key an Open311 client uses to submit requests.
public struct APIKey: Sendable, Equatable {
    public var id: Int64
    public var jurisdictionID: String
    public var name: String
    /// Who answers for the key: a person or organisation to contact about its use.
    public var owner: String?
    public var createdAt: Date = Date(timeIntervalSince1970: 0)
    public var revoked = false
}

/// API keys, stored as SHA-256 hashes only: the key itself is shown once, when it is made.
public struct APIKeyStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// Makes a new key and returns it in clear; only its hash is kept.
    public func create(name: String, owner: String? = nil, jurisdictionID: String, actor: String = "cli", now: Date = Date()) async throws -> (
        APIKey, String
    ) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 200 else {
            throw CivitasError.invalid("api_key_name_invalid", "The key needs a name of 1 to 200 characters.", field: "name")
        }
        let key = "civ_" + SecureRandom.token(bytes: 24)
        let id = try await database.transaction { sql in
            let id = try await sql.insert(into: "api_keys").columns("jurisdiction_id", "name", "owner", "key_hash", "created_at")
                .values(
                    SQLBind(jurisdictionID), SQLBind(trimmed), SQLBind(owner), SQLBind(SecureRandom.sha256Hex(key)),
                    SQLBind(Clock.millis(now))
                )
                .returning("id").first()?.decode(column: "id", as: Int64.self)
            if let id {
                try await AuditStore.append(
                    AuditEvent(actor: actor, action: "apikey.create", subject: "api_key:\(id)", source: "cli"),
                    jurisdictionID: jurisdictionID, at: now, sql: sql)
            }
            return id
        }
        guard let id else {
            throw CivitasError(.unavailable, code: "insert_failed", message: "The key could not be stored.")
        }
        return (APIKey(id: id, jurisdictionID: jurisdictionID, name: trimmed, owner: owner, createdAt: Clock.date(Clock.millis(now))), key)
    }

    /// The live key matching `key` in this jurisdiction, if any.
    public func verify(_ key: String, jurisdictionID: String) async throws -> APIKey? {
        try await database.read { sql in
            try await sql.select().columns("id", "jurisdiction_id", "name", "owner", "created_at", "revoked_at").from("api_keys")
                .where("key_hash", .equal, SecureRandom.sha256Hex(key))
                .where("jurisdiction_id", .equal, jurisdictionID)
                .where("revoked_at", .is, SQLLiteral.null).first()
                .map(Self.decode)
        }
    }

    public func list(jurisdictionID: String) async throws -> [APIKey] {
        try await database.read { sql in
            try await sql.select().columns("id", "jurisdiction_id", "name", "owner", "created_at", "revoked_at").from("api_keys")
                .where("jurisdiction_id", .equal, jurisdictionID).orderBy("id").all()
                .map(Self.decode)
        }
    }

    /// Stops a key from working from now on; recorded in the audit chain.
    public func revoke(id: Int64, jurisdictionID: String, actor: String, now: Date = Date()) async throws {
        try await database.transaction { sql in
            let found = try await sql.select().column("id").from("api_keys").where("id", .equal, id)
                .where("jurisdiction_id", .equal, jurisdictionID).first()
            guard found != nil else { throw CivitasError.notFound("api_key_not_found", "There is no API key \(id).") }
            try await sql.update("api_keys").set("revoked_at", to: Clock.millis(now)).where("id", .equal, id).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "apikey.revoke", subject: "api_key:\(id)", source: "cli"),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }

    static func decode(_ row: any SQLRow) throws -> APIKey {
        APIKey(
            id: try row.decode(column: "id", as: Int64.self),
            jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            owner: try row.decode(column: "owner", as: String?.self),
            createdAt: Clock.date(try row.decode(column: "created_at", as: Int64.self)),
            revoked: try row.decode(column: "revoked_at", as: Int64?.self) != nil)
    }
}
