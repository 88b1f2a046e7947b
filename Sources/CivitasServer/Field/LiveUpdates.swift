import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// One listener per process on the database's announcement channel (PostgreSQL LISTEN, or the in-process bus on
/// SQLite), fanned out to every live page this process serves. A change made through any instance reaches the
/// live pages of every instance.
final class LiveHub: @unchecked Sendable {
    private let lock = NSLock()
    private var subscribers: [Int: AsyncStream<(jurisdiction: String, ids: [Int64])>.Continuation] = [:]
    private var next = 0
    private var started = false
    private let database: Database

    init(database: Database) { self.database = database }

    /// Starts listening the first time a page subscribes.
    private func startIfNeeded() {
        lock.lock()
        defer { lock.unlock() }
        guard !started else { return }
        started = true
        let stream = database.listen(ServiceRequestStore.liveChannel)
        Task { [weak self] in
            for await payload in stream {
                let parts = payload.split(separator: " ")
                guard let first = parts.first else { continue }
                self?.publish(String(first), parts.dropFirst().compactMap { Int64($0) })
            }
        }
    }

    func subscribe() -> (id: Int, stream: AsyncStream<(jurisdiction: String, ids: [Int64])>) {
        startIfNeeded()
        let (stream, continuation) = AsyncStream<(jurisdiction: String, ids: [Int64])>.makeStream(bufferingPolicy: .bufferingNewest(200))
        lock.lock()
        next += 1
        let id = next
        subscribers[id] = continuation
        lock.unlock()
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(id) }
        return (id, stream)
    }

    func unsubscribe(_ id: Int) {
        lock.lock()
        subscribers[id] = nil
        lock.unlock()
    }

    private func publish(_ jurisdiction: String, _ ids: [Int64]) {
        lock.lock()
        let targets = Array(subscribers.values)
        lock.unlock()
        for continuation in targets { continuation.yield((jurisdiction, ids)) }
    }
}

/// `GET /staff/live`: Server-Sent Events for the staff console's live map and queue. Each event is a request of the
/// staff member's departments that was created, changed, merged or assigned, with what the map needs to draw it.
struct LiveController: Sendable {
    let staff: StaffController
    let hub: LiveHub
    var stores: Stores { staff.stores }
    var jurisdiction: String { staff.configuration.jurisdiction.id }

    /// How far back a reconnecting page is caught up from the database, and how many changes at most; beyond either
    /// it is told to reload.
    static let replayWindow: TimeInterval = 3600
    static let replayLimit = 500

    func addRoutes(to router: Router<CivitasRequestContext>) {
        router.get("staff/live", use: live)
    }

    func live(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let departments = signedIn.user.departments
            // A stream lasts at most `seconds` (default and most 300); the page reconnects, so load balancers can move it.
            let lifetime = request.query.get("seconds").flatMap(Int.init).map { min(max($0, 0), 300) } ?? 300
            let subscription = hub.subscribe()
            // A page that reconnects (through any instance) says what it saw last; what changed since is read from the
            // database and sent first, or, for a gap too long to replay, the page is told to reload.
            let given: String? =
                request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.query.get("lastEventId").map { String($0) }
            let lastSeen = given.flatMap { Int64($0) }.map { Date(timeIntervalSince1970: TimeInterval($0) / 1000) }
            let stores = stores
            let jurisdiction = jurisdiction
            let hub = hub
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"],
                body: ResponseBody { writer in
                    enum Chunk: Sendable {
                        case heartbeat
                        case change([Int64])
                    }
                    let (chunks, feed) = AsyncStream<Chunk>.makeStream(bufferingPolicy: .bufferingNewest(200))
                    let forward = Task {
                        for await change in subscription.stream where change.jurisdiction == jurisdiction { feed.yield(.change(change.ids)) }
                        feed.finish()
                    }
                    let beat = Task {
                        let end = ContinuousClock.now + .seconds(lifetime)
                        while !Task.isCancelled, ContinuousClock.now < end {
                            try? await Task.sleep(until: min(end, ContinuousClock.now + .seconds(15)))
                            feed.yield(.heartbeat)
                        }
                        feed.finish()
                    }
                    defer {
                        forward.cancel()
                        beat.cancel()
                        hub.unsubscribe(subscription.id)
                    }
                    // The first lines tell the page it is connected; a comment every 15 s keeps proxies from closing it,
                    // and a failed write (the page went away) ends the response.
                    try await writer.write(ByteBuffer(string: "retry: 3000\n: connected\n\n"))
                    func event(_ found: ServiceRequest) throws -> String {
                        let clock = SLAClock(requestedAt: found.requestedAt, expectedAt: found.expectedAt, status: found.status, now: Date())
                        let event: [String: Any] = [
                            "id": found.id, "service": found.serviceName, "status": found.status.rawValue, "sla": clock.state.rawValue,
                            "lat": found.location.latitude ?? NSNull(), "long": found.location.longitude ?? NSNull(),
                            "url": "/staff/requests/\(found.id)",
                        ]
                        let data = try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])
                        // The id is when the request last changed, in milliseconds: where a reconnecting page resumes.
                        return "id: \(Int64((found.updatedAt.timeIntervalSince1970 * 1000).rounded()))\nevent: request\n"
                            + "data: \(String(decoding: data, as: UTF8.self))\n\n"
                    }
                    if let lastSeen {
                        var query = ServiceRequestQuery(jurisdictionID: jurisdiction)
                        query.changedSince = lastSeen
                        query.includePrivate = false
                        query.departments = departments
                        query.limit = LiveController.replayLimit + 1
                        let missed = Date().timeIntervalSince(lastSeen) > LiveController.replayWindow ? nil : try await stores.requests.search(query)
                        if let missed, missed.count <= LiveController.replayLimit {
                            for found in missed { try await writer.write(ByteBuffer(string: try event(found))) }
                        } else {
                            try await writer.write(ByteBuffer(string: "event: reload\ndata: {}\n\n"))
                        }
                    }
                    // A server shutting down ends its live streams (the pages reconnect to another instance).
                    for try await chunk in chunks.cancelOnGracefulShutdown() {
                        switch chunk {
                        case .heartbeat:
                            try await writer.write(ByteBuffer(string: ": still here\n\n"))
                        case .change(let ids):
                            var query = ServiceRequestQuery(jurisdictionID: jurisdiction)
                            query.ids = ids
                            query.includePrivate = false
                            query.departments = departments
                            for found in try await stores.requests.search(query) {
                                try await writer.write(ByteBuffer(string: try event(found)))
                            }
                        }
                    }
                    try await writer.finish(nil)
                })
        }
    }
}
