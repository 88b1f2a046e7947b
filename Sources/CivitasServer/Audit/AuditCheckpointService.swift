import CivitasCore
import CivitasStore
import Foundation
import Logging
import ServiceLifecycle

/// Makes a signed checkpoint of each audit chain at an interval, when a chain has grown since the last one, and appends
/// it to the configured file and sends it to every witness (a partner subscribed to `audit.checkpoint` webhooks), so a
/// cut made later is seen by `civitas audit verify --checkpoints`. It reads the heads only; audited writes do no extra
/// work.
struct AuditCheckpointService: Service {
    let stores: Stores
    let signingKey: String
    let file: String?
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
                        if let file { try Commands.append(heads, to: file) }
                        for checkpoint in heads {
                            let data = try JSONDecoder().decode(JSONValue.self, from: Data(checkpoint.line.utf8))
                            _ = try await stores.cases.enqueue("audit.checkpoint", data: data, jurisdictionID: checkpoint.jurisdiction)
                        }
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
