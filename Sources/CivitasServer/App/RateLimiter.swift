import CivitasStore
import Foundation

/// Per-minute limits. With PostgreSQL (many instances) they are counted in the database, so they hold across
/// every instance; with SQLite there is exactly one instance, so they are counted in its memory and cost no write.
struct RateLimiter: Sendable {
    enum Backend: Sendable {
        case database(RateLimitStore)
        case memory(MemoryRateCounter)
    }

    let backend: Backend

    init(stores: Stores) {
        backend = stores.database.engine == .postgres ? .database(stores.rateLimits) : .memory(MemoryRateCounter())
    }

    /// Counts one hit; throws a 429 problem when the bucket is over its limit.
    func check(_ bucket: String, limit: Int, window: TimeInterval = 60) async throws {
        if let wait = try await exceeded(bucket, limit: limit, window: window) { throw Problem.rateLimited(retryAfter: wait) }
    }

    /// Counts one hit and returns the seconds to wait when over the limit, nil when allowed.
    func exceeded(_ bucket: String, limit: Int, window: TimeInterval = 60) async throws -> Int? {
        let outcome: RateLimitStore.Outcome
        switch backend {
        case .database(let store): outcome = try await store.hit(bucket, limit: limit, window: window)
        case .memory(let counter): outcome = await counter.hit(bucket, limit: limit, window: window)
        }
        return outcome.allowed ? nil : outcome.retryAfter
    }
}

/// Fixed-window counters in one process, dropped when their window ends.
actor MemoryRateCounter {
    private var windows: [String: (start: Int64, hits: Int)] = [:]
    private var lastSweep: Int64 = 0

    func hit(_ bucket: String, limit: Int, window: TimeInterval, now: Date = Date()) -> RateLimitStore.Outcome {
        let windowMs = max(Int64(1), Int64(window * 1000))
        let nowMs = Int64(now.timeIntervalSince1970 * 1000)
        let start = nowMs - nowMs % windowMs
        if nowMs - lastSweep > windowMs {
            windows = windows.filter { $0.value.start >= start - windowMs }
            lastSweep = nowMs
        }
        var entry = windows[bucket] ?? (start, 0)
        if entry.start != start { entry = (start, 0) }
        entry.hits += 1
        windows[bucket] = entry
        let retry = Int(((start + windowMs - nowMs) + 999) / 1000)
        return RateLimitStore.Outcome(allowed: entry.hits <= limit, hits: entry.hits, retryAfter: max(1, retry))
    }
}
