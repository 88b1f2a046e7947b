import CivitasCore
import Foundation
import SQLKit

/// Fixed-window counters in the database, so a limit holds across every instance behind a load balancer.
public struct RateLimitStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    public struct Outcome: Sendable, Equatable {
        public var allowed: Bool
        public var hits: Int
        /// Seconds until the window resets, for `Retry-After`.
        public var retryAfter: Int

        public init(allowed: Bool, hits: Int, retryAfter: Int) {
            self.allowed = allowed
            self.hits = hits
            self.retryAfter = retryAfter
        }
    }

    /// Counts one hit on `bucket` and says whether it is within `limit` per `window`.
    public func hit(_ bucket: String, limit: Int, window: TimeInterval, now: Date = Date()) async throws -> Outcome {
        let windowMs = max(Int64(1), Int64(window * 1000))
        let nowMs = Clock.millis(now)
        let start = nowMs - nowMs % windowMs
        let hits: Int = try await database.transaction { sql in
            // A count lost in a crash costs nothing; do not wait for the disk.
            if sql.dialect.name == "postgresql" { try await sql.raw("SET LOCAL synchronous_commit = off").run() }
            let row = try await sql.insert(into: "rate_limits").columns("bucket", "window_start", "hits")
                .values(SQLBind(bucket), SQLBind(start), SQLBind(1))
                .onConflict(with: ["bucket", "window_start"]) { conflict in
                    conflict.set(
                        SQLIdentifier("hits"), to: SQLBinaryExpression(SQLColumn("hits", table: "rate_limits"), .add, SQLLiteral.numeric("1")))
                }
                .returning("hits").first()
            return try row?.decode(column: "hits", as: Int.self) ?? 1
        }
        let retry = Int(((start + windowMs - nowMs) + 999) / 1000)
        return Outcome(allowed: hits <= limit, hits: hits, retryAfter: max(1, retry))
    }

    /// Drops windows that ended before `cutoff`.
    public func purge(before cutoff: Date) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "rate_limits").where("window_start", .lessThan, Clock.millis(cutoff)).run()
        }
    }
}
