import CivitasStore
import Foundation

/// Per-minute limits kept in the database, so they hold across every instance.
struct RateLimiter: Sendable {
    let store: RateLimitStore

    /// Counts one hit; throws a 429 problem when the bucket is over its limit.
    func check(_ bucket: String, limit: Int, window: TimeInterval = 60) async throws {
        let outcome = try await store.hit(bucket, limit: limit, window: window)
        guard outcome.allowed else { throw Problem.rateLimited(retryAfter: outcome.retryAfter) }
    }

    /// Counts one hit and returns the seconds to wait when over the limit, nil when allowed.
    func exceeded(_ bucket: String, limit: Int, window: TimeInterval = 60) async throws -> Int? {
        let outcome = try await store.hit(bucket, limit: limit, window: window)
        return outcome.allowed ? nil : outcome.retryAfter
    }
}
