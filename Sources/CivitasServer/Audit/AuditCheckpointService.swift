import CivitasStore
import Foundation
import Logging
import ServiceLifecycle

/// Appends a signed checkpoint of each audit chain to the configured file at an interval, when a chain has grown since
/// the last one, so a cut made later is seen by `civitas audit verify --checkpoints`. It reads the heads only; audited
/// writes do no extra work.
struct AuditCheckpointService: Service {
    let stores: Stores
    let signingKey: String
    let file: String
    let interval: Duration
    let logger: Logger

    func run() async throws {
        guard let key = try? AuditSigningKey.privateKey(signingKey) else { return }
        await cancelWhenGracefulShutdown {
            var last: [String: Int64] = [:]
            while !Task.isCancelled {
                do {
                    let heads = try await stores.audit.checkpoints(key: key)
                    if heads.contains(where: { last[$0.jurisdiction] != $0.seq }) {
                        try Commands.append(heads, to: file)
                        for checkpoint in heads { last[checkpoint.jurisdiction] = checkpoint.seq }
                        logger.info("audit checkpoint written", metadata: ["chains": "\(heads.count)"])
                    }
                } catch {
                    logger.error("audit checkpoint failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
