import Synchronization

/// A small in-process cache whose entries live for a fixed time. It keeps hot reads (API keys, service
/// definitions, public request status) off the database; with several instances, a change made elsewhere
/// shows within one TTL. A TTL of zero turns caching off.
final class TTLCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let ttl: Duration
    private let capacity: Int

    init(ttl: Duration, capacity: Int = 10_000) {
        self.ttl = ttl
        self.capacity = capacity
    }

    /// The cached value, or what `load` returns (cached unless nil: misses are not remembered).
    func value(_ key: Key, load: () async throws -> Value?) async throws -> Value? {
        guard ttl > .zero else { return try await load() }
        let now = ContinuousClock.now
        if let hit = entries.withLock({ $0[key] }), hit.expires > now { return hit.value }
        guard let value = try await load() else { return nil }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(value: value, expires: now + ttl)
        }
        return value
    }

    func remove(_ key: Key) {
        _ = entries.withLock { $0.removeValue(forKey: key) }
    }
}
