import CivitasCore
import CivitasStore
import Foundation
import Logging
import ServiceLifecycle

/// Sends the mail outbox over SMTP, retrying failures with backoff; also purges expired report drafts, ended sessions and old
/// rate-limit windows. Several instances can run it at once: each claims different messages.
struct MailService: Service {
    let stores: Stores
    let settings: AppConfiguration.MailSettings
    let fromName: String
    let idleTimeout: TimeInterval
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastPurge = Date.distantPast
            while !Task.isCancelled {
                if settings.smtpHost != nil {
                    do {
                        while try await sendDue() > 0, !Task.isCancelled {}
                    } catch {
                        logger.error("mail outbox failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
                    }
                }
                if Date().timeIntervalSince(lastPurge) > 300 {
                    lastPurge = Date()
                    try? await stores.sessions.purge(idle: idleTimeout)
                    try? await stores.rateLimits.purge(before: Date().addingTimeInterval(-3600))
                    try? await stores.drafts.purge()
                }
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// Sends what is due now; returns how many it tried.
    func sendDue() async throws -> Int {
        guard let host = settings.smtpHost else { return 0 }
        let client = SMTPClient(configuration: SMTPConfiguration(host: host, port: settings.smtpPort))
        let due = try await stores.outbox.claimDue()
        for mail in due {
            let message = MailMessage(
                from: settings.from, fromName: fromName, to: mail.recipient, subject: mail.subject, body: mail.body,
                listUnsubscribe: mail.unsubscribeURL)
            do {
                try await client.send(message)
                try await stores.outbox.markSent(id: mail.id)
                logger.info("mail sent", metadata: ["mail_id": "\(mail.id)"])
            } catch let error as SMTPError {
                try await stores.outbox.markFailed(id: mail.id, attempts: mail.attempts, error: error.description, permanent: error.permanent)
                logger.warning("mail not sent", metadata: ["mail_id": "\(mail.id)", "permanent": "\(error.permanent)"])
            } catch {
                try await stores.outbox.markFailed(id: mail.id, attempts: mail.attempts, error: "\(type(of: error))", permanent: false)
                logger.warning("mail not sent", metadata: ["mail_id": "\(mail.id)"])
            }
        }
        return due.count
    }
}
