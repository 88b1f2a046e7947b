import CivitasCore
import Foundation
import SQLKit

/// A signed-in browser. The cookie holds a random id; the database holds only its hash, so any instance can
/// serve any request and a stolen database does not yield live cookies.
public struct Session: Sendable, Equatable {
    public var idHash: String
    public var jurisdictionID: String
    public var userID: Int64
    public var csrfToken: String
    /// When the second factor was given in this session; staff count as staff only after it.
    public var secondFactorAt: Date?
    public var createdAt: Date
    public var lastSeenAt: Date
    public var expiresAt: Date
}

public struct SessionStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// Starts a new session with a fresh random id (never one the browser offered: no session fixation).
    public func create(
        userID: Int64, jurisdictionID: String, secondFactor: Bool, lifetime: TimeInterval, now: Date = Date()
    ) async throws -> (cookie: String, session: Session) {
        let cookie = SecureRandom.token(bytes: 32)
        let session = Session(
            idHash: SecureRandom.sha256Hex(cookie), jurisdictionID: jurisdictionID, userID: userID,
            csrfToken: SecureRandom.token(bytes: 32), secondFactorAt: secondFactor ? now : nil,
            createdAt: now, lastSeenAt: now, expiresAt: now.addingTimeInterval(lifetime))
        try await database.transaction { sql in
            try await sql.insert(into: "sessions")
                .columns(
                    "id_hash", "jurisdiction_id", "user_id", "csrf_token", "second_factor_at", "created_at", "last_seen_at",
                    "expires_at"
                )
                .values(
                    SQLBind(session.idHash), SQLBind(jurisdictionID), SQLBind(userID), SQLBind(session.csrfToken),
                    SQLBind(session.secondFactorAt.map(Clock.millis)), SQLBind(Clock.millis(now)), SQLBind(Clock.millis(now)),
                    SQLBind(Clock.millis(session.expiresAt))
                ).run()
        }
        return (cookie, session)
    }

    /// The live session for a cookie: not past its absolute end, not idle longer than `idle`. Seen-times are
    /// refreshed at most once a minute, so a busy page does not write on every request.
    public func find(cookie: String, idle: TimeInterval, now: Date = Date()) async throws -> Session? {
        let hash = SecureRandom.sha256Hex(cookie)
        guard
            let session = try await database.read({ sql in
                try await sql.select().column("*").from("sessions").where("id_hash", .equal, hash).first().map(Self.decode)
            })
        else { return nil }
        if session.expiresAt <= now || session.lastSeenAt.addingTimeInterval(idle) <= now {
            try await delete(cookie: cookie)
            return nil
        }
        if now.timeIntervalSince(session.lastSeenAt) > 60 {
            try await database.transaction { sql in
                try await sql.update("sessions").set("last_seen_at", to: Clock.millis(now)).where("id_hash", .equal, hash).run()
            }
        }
        return session
    }

    public func markSecondFactor(idHash: String, now: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.update("sessions").set("second_factor_at", to: Clock.millis(now)).where("id_hash", .equal, idHash).run()
        }
    }

    public func delete(cookie: String) async throws {
        let hash = SecureRandom.sha256Hex(cookie)
        try await database.transaction { sql in
            try await sql.delete(from: "sessions").where("id_hash", .equal, hash).run()
        }
    }

    /// Signs a user out everywhere.
    public func deleteAll(userID: Int64) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "sessions").where("user_id", .equal, userID).run()
        }
    }

    /// Signs a user out of every session but `idHash` (after a password change, the one that changed it stays).
    public func deleteOthers(userID: Int64, keeping idHash: String) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "sessions").where("user_id", .equal, userID).where("id_hash", .notEqual, idHash).run()
        }
    }

    public func count(userID: Int64) async throws -> Int {
        try await database.read { sql in
            try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("sessions")
                .where("user_id", .equal, userID).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Removes ended sessions.
    public func purge(idle: TimeInterval, now: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "sessions")
                .where("expires_at", .lessThanOrEqual, Clock.millis(now))
                .orWhere("last_seen_at", .lessThanOrEqual, Clock.millis(now.addingTimeInterval(-idle))).run()
        }
    }

    static func decode(_ row: any SQLRow) throws -> Session {
        Session(
            idHash: try row.decode(column: "id_hash", as: String.self),
            jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
            userID: try row.decode(column: "user_id", as: Int64.self),
            csrfToken: try row.decode(column: "csrf_token", as: String.self),
            secondFactorAt: try row.decode(column: "second_factor_at", as: Int64?.self).map(Clock.date),
            createdAt: Clock.date(try row.decode(column: "created_at", as: Int64.self)),
            lastSeenAt: Clock.date(try row.decode(column: "last_seen_at", as: Int64.self)),
            expiresAt: Clock.date(try row.decode(column: "expires_at", as: Int64.self)))
    }
}
