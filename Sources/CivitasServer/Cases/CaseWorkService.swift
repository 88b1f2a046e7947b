import AsyncHTTPClient
import CivitasCore
import CivitasStore
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Signs a webhook body the way receivers check it: `Civitas-Signature: t=UNIX,v1=HEX`, where HEX is the
/// HMAC-SHA256 of "UNIX.BODY" with the webhook's secret. The time in the signed text lets receivers refuse replays.
public enum WebhookSignature {
    public static func header(body: String, secret: String, at date: Date) -> String {
        let stamp = Int(date.timeIntervalSince1970)
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(stamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "t=\(stamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}

/// The case work that runs on its own: timer automations ("after 14 days, remind"), swept every `sweepInterval`,
/// and webhook deliveries to partners from the durable outbox, retried with backoff. Several processes can run it at
/// once: timers fire once per stay in a state, and each delivery is claimed by one process at a time.
struct CaseWorkService: Service {
    let stores: Stores
    let jurisdictionID: String
    let sweepInterval: Duration
    let deliveryInterval: Duration
    /// The wait before the first retry of a failed delivery; each later one waits twice as long.
    let firstRetry: TimeInterval
    /// Whether receivers may be at loopback or private addresses (`WEBHOOKS_ALLOW_PRIVATE`).
    var allowPrivate = false
    let logger: Logger

    func run() async throws {
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10))))
        await cancelWhenGracefulShutdown {
            var lastSweep = ContinuousClock.now - sweepInterval
            while !Task.isCancelled {
                if ContinuousClock.now - lastSweep >= sweepInterval {
                    lastSweep = ContinuousClock.now
                    do {
                        let fired = try await stores.cases.sweep(jurisdictionID: jurisdictionID)
                        if fired > 0 { logger.info("case timers fired", metadata: ["count": "\(fired)"]) }
                    } catch {
                        logger.error("case timer sweep failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                    }
                }
                do {
                    while try await deliverDue(client) > 0, !Task.isCancelled {}
                } catch {
                    logger.error("webhook deliveries failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                }
                try? await Task.sleep(for: deliveryInterval)
            }
        }
        try? await client.shutdown()
    }

    /// Sends what is due now, each delivery on its own; returns how many it tried.
    func deliverDue(_ client: HTTPClient) async throws -> Int {
        let due = try await stores.cases.claimDeliveries()
        await withTaskGroup(of: Void.self) { group in
            for delivery in due {
                group.addTask { await send(delivery, client: client) }
            }
        }
        return due.count
    }

    /// Why a receiver may not be delivered to now: its name resolves to no address, or to one inside (loopback,
    /// private, link-local: a public name can be pointed there after the webhook was accepted). Checked on every
    /// delivery; a failed check is a failed attempt, retried with backoff like any other.
    static func refusal(_ url: String) async -> String? {
        guard let host = URL(string: url)?.host else { return "the receiver's address has no host" }
        let addresses = await NetworkAddress.resolve(host)
        if addresses.isEmpty { return "the receiver's host name did not resolve" }
        if addresses.contains(where: { !NetworkAddress.isPublic($0) }) { return "the receiver's host name resolves to a local or private address" }
        return nil
    }

    func send(_ delivery: CaseStore.Delivery, client: HTTPClient) async {
        var request = HTTPClientRequest(url: delivery.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Civitas-Webhooks/1")
        request.headers.add(name: "Civitas-Event", value: delivery.eventType)
        request.headers.add(name: "Civitas-Event-Id", value: delivery.eventID)
        request.headers.add(name: "Civitas-Delivery-Attempt", value: String(delivery.attempts + 1))
        request.headers.add(name: "Civitas-Signature", value: WebhookSignature.header(body: delivery.payload, secret: delivery.secret, at: Date()))
        request.body = .bytes(ByteBuffer(string: delivery.payload))
        var status: Int?
        var failure: String? = allowPrivate ? nil : await Self.refusal(delivery.url)
        if failure == nil {
            do {
                let response = try await client.execute(request, timeout: .seconds(10))
                status = Int(response.status.code)
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if !(200..<300).contains(Int(response.status.code)) { failure = "the receiver answered \(response.status.code)" }
            } catch {
                failure = "\(type(of: error)): \(String(describing: error).prefix(200))"
            }
        }
        do {
            try await stores.cases.recordAttempt(delivery.id, status: status, error: failure, firstRetry: firstRetry)
        } catch {
            logger.error("webhook attempt not recorded", metadata: ["delivery": "\(delivery.id)"])
        }
        if let failure { logger.warning("webhook not delivered", metadata: ["delivery": "\(delivery.id)", "why": "\(failure)"]) }
    }
}
