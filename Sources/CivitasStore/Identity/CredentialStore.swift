import CivitasCore
import Foundation
import SQLKit

/// A partner system registered for OAuth 2.0 client credentials.
public struct OAuthClient: Sendable, Equatable {
    public var id: String
    public var jurisdictionID: String
    public var name: String
    public var scopes: [Scope]
    public var departments: DepartmentScope
    public var createdAt: Date
    public var revoked: Bool
}

/// A staff member's personal API token: acts as them, narrowed to its scopes.
public struct PersonalToken: Sendable, Equatable {
    public var id: Int64
    public var jurisdictionID: String
    public var userID: Int64
    public var name: String
    public var scopes: [Scope]
    public var expiresAt: Date?
}

/// Partner clients, personal tokens and the install's signing secret. Secrets are random and long, so they are
/// stored as SHA-256 hashes and shown once.
public struct CredentialStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    public func createClient(
        name: String, scopes: [Scope], departments: DepartmentScope, jurisdictionID: String, actor: String,
        now: Date = Date()
    ) async throws -> (OAuthClient, secret: String) {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 200 else {
            throw CivitasError.invalid("client_name_invalid", "The client needs a name of 1 to 200 characters.", field: "name")
        }
        guard !scopes.isEmpty else {
            throw CivitasError.invalid("scope_required", "Give the client at least one scope.", field: "scopes")
        }
        let id = "cli_" + SecureRandom.token(bytes: 8)
        let secret = "cls_" + SecureRandom.token(bytes: 32)
        try await database.transaction { sql in
            try await sql.insert(into: "oauth_clients")
                .columns("id", "jurisdiction_id", "name", "secret_hash", "scopes", "departments", "created_at")
                .values(
                    SQLBind(id), SQLBind(jurisdictionID), SQLBind(name), SQLBind(SecureRandom.sha256Hex(secret)),
                    SQLBind(scopes.map(\.rawValue).joined(separator: " ")), SQLBind(departments.stored), SQLBind(Clock.millis(now))
                ).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "client.create", subject: "oauth_client:\(id)", source: "cli"),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
        return (
            OAuthClient(
                id: id, jurisdictionID: jurisdictionID, name: name, scopes: scopes, departments: departments, createdAt: now,
                revoked: false), secret
        )
    }

    /// The client when `secret` is its secret and it is not revoked.
    public func authenticateClient(id: String, secret: String) async throws -> OAuthClient? {
        guard let client = try await client(id: id), !client.revoked else { return nil }
        let stored = try await database.read { sql in
            try await sql.select().column("secret_hash").from("oauth_clients").where("id", .equal, id).first()?
                .decode(column: "secret_hash", as: String.self)
        }
        guard let stored, constantTimeEqual(stored, SecureRandom.sha256Hex(secret)) else { return nil }
        return client
    }

    public func client(id: String) async throws -> OAuthClient? {
        try await database.read { sql in
            try await sql.select().column("*").from("oauth_clients").where("id", .equal, id).first().map(Self.decodeClient)
        }
    }

    public func clients(jurisdictionID: String) async throws -> [OAuthClient] {
        try await database.read { sql in
            try await sql.select().column("*").from("oauth_clients").where("jurisdiction_id", .equal, jurisdictionID)
                .orderBy("created_at").all().map(Self.decodeClient)
        }
    }

    public func revokeClient(id: String, jurisdictionID: String, actor: String, now: Date = Date()) async throws {
        try await database.transaction { sql in
            let found = try await sql.select().column("id").from("oauth_clients").where("id", .equal, id)
                .where("jurisdiction_id", .equal, jurisdictionID).first()
            guard found != nil else { throw CivitasError.notFound("client_not_found", "There is no client \(id).") }
            try await sql.update("oauth_clients").set("revoked_at", to: Clock.millis(now)).where("id", .equal, id).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "client.revoke", subject: "oauth_client:\(id)", source: "cli"),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }

    // MARK: personal tokens

    public func createPersonalToken(
        userID: Int64, name: String, scopes: [Scope], lifetime: TimeInterval?, jurisdictionID: String, source: String? = "cli",
        now: Date = Date()
    ) async throws -> (PersonalToken, token: String) {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= 100 else {
            throw CivitasError.invalid("token_name_invalid", "Give the token a name of 1 to 100 characters.", field: "name")
        }
        guard !scopes.isEmpty else {
            throw CivitasError.invalid("scope_required", "Give the token at least one scope.", field: "scopes")
        }
        let token = "civp_" + SecureRandom.token(bytes: 32)
        let expires = lifetime.map { now.addingTimeInterval($0) }
        let id: Int64 = try await database.transaction { sql in
            guard
                let id = try await sql.insert(into: "personal_tokens")
                    .columns("jurisdiction_id", "user_id", "name", "token_hash", "scopes", "created_at", "expires_at")
                    .values(
                        SQLBind(jurisdictionID), SQLBind(userID), SQLBind(name), SQLBind(SecureRandom.sha256Hex(token)),
                        SQLBind(scopes.map(\.rawValue).joined(separator: " ")), SQLBind(Clock.millis(now)),
                        SQLBind(expires.map(Clock.millis))
                    ).returning("id").first()?.decode(column: "id", as: Int64.self)
            else { throw CivitasError(.unavailable, code: "insert_failed", message: "The token could not be stored.") }
            try await AuditStore.append(
                AuditEvent(actor: "staff:\(userID)", action: "token.create", subject: "personal_token:\(id)", source: source),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
            return id
        }
        return (
            PersonalToken(id: id, jurisdictionID: jurisdictionID, userID: userID, name: name, scopes: scopes, expiresAt: expires),
            token
        )
    }

    /// The live token for a bearer value: not revoked, not expired.
    public func personalToken(_ token: String, now: Date = Date()) async throws -> PersonalToken? {
        try await database.read { sql in
            guard
                let row = try await sql.select().column("*").from("personal_tokens")
                    .where("token_hash", .equal, SecureRandom.sha256Hex(token)).where("revoked_at", .is, SQLLiteral.null).first()
            else { return nil }
            let expires = try row.decode(column: "expires_at", as: Int64?.self).map(Clock.date)
            if let expires, expires <= now { return nil }
            return PersonalToken(
                id: try row.decode(column: "id", as: Int64.self),
                jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
                userID: try row.decode(column: "user_id", as: Int64.self),
                name: try row.decode(column: "name", as: String.self),
                scopes: (try? Scope.parseList(try row.decode(column: "scopes", as: String.self))) ?? [],
                expiresAt: expires)
        }
    }

    /// A staff member's live tokens, newest first.
    public func personalTokens(userID: Int64, now: Date = Date()) async throws -> [PersonalToken] {
        try await database.read { sql in
            try await sql.select().column("*").from("personal_tokens").where("user_id", .equal, userID)
                .where("revoked_at", .is, SQLLiteral.null).orderBy("id", .descending).all()
                .map { row in
                    PersonalToken(
                        id: try row.decode(column: "id", as: Int64.self),
                        jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
                        userID: try row.decode(column: "user_id", as: Int64.self),
                        name: try row.decode(column: "name", as: String.self),
                        scopes: (try? Scope.parseList(try row.decode(column: "scopes", as: String.self))) ?? [],
                        expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(Clock.date))
                }
                .filter { $0.expiresAt.map { $0 > now } ?? true }
        }
    }

    public func revokePersonalToken(id: Int64, jurisdictionID: String, actor: String, source: String? = "cli", now: Date = Date())
        async throws
    {
        try await database.transaction { sql in
            let found = try await sql.select().column("id").from("personal_tokens").where("id", .equal, id)
                .where("jurisdiction_id", .equal, jurisdictionID).first()
            guard found != nil else { throw CivitasError.notFound("token_not_found", "There is no token \(id).") }
            try await sql.update("personal_tokens").set("revoked_at", to: Clock.millis(now)).where("id", .equal, id).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "token.revoke", subject: "personal_token:\(id)", source: source),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }

    // MARK: signing secret

    /// The install's secret for signing access tokens, made on first use and shared by every instance.
    public func signingSecret(name: String = "jwt-hs256") async throws -> String {
        if let existing = try await readSecret(name) { return existing }
        try await database.transaction { sql in
            try await sql.insert(into: "secrets").columns("name", "value", "created_at")
                .values(SQLBind(name), SQLBind(SecureRandom.token(bytes: 32)), SQLBind(Clock.millis(Date())))
                .ignoringConflicts().run()
        }
        guard let value = try await readSecret(name) else {
            throw CivitasError(.unavailable, code: "secret_unavailable", message: "The signing secret could not be stored.")
        }
        return value
    }

    private func readSecret(_ name: String) async throws -> String? {
        try await database.read { sql in
            try await sql.select().column("value").from("secrets").where("name", .equal, name).first()?
                .decode(column: "value", as: String.self)
        }
    }

    static func decodeClient(_ row: any SQLRow) throws -> OAuthClient {
        OAuthClient(
            id: try row.decode(column: "id", as: String.self),
            jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            scopes: (try? Scope.parseList(try row.decode(column: "scopes", as: String.self))) ?? [],
            departments: DepartmentScope(stored: try row.decode(column: "departments", as: String.self)),
            createdAt: Clock.date(try row.decode(column: "created_at", as: Int64.self)),
            revoked: try row.decode(column: "revoked_at", as: Int64?.self) != nil)
    }
}

/// Compares two strings in time that depends only on their length.
public func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for index in x.indices { difference |= x[index] ^ y[index] }
    return difference == 0
}
