import HTTPTypes
import Logging
import Metrics
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Counts open connections, in total and per client address, so one client (or one laptop with a script) cannot take
/// every file descriptor the process has. A connection over either cap is closed as soon as it is accepted.
final class ConnectionLimiter: Sendable {
    /// At most this many connections open at once.
    let total: Int
    /// At most this many from one client address; nil when clients are behind a balancer that is the only peer.
    let perClient: Int?
    private let counts = Mutex<(open: Int, byClient: [String: Int])>((0, [:]))
    private let openGauge = Gauge(label: "civitas_http_connections_open")
    private let refusedCounter = Counter(label: "civitas_http_connections_refused_total")

    init(total: Int, perClient: Int?) {
        self.total = total
        self.perClient = perClient
    }

    /// Admits a connection from `client`, or says no when a cap is reached. Each admission is released once.
    func admit(client: String) -> Bool {
        let admitted = counts.withLock { counts -> Int? in
            guard counts.open < total else { return nil }
            let fromClient = counts.byClient[client, default: 0]
            if let perClient, fromClient >= perClient { return nil }
            counts.open += 1
            counts.byClient[client] = fromClient + 1
            return counts.open
        }
        if let open = admitted {
            openGauge.record(open)
            return true
        }
        refusedCounter.increment()
        return false
    }

    func release(client: String) {
        let open = counts.withLock { counts -> Int in
            counts.open -= 1
            let left = counts.byClient[client, default: 1] - 1
            counts.byClient[client] = left > 0 ? left : nil
            return counts.open
        }
        openGauge.record(open)
    }

    /// Open connections now, in total and from one client (for tests).
    func open(client: String? = nil) -> Int {
        counts.withLock { counts in client.map { counts.byClient[$0, default: 0] } ?? counts.open }
    }
}

/// Sits on every connection after HTTP decoding and enforces what Hummingbird's idle timeout does not:
/// - the connection caps of a `ConnectionLimiter`;
/// - a deadline for a whole request body, so a body trickled a byte at a time (never idle) is cut off;
/// - on shutdown, a connection still busy after a grace period is closed, so a slow client cannot hold up a deploy;
/// - an answer that means to close (`Connection: close` on the request or the answer, such as an early 413) closes
///   the connection once it is sent, after reading and dropping what is left of the body for a short while, so a
///   client that writes its whole body before reading gets its answer instead of waiting on a full socket.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limiter: ConnectionLimiter?
    private let bodyTimeout: TimeAmount
    private let lingerTimeout: TimeAmount
    private let logger: Logger
    private var client: String?
    private var started = false
    private var readingBody = false
    private var closeAfterAnswer = false
    private var draining = false
    private var bodyTimer: Scheduled<Void>?
    private var lingerTimer: Scheduled<Void>?
    private var shutdownTimer: Scheduled<Void>?
    private let shutdownGrace: TimeAmount = .seconds(10)

    init(limiter: ConnectionLimiter?, bodyTimeout: TimeAmount, lingerTimeout: TimeAmount = .seconds(5), logger: Logger) {
        self.limiter = limiter
        self.bodyTimeout = bodyTimeout
        self.lingerTimeout = lingerTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        guard let limiter else { return }
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        if limiter.admit(client: address) {
            client = address
        } else {
            context.close(promise: nil)
        }
    }

    private func finish() {
        if let client, let limiter { limiter.release(client: client) }
        client = nil
        bodyTimer?.cancel()
        bodyTimer = nil
        lingerTimer?.cancel()
        lingerTimer = nil
        shutdownTimer?.cancel()
        shutdownTimer = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if draining {
            // The answer is sent: what is left of the body is read and dropped, and its end closes the connection.
            if case .end = part { context.close(promise: nil) }
            return
        }
        switch part {
        case .head(let head):
            readingBody = true
            if Self.saysClose(head.headerFields) { closeAfterAnswer = true }
            let timeout = bodyTimeout
            bodyTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
                guard let self, self.readingBody else { return }
                self.logger.debug("request body not received in time, closing the connection")
                context.close(promise: nil)
            }
        case .body:
            break
        case .end:
            readingBody = false
            bodyTimer?.cancel()
            bodyTimer = nil
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // While draining, keep reading whatever the async reader downstream asks for.
        if draining { context.read() }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let response):
            if Self.saysClose(response.headerFields) { closeAfterAnswer = true }
        case .body:
            break
        case .end:
            guard closeAfterAnswer else { break }
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { [weak self] _ in
                guard let self else { return }
                self.closeOnceBodyIsRead(context)
            }
            return
        }
        context.write(data, promise: promise)
    }

    /// On shutdown Hummingbird closes idle connections and waits for those with a request in progress. A slow body or
    /// a live stream could hold that wait for minutes, so whatever is still open after `shutdownGrace` is closed.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent, shutdownTimer == nil {
            shutdownTimer = context.eventLoop.assumeIsolated().scheduleTask(in: shutdownGrace) {
                context.close(promise: nil)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func closeOnceBodyIsRead(_ context: ChannelHandlerContext) {
        guard readingBody else {
            context.close(promise: nil)
            return
        }
        draining = true
        bodyTimer?.cancel()
        bodyTimer = nil
        lingerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: lingerTimeout) {
            context.close(promise: nil)
        }
        context.read()
    }

    private static func saysClose(_ fields: HTTPFields) -> Bool {
        fields[values: .connection].contains { value in
            value.split(separator: ",").contains { $0.filter { $0 != " " && $0 != "\t" }.lowercased() == "close" }
        }
    }
}
