import CivitasCore
import Foundation
import SQLKit

/// A message waiting in the outbox.
public struct OutboxMail: Sendable, Equatable {
    public var id: Int64
    public var jurisdictionID: String
    public var recipient: String
    public var subject: String
    public var body: String
    public var unsubscribeURL: String?
    public var attempts: Int
}

/// Mail to send, written in the same transaction as the action that causes it, and sent by a worker with retries.
public struct MailOutboxStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    public static func enqueue(
        to recipient: String, subject: String, body: String, unsubscribeURL: String? = nil, jurisdictionID: String,
        now: Date = Date(), sql: any SQLDatabase
    ) async throws {
        try await sql.insert(into: "mail_outbox")
            .columns(
                "jurisdiction_id", "recipient", "subject", "body", "unsubscribe_url", "created_at", "attempts", "next_attempt_at"
            )
            .values(
                SQLBind(jurisdictionID), SQLBind(recipient), SQLBind(subject), SQLBind(body), SQLBind(unsubscribeURL),
                SQLBind(Clock.millis(now)), SQLBind(0), SQLBind(Clock.millis(now))
            ).run()
    }

    public func enqueue(to recipient: String, subject: String, body: String, jurisdictionID: String) async throws {
        try await database.transaction { sql in
            try await Self.enqueue(to: recipient, subject: subject, body: body, jurisdictionID: jurisdictionID, sql: sql)
        }
    }

    /// Claims up to `limit` due messages for `lease` (another instance will not take them meanwhile).
    public func claimDue(limit: Int = 20, lease: TimeInterval = 120, now: Date = Date()) async throws -> [OutboxMail] {
        try await database.transaction { sql in
            let select = sql.select().column("*").from("mail_outbox")
                .where("sent_at", .is, SQLLiteral.null).where("failed_at", .is, SQLLiteral.null)
                .where("next_attempt_at", .lessThanOrEqual, Clock.millis(now)).orderBy("id").limit(limit)
            if sql.dialect.name == "postgresql" { select.lockingClause(SQLRaw("FOR UPDATE SKIP LOCKED")) }
            let mails = try await select.all().map { row in
                OutboxMail(
                    id: try row.decode(column: "id", as: Int64.self),
                    jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
                    recipient: try row.decode(column: "recipient", as: String.self),
                    subject: try row.decode(column: "subject", as: String.self),
                    body: try row.decode(column: "body", as: String.self),
                    unsubscribeURL: try row.decode(column: "unsubscribe_url", as: String?.self),
                    attempts: try row.decode(column: "attempts", as: Int.self))
            }
            if !mails.isEmpty {
                try await sql.update("mail_outbox").set("next_attempt_at", to: Clock.millis(now.addingTimeInterval(lease)))
                    .where("id", .in, SQLBind.group(mails.map(\.id))).run()
            }
            return mails
        }
    }

    public func markSent(id: Int64, now: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.update("mail_outbox").set("sent_at", to: Clock.millis(now)).where("id", .equal, id).run()
        }
    }

    /// Records a failed attempt: retried with exponential backoff (30 s doubling, at most 6 h), given up after
    /// `maxAttempts` or at once when the failure is permanent.
    public func markFailed(id: Int64, attempts: Int, error: String, permanent: Bool, maxAttempts: Int = 10, now: Date = Date())
        async throws
    {
        let attempt = attempts + 1
        try await database.transaction { sql in
            let update = sql.update("mail_outbox").set("attempts", to: attempt).set("last_error", to: String(error.prefix(500)))
            if permanent || attempt >= maxAttempts {
                update.set("failed_at", to: Clock.millis(now))
            } else {
                let delay = min(6 * 3600, 30 * pow(2, Double(attempt - 1)))
                update.set("next_attempt_at", to: Clock.millis(now.addingTimeInterval(delay)))
            }
            try await update.where("id", .equal, id).run()
        }
    }

    public struct Counts: Sendable, Equatable {
        public var pending: Int
        public var sent: Int
        public var failed: Int
    }

    public func counts() async throws -> Counts {
        try await database.read { sql in
            let rows = try await sql.select().columns("sent_at", "failed_at").from("mail_outbox").all()
            var counts = Counts(pending: 0, sent: 0, failed: 0)
            for row in rows {
                if try row.decode(column: "sent_at", as: Int64?.self) != nil {
                    counts.sent += 1
                } else if try row.decode(column: "failed_at", as: Int64?.self) != nil {
                    counts.failed += 1
                } else {
                    counts.pending += 1
                }
            }
            return counts
        }
    }
}
