import CivitasStore
import Logging
import ServiceLifecycle

/// Turns queued submissions of batch services into service requests, a few at a time, until shutdown.
struct BatchIntakeService: Service {
    let requests: ServiceRequestStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    var processed = try await requests.processPendingTokens()
                    while processed > 0, !Task.isCancelled {
                        logger.info("batch submissions processed", metadata: ["count": "\(processed)"])
                        processed = try await requests.processPendingTokens()
                    }
                } catch {
                    logger.error("batch intake failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
