import CivitasCore
import Foundation
import SQLKit

/// A person with an account: a resident, or a staff member with a role in some departments.
public struct User: Sendable, Equatable {
    public enum Kind: String, Sendable { case resident, staff }

    public var id: Int64
    public var jurisdictionID: String
    /// Personal data.
    public var email: String
    public var kind: Kind
    public var role: StaffRole?
    public var departments: DepartmentScope
    public var passwordHash: String?
    public var emailVerified: Bool
    public var totpSecret: String?
    public var totpEnabled: Bool
    public var failedLogins: Int
    public var lockedUntil: Date?
    public var createdAt: Date
    public var disabled: Bool
    /// Personal data: the name the person asked us to use, and a phone number to reach them on ("" when not given).
    public var displayName = ""
    public var phone = ""

    /// The person id under which the audit chain files accesses to this user's data.
    public var person: String { "user:\(id)" }
}

/// Accounts, their one-time tokens (verification, reset, set-up) and second-factor state.
public struct UserStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    public static func normalize(email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// Checks the shape of an address: one `@`, a dot in the domain, no spaces, at most 254 characters.
    public static func validate(email: String) throws -> String {
        let email = normalize(email: email)
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard email.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
            !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            !email.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," || $0 == ";" })
        else {
            throw CivitasError.invalid("email_invalid", "Enter an email address like name@example.com.", field: "email")
        }
        return email
    }

    /// Creates an account and writes `user.create` to the audit chain in the same transaction.
    public func create(
        email: String, kind: User.Kind, role: StaffRole?, departments: DepartmentScope, passwordHash: String?,
        jurisdictionID: String, actor: String, source: String?, now: Date = Date()
    ) async throws -> User {
        let email = try Self.validate(email: email)
        let stamp = Clock.millis(now)
        let id: Int64 = try await database.transaction { sql in
            let existing = try await sql.select().column("id").from("users")
                .where("jurisdiction_id", .equal, jurisdictionID).where("email", .equal, email).first()
            guard existing == nil else {
                throw CivitasError(.conflict, code: "email_taken", message: "There is already an account for that email address.", field: "email")
            }
            guard
                let id = try await sql.insert(into: "users")
                    .columns(
                        "jurisdiction_id", "email", "kind", "role", "departments", "password_hash", "failed_logins", "created_at"
                    )
                    .values(
                        SQLBind(jurisdictionID), SQLBind(email), SQLBind(kind.rawValue), SQLBind(role?.rawValue),
                        SQLBind(departments.stored), SQLBind(passwordHash), SQLBind(0), SQLBind(stamp)
                    )
                    .returning("id").first()?.decode(column: "id", as: Int64.self)
            else { throw CivitasError(.unavailable, code: "insert_failed", message: "The account could not be stored.") }
            try await AuditStore.append(
                AuditEvent(
                    actor: actor, action: "user.create", subject: "user:\(id)", person: "user:\(id)", fields: ["email"],
                    source: source),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
            return id
        }
        guard let user = try await find(id: id) else {
            throw CivitasError(.unavailable, code: "insert_failed", message: "The account could not be stored.")
        }
        return user
    }

    public func find(id: Int64) async throws -> User? {
        try await database.read { sql in
            try await sql.select().column("*").from("users").where("id", .equal, id)
                .where("deleted_at", .is, SQLLiteral.null).first().map(Self.decode)
        }
    }

    public func find(email: String, jurisdictionID: String) async throws -> User? {
        try await database.read { sql in
            try await sql.select().column("*").from("users").where("jurisdiction_id", .equal, jurisdictionID)
                .where("email", .equal, Self.normalize(email: email)).where("deleted_at", .is, SQLLiteral.null)
                .first().map(Self.decode)
        }
    }

    public func list(jurisdictionID: String, kind: User.Kind? = nil) async throws -> [User] {
        try await database.read { sql in
            let select = sql.select().column("*").from("users").where("jurisdiction_id", .equal, jurisdictionID)
                .where("deleted_at", .is, SQLLiteral.null)
            if let kind { select.where("kind", .equal, kind.rawValue) }
            return try await select.orderBy("id").all().map(Self.decode)
        }
    }

    /// Counts a failed sign-in; after `lockAfter` in a row the account is locked for `lockFor`. Returns the user as updated.
    public func recordFailedSignIn(id: Int64, lockAfter: Int, lockFor: TimeInterval, now: Date = Date()) async throws {
        try await database.transaction { sql in
            guard let row = try await sql.select().column("failed_logins").from("users").where("id", .equal, id).first() else {
                return
            }
            let failures = try row.decode(column: "failed_logins", as: Int.self) + 1
            let update = sql.update("users")
            if failures >= lockAfter {
                update.set("failed_logins", to: 0).set("locked_until", to: Clock.millis(now.addingTimeInterval(lockFor)))
            } else {
                update.set("failed_logins", to: failures)
            }
            try await update.where("id", .equal, id).run()
        }
    }

    public func recordSuccessfulSignIn(id: Int64) async throws {
        try await database.transaction { sql in
            try await sql.update("users").set("failed_logins", to: 0).set("locked_until", to: SQLLiteral.null)
                .where("id", .equal, id).run()
        }
    }

    public func setPassword(id: Int64, hash: String, verifiesEmail: Bool) async throws {
        try await database.transaction { sql in
            let update = sql.update("users").set("password_hash", to: hash).set("failed_logins", to: 0)
                .set("locked_until", to: SQLLiteral.null)
            if verifiesEmail { update.set("email_verified_at", to: Clock.millis(Date())) }
            try await update.where("id", .equal, id).run()
        }
    }

    public func markEmailVerified(id: Int64, now: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.update("users").set("email_verified_at", to: Clock.millis(now)).where("id", .equal, id).run()
        }
    }

    /// Stores a new, not yet confirmed second-factor secret.
    public func setPendingTOTP(id: Int64, secret: String) async throws {
        try await database.transaction { sql in
            try await sql.update("users").set("totp_secret", to: secret).set("totp_enabled_at", to: SQLLiteral.null)
                .where("id", .equal, id).run()
        }
    }

    /// Turns the second factor on and replaces the recovery codes (stored as hashes) in one transaction.
    public func enableTOTP(id: Int64, step: Int64, recoveryCodeHashes: [String], now: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.update("users").set("totp_enabled_at", to: Clock.millis(now)).set("totp_last_step", to: step)
                .where("id", .equal, id).run()
            try await sql.delete(from: "recovery_codes").where("user_id", .equal, id).run()
            for hash in recoveryCodeHashes {
                try await sql.insert(into: "recovery_codes").columns("user_id", "code_hash").values(SQLBind(id), SQLBind(hash)).run()
            }
        }
    }

    /// Accepts a time step once: a code already used (or an older one) is refused, so a seen code cannot be replayed.
    public func useTOTPStep(id: Int64, step: Int64) async throws -> Bool {
        try await database.transaction { sql in
            let row = try await sql.select().column("totp_last_step").from("users").where("id", .equal, id).first()
            let last = try row?.decode(column: "totp_last_step", as: Int64?.self) ?? nil
            if let last, step <= last { return false }
            try await sql.update("users").set("totp_last_step", to: step).where("id", .equal, id).run()
            return true
        }
    }

    /// Uses up one recovery code; false when it is unknown or already used.
    public func useRecoveryCode(id: Int64, hash: String, now: Date = Date()) async throws -> Bool {
        try await database.transaction { sql in
            guard
                let row = try await sql.select().column("id").from("recovery_codes").where("user_id", .equal, id)
                    .where("code_hash", .equal, hash).where("used_at", .is, SQLLiteral.null).first()
            else { return false }
            let codeID = try row.decode(column: "id", as: Int64.self)
            try await sql.update("recovery_codes").set("used_at", to: Clock.millis(now)).where("id", .equal, codeID).run()
            return true
        }
    }

    public func unusedRecoveryCodes(id: Int64) async throws -> Int {
        try await database.read { sql in
            try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("recovery_codes")
                .where("user_id", .equal, id).where("used_at", .is, SQLLiteral.null).first()?
                .decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Blocks an account from signing in and ends its sessions and tokens; recorded in the audit chain.
    public func disable(id: Int64, jurisdictionID: String, actor: String, source: String?, now: Date = Date()) async throws {
        try await database.transaction { sql in
            let found = try await sql.select().column("id").from("users").where("id", .equal, id)
                .where("jurisdiction_id", .equal, jurisdictionID).where("deleted_at", .is, SQLLiteral.null).first()
            guard found != nil else { throw CivitasError.notFound("user_not_found", "There is no user \(id).") }
            try await sql.update("users").set("disabled_at", to: Clock.millis(now)).where("id", .equal, id).run()
            try await sql.delete(from: "sessions").where("user_id", .equal, id).run()
            try await sql.update("personal_tokens").set("revoked_at", to: Clock.millis(now)).where("user_id", .equal, id)
                .where("revoked_at", .is, SQLLiteral.null).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "user.disable", subject: "user:\(id)", source: source),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }

    /// Deletes a resident's account: the address and password are erased, their sessions and tokens end, and the
    /// contact details on their requests are removed; the requests stay (the problem still exists), unlinked.
    public func deleteAccount(id: Int64, jurisdictionID: String, source: String?, now: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.update("users").set("email", to: "deleted-\(id)@invalid").set("password_hash", to: SQLLiteral.null)
                .set("totp_secret", to: SQLLiteral.null).set("deleted_at", to: Clock.millis(now))
                .where("id", .equal, id).where("jurisdiction_id", .equal, jurisdictionID).run()
            try await sql.delete(from: "sessions").where("user_id", .equal, id).run()
            try await sql.delete(from: "user_tokens").where("user_id", .equal, id).run()
            try await sql.delete(from: "recovery_codes").where("user_id", .equal, id).run()
            try await sql.update("service_requests")
                .set("email", to: SQLLiteral.null).set("first_name", to: SQLLiteral.null)
                .set("last_name", to: SQLLiteral.null).set("phone", to: SQLLiteral.null)
                .set("device_id", to: SQLLiteral.null).set("account_id", to: SQLLiteral.null)
                .set("resident_id", to: SQLLiteral.null)
                .where("jurisdiction_id", .equal, jurisdictionID).where("resident_id", .equal, id).run()
            try await AuditStore.append(
                AuditEvent(
                    actor: "resident:\(id)", action: "user.delete", subject: "user:\(id)", person: "user:\(id)",
                    fields: ["email", "first_name", "last_name", "phone"], source: source),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }

    // MARK: one-time tokens

    public enum TokenPurpose: String, Sendable {
        case verifyEmail = "verify_email"
        case resetPassword = "reset_password"
        /// A staff account's first password, from `civitas users add`.
        case setUp = "set_up"
    }

    /// Makes a single-use token; only its hash is stored.
    public func issueToken(userID: Int64, jurisdictionID: String, purpose: TokenPurpose, lifetime: TimeInterval, now: Date = Date())
        async throws -> String
    {
        let token = SecureRandom.token(bytes: 32)
        try await database.transaction { sql in
            try await sql.insert(into: "user_tokens")
                .columns("token_hash", "jurisdiction_id", "user_id", "purpose", "created_at", "expires_at")
                .values(
                    SQLBind(SecureRandom.sha256Hex(token)), SQLBind(jurisdictionID), SQLBind(userID), SQLBind(purpose.rawValue),
                    SQLBind(Clock.millis(now)), SQLBind(Clock.millis(now.addingTimeInterval(lifetime)))
                ).run()
        }
        return token
    }

    /// The user a live token belongs to, without using it up (to show the form it leads to).
    public func peekToken(_ token: String, purposes: [TokenPurpose], jurisdictionID: String, now: Date = Date()) async throws -> Int64? {
        try await database.read { sql in
            try await Self.liveToken(token, purposes: purposes, jurisdictionID: jurisdictionID, now: now, sql: sql)
        }
    }

    /// Uses up a token and returns its user, or nil when it is unknown, used, expired or for another purpose.
    public func consumeToken(_ token: String, purposes: [TokenPurpose], jurisdictionID: String, now: Date = Date()) async throws -> Int64? {
        try await database.transaction { sql in
            guard let user = try await Self.liveToken(token, purposes: purposes, jurisdictionID: jurisdictionID, now: now, sql: sql)
            else { return nil }
            try await sql.update("user_tokens").set("used_at", to: Clock.millis(now))
                .where("token_hash", .equal, SecureRandom.sha256Hex(token)).run()
            return user
        }
    }

    static func liveToken(_ token: String, purposes: [TokenPurpose], jurisdictionID: String, now: Date, sql: any SQLDatabase)
        async throws -> Int64?
    {
        try await sql.select().column("user_id").from("user_tokens")
            .where("token_hash", .equal, SecureRandom.sha256Hex(token)).where("jurisdiction_id", .equal, jurisdictionID)
            .where("purpose", .in, SQLBind.group(purposes.map(\.rawValue))).where("used_at", .is, SQLLiteral.null)
            .where("expires_at", .greaterThan, Clock.millis(now)).first()?.decode(column: "user_id", as: Int64.self)
    }

    static func decode(_ row: any SQLRow) throws -> User {
        User(
            id: try row.decode(column: "id", as: Int64.self),
            jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
            email: try row.decode(column: "email", as: String.self),
            kind: User.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .resident,
            role: try row.decode(column: "role", as: String?.self).flatMap(StaffRole.init(rawValue:)),
            departments: DepartmentScope(stored: try row.decode(column: "departments", as: String.self)),
            passwordHash: try row.decode(column: "password_hash", as: String?.self),
            emailVerified: try row.decode(column: "email_verified_at", as: Int64?.self) != nil,
            totpSecret: try row.decode(column: "totp_secret", as: String?.self),
            totpEnabled: try row.decode(column: "totp_enabled_at", as: Int64?.self) != nil,
            failedLogins: try row.decode(column: "failed_logins", as: Int.self),
            lockedUntil: try row.decode(column: "locked_until", as: Int64?.self).map(Clock.date),
            createdAt: Clock.date(try row.decode(column: "created_at", as: Int64.self)),
            disabled: try row.decode(column: "disabled_at", as: Int64?.self) != nil,
            displayName: try row.decode(column: "display_name", as: String.self), phone: try row.decode(column: "phone", as: String.self))
    }
}
