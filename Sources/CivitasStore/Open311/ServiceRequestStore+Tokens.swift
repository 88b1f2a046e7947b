import CivitasCore
import Foundation
import Logging
import SQLKit

extension ServiceRequestStore {
    /// Accepts a submission for a batch service: it is stored now and becomes a request when the intake worker
    /// gets to it. The token lets the client ask for the request id later.
    public func enqueue(
        _ new: NewServiceRequest, jurisdictionID: String, media: MediaUpload? = nil, now: Date = Date()
    ) async throws -> String {
        let token = SecureRandom.token(bytes: 16)
        let submission = String(decoding: try ServiceStore.encoder.encode(new), as: UTF8.self)
        try await database.transaction { sql in
            if let media { try await MediaStore.insert(media, jurisdictionID: jurisdictionID, now: now, sql: sql) }
            try await sql.insert(into: "request_tokens")
                .columns("token", "jurisdiction_id", "service_code", "submission", "created_at")
                .values(
                    SQLBind(token), SQLBind(jurisdictionID), SQLBind(new.serviceCode), SQLBind(submission),
                    SQLBind(Clock.millis(now))
                )
                .run()
        }
        return token
    }

    public func token(_ token: String, jurisdictionID: String) async throws -> RequestToken? {
        try await database.read { sql in
            try await sql.select().columns("token", "service_request_id").from("request_tokens")
                .where("jurisdiction_id", .equal, jurisdictionID).where("token", .equal, token).first()
                .map { row in
                    RequestToken(
                        token: try row.decode(column: "token", as: String.self),
                        serviceRequestID: try row.decode(column: "service_request_id", as: Int64?.self))
                }
        }
    }

    /// Turns up to `limit` waiting batch submissions into requests, oldest first; returns how many it handled.
    /// Each claim and its request are one transaction; on PostgreSQL several workers share the queue without
    /// taking the same row (`FOR UPDATE SKIP LOCKED`). A submission that cannot become a request (its service is
    /// gone, or it no longer decodes) is closed without a request id, so it never blocks the ones behind it.
    public func processPendingTokens(limit: Int = 100, now: Date = Date()) async throws -> Int {
        var handled = 0
        while handled < limit {
            let outcome: TokenOutcome
            do {
                outcome = try await processOneToken(now: now)
            } catch let failure as TokenFailure {
                try await database.transaction { sql in
                    try await sql.update("request_tokens").set("processed_at", to: Clock.millis(now))
                        .where("token", .equal, failure.token).run()
                }
                database.logger.error("batch submission could not become a request", metadata: ["reason": "\(failure.reason)"])
                handled += 1
                continue
            }
            guard case .processed = outcome else { break }
            handled += 1
        }
        return handled
    }

    private enum TokenOutcome: Sendable { case processed, empty }

    private struct TokenFailure: Error {
        let token: String
        let reason: String
    }

    private func processOneToken(now: Date) async throws -> TokenOutcome {
        let engine = database.engine
        return try await database.transaction { sql in
            let select = sql.select().columns("token", "jurisdiction_id", "service_code", "submission", "created_at")
                .from("request_tokens").where("processed_at", .is, SQLLiteral.null)
                .orderBy("created_at").limit(1)
            if engine == .postgres { select.lockingClause(SQLRaw("FOR UPDATE SKIP LOCKED")) }
            guard let row = try await select.first() else { return .empty }
            let token = try row.decode(column: "token", as: String.self)
            let jurisdictionID = try row.decode(column: "jurisdiction_id", as: String.self)
            let code = try row.decode(column: "service_code", as: String.self)
            let submittedAt = Clock.date(try row.decode(column: "created_at", as: Int64.self))
            guard
                let new = try? JSONDecoder().decode(
                    NewServiceRequest.self, from: Data(try row.decode(column: "submission", as: String.self).utf8))
            else { throw TokenFailure(token: token, reason: "the stored submission does not decode") }
            guard
                let service = try await sql.select().columns(ServiceStore.columns).from("services")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("service_code", .equal, code).first()
                    .map(ServiceStore.decode)
            else { throw TokenFailure(token: token, reason: "its service is no longer in the catalog") }
            let request = try await insert(
                new, service: service, jurisdictionID: jurisdictionID, source: "open311", now: submittedAt, sql: sql)
            try await sql.update("request_tokens").set("service_request_id", to: request.id)
                .set("processed_at", to: Clock.millis(now)).where("token", .equal, token).run()
            return .processed
        }
    }
}
