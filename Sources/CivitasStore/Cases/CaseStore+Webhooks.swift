import CivitasCore
import Foundation
import SQLKit

/// Partners' webhooks: subscriptions, and the durable outbox of deliveries claimed and retried by workers.
extension CaseStore {
    // MARK: Webhooks

    public struct Webhook: Sendable, Equatable {
        public var id: Int64
        public var clientID: String
        public var url: String
        public var events: [String]
        public var active: Bool
    }

    public struct Delivery: Sendable, Equatable {
        public var id: Int64
        public var webhookID: Int64
        public var url: String
        public var secret: String
        public var eventID: String
        public var eventType: String
        public var payload: String
        public var attempts: Int
        public var deliveredAt: Date?
        public var lastStatus: Int?
        public var lastError: String?
        public var nextAttemptAt: Date
    }

    public static let eventTypes = ["case.created", "case.transitioned", "case.decided", "case.document_added", "case.message"]
    /// Events a partner receives only when it names them: a witness of the audit chain keeps each signed checkpoint
    /// (no personal data: a position, a hash and a signature), so a cut made later cannot hide from it.
    public static let optInEventTypes = ["audit.checkpoint"]

    /// Subscribes a partner client to case events; returns the webhook and the secret its deliveries are signed with.
    public func subscribe(
        clientID: String, url: String, events: [String], departments: [String], jurisdictionID: String, allowPrivate: Bool = false,
        now: Date = Date()
    ) async throws -> (Webhook, String) {
        guard let parsed = URL(string: url), ["https", "http"].contains(parsed.scheme ?? ""), let host = parsed.host, url.count <= 2000 else {
            throw CivitasError.invalid("url_invalid", "Give the receiver's full https:// address.", field: "url")
        }
        // Deliveries leave from inside the agency's network: a partner may not point them at the server itself or
        // at private addresses, unless the operator allows it (WEBHOOKS_ALLOW_PRIVATE, for tests and internal partners).
        if !allowPrivate, Self.isPrivate(host: host) {
            throw CivitasError.invalid("url_private", "The receiver must be a public address, not a local or private one.", field: "url")
        }
        let chosen = events.isEmpty ? Self.eventTypes : events
        let known = Self.eventTypes + Self.optInEventTypes
        for event in chosen where !known.contains(event) {
            throw CivitasError.invalid("event_unknown", "Events are \(known.joined(separator: ", ")).", field: "events")
        }
        let secret = "whsec_" + SecureRandom.token(bytes: 24)
        let id = try await database.transaction { sql in
            let row = try await sql.insert(into: "webhooks").columns(
                "jurisdiction_id", "client_id", "url", "secret", "events", "departments", "active", "created_at"
            )
            .values(
                SQLBind(jurisdictionID), SQLBind(clientID), SQLBind(url), SQLBind(secret), SQLBind(chosen.joined(separator: ",")),
                SQLBind(departments.joined(separator: "\u{1F}")), SQLBind(1), SQLBind(Clock.millis(now))
            ).returning("id").first()
            return try row?.decode(column: "id", as: Int64.self) ?? 0
        }
        return (Webhook(id: id, clientID: clientID, url: url, events: chosen, active: true), secret)
    }

    /// Loopback, private, link-local and unspecified addresses in any numeric form, and names that mean this machine.
    /// (A public-looking name that resolves to such an address is refused when it is delivered to.)
    static func isPrivate(host: String) -> Bool {
        var name = host.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        if name.isEmpty || name == "localhost" || name.hasSuffix(".localhost") || name.hasSuffix(".local") || name.hasSuffix(".internal") {
            return true
        }
        let addresses = NetworkAddress.literal(name)
        return addresses.contains { !NetworkAddress.isPublic($0) }
    }

    public func webhooks(clientID: String?, jurisdictionID: String) async throws -> [Webhook] {
        try await database.read { sql in
            var select = sql.select().columns("id", "client_id", "url", "events", "active").from("webhooks").where(
                "jurisdiction_id", .equal, jurisdictionID)
            if let clientID { select = select.where("client_id", .equal, clientID) }
            return try await select.orderBy("id").all().map { row in
                Webhook(
                    id: try row.decode(column: "id", as: Int64.self), clientID: try row.decode(column: "client_id", as: String.self),
                    url: try row.decode(column: "url", as: String.self),
                    events: try row.decode(column: "events", as: String.self).split(separator: ",").map(String.init),
                    active: try row.decode(column: "active", as: Int.self) == 1)
            }
        }
    }

    public func unsubscribe(_ id: Int64, clientID: String?, jurisdictionID: String) async throws {
        try await database.transaction { sql in
            var select = sql.select().column("id").from("webhooks").where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, id)
            if let clientID { select = select.where("client_id", .equal, clientID) }
            guard try await select.first() != nil else { throw CivitasError.notFound("webhook_not_found", "There is no webhook \(id).") }
            try await sql.update("webhooks").set("active", to: SQLBind(0)).where("id", .equal, id).run()
        }
    }

    /// Queues an event for every active subscriber that may read the case, in the change's own transaction: an
    /// event is delivered if and only if its change is committed.
    func webhook(
        _ eventType: String, caseID: Int64, type: CaseType, state: String, extra: [String: JSONValue], jurisdictionID: String, now: Date,
        sql: any SQLDatabase
    ) async throws {
        let subscribers = try await sql.select().columns("id", "events", "departments").from("webhooks").where(
            "jurisdiction_id", .equal, jurisdictionID
        )
        .where("active", .equal, 1).all()
        for row in subscribers {
            let events = try row.decode(column: "events", as: String.self).split(separator: ",").map(String.init)
            let departments = try row.decode(column: "departments", as: String.self).split(separator: "\u{1F}").map(String.init)
            guard events.contains(eventType), departments.contains("*") || departments.contains(type.department) else { continue }
            let eventID = "evt_" + SecureRandom.token(bytes: 12)
            var payload: [String: JSONValue] = [
                "id": .string(eventID), "type": .string(eventType), "created_at": .string(W3CDateTime.format(now)),
                "case": .object([
                    "id": .integer(caseID), "type": .string(type.key), "type_version": .integer(Int64(type.version)), "state": .string(state),
                    "url": .string("/api/v1/cases/\(caseID)"),
                ]),
            ]
            if !extra.isEmpty { payload["data"] = .object(extra) }
            try await sql.insert(into: "webhook_deliveries")
                .columns("webhook_id", "event_id", "event_type", "payload", "attempts", "next_attempt_at", "created_at")
                .values(
                    SQLBind(try row.decode(column: "id", as: Int64.self)), SQLBind(eventID), SQLBind(eventType),
                    SQLBind(JSONValue.object(payload).jsonText),
                    SQLBind(0), SQLBind(Clock.millis(now)), SQLBind(Clock.millis(now))
                ).run()
        }
    }

    /// Queues one event that concerns no case (an audit checkpoint) for every active subscriber that named it.
    public func enqueue(_ eventType: String, data: JSONValue, jurisdictionID: String, now: Date = Date()) async throws -> Int {
        try await database.transaction { sql in
            let subscribers = try await sql.select().columns("id", "events").from("webhooks")
                .where("jurisdiction_id", .equal, jurisdictionID).where("active", .equal, 1).all()
            var queued = 0
            for row in subscribers where try row.decode(column: "events", as: String.self).split(separator: ",").contains(Substring(eventType)) {
                let eventID = "evt_" + SecureRandom.token(bytes: 12)
                let payload: JSONValue = .object([
                    "id": .string(eventID), "type": .string(eventType), "created_at": .string(W3CDateTime.format(now)), "data": data,
                ])
                try await sql.insert(into: "webhook_deliveries")
                    .columns("webhook_id", "event_id", "event_type", "payload", "attempts", "next_attempt_at", "created_at")
                    .values(
                        SQLBind(try row.decode(column: "id", as: Int64.self)), SQLBind(eventID), SQLBind(eventType), SQLBind(payload.jsonText),
                        SQLBind(0), SQLBind(Clock.millis(now)), SQLBind(Clock.millis(now))
                    ).run()
                queued += 1
            }
            return queued
        }
    }

    /// Takes up to `limit` deliveries that are due, pushing their next attempt out so another process does not
    /// send them at the same time. A delivery that is never confirmed is tried again after `lease`.
    public func claimDeliveries(limit: Int = 20, lease: TimeInterval = 60, now: Date = Date()) async throws -> [Delivery] {
        try await database.transaction { sql in
            let select = sql.select()
                .columns(
                    SQLColumn("id", table: "webhook_deliveries"), SQLColumn("webhook_id"), SQLColumn("url"), SQLColumn("secret"),
                    SQLColumn("event_id"),
                    SQLColumn("event_type"), SQLColumn("payload"), SQLColumn("attempts"), SQLColumn("next_attempt_at")
                )
                .from("webhook_deliveries").join("webhooks", on: SQLColumn("webhook_id"), .equal, SQLColumn("id", table: "webhooks"))
                .where("delivered_at", .is, SQLLiteral.null).where("next_attempt_at", .lessThanOrEqual, Clock.millis(now)).where(
                    "attempts", .lessThan, 12
                )
                .where(SQLColumn("active", table: "webhooks"), .equal, SQLBind(1))
                .orderBy("next_attempt_at").limit(limit)
            if sql.dialect.name == "postgresql" { select.lockingClause(SQLRaw("FOR UPDATE OF webhook_deliveries SKIP LOCKED")) }
            let rows = try await select.all()
            var claimed: [Delivery] = []
            for row in rows {
                let id = try row.decode(column: "id", as: Int64.self)
                try await sql.update("webhook_deliveries").set("next_attempt_at", to: SQLBind(Clock.millis(now.addingTimeInterval(lease)))).where(
                    "id", .equal, id
                ).run()
                claimed.append(
                    Delivery(
                        id: id, webhookID: try row.decode(column: "webhook_id", as: Int64.self), url: try row.decode(column: "url", as: String.self),
                        secret: try row.decode(column: "secret", as: String.self), eventID: try row.decode(column: "event_id", as: String.self),
                        eventType: try row.decode(column: "event_type", as: String.self), payload: try row.decode(column: "payload", as: String.self),
                        attempts: try row.decode(column: "attempts", as: Int.self), deliveredAt: nil, lastStatus: nil, lastError: nil,
                        nextAttemptAt: now.addingTimeInterval(lease)))
            }
            return claimed
        }
    }

    /// Records an attempt: delivered on a 2xx, else tried again after a backoff that doubles (30 s, 1 min, ... up to 6 h,
    /// with the default `firstRetry`).
    public func recordAttempt(_ id: Int64, status: Int?, error: String?, firstRetry: TimeInterval = 30, now: Date = Date()) async throws {
        try await database.transaction { sql in
            guard let row = try await sql.select().column("attempts").from("webhook_deliveries").where("id", .equal, id).first() else { return }
            let attempts = try row.decode(column: "attempts", as: Int.self) + 1
            let update = sql.update("webhook_deliveries").set("attempts", to: SQLBind(attempts)).set("last_status", to: SQLBind(status))
                .set("last_error", to: SQLBind(error.map { String($0.prefix(500)) }))
            if let status, (200..<300).contains(status) {
                update.set("delivered_at", to: SQLBind(Clock.millis(now)))
            } else {
                let delay = min(firstRetry * pow(2, Double(attempts - 1)), 6 * 3600)
                update.set("next_attempt_at", to: SQLBind(Clock.millis(now.addingTimeInterval(delay))))
            }
            try await update.where("id", .equal, id).run()
        }
    }

    /// The delivery log of a client's webhooks, newest first.
    public func deliveries(clientID: String?, jurisdictionID: String, limit: Int = 100) async throws -> [Delivery] {
        try await database.read { sql in
            var select = sql.select()
                .columns(
                    SQLColumn("id", table: "webhook_deliveries"), SQLColumn("webhook_id"), SQLColumn("url"), SQLColumn("event_id"),
                    SQLColumn("event_type"),
                    SQLColumn("payload"), SQLColumn("attempts"), SQLColumn("next_attempt_at"), SQLColumn("delivered_at"), SQLColumn("last_status"),
                    SQLColumn("last_error")
                )
                .from("webhook_deliveries").join("webhooks", on: SQLColumn("webhook_id"), .equal, SQLColumn("id", table: "webhooks"))
                .where(SQLColumn("jurisdiction_id", table: "webhooks"), .equal, SQLBind(jurisdictionID))
            if let clientID { select = select.where(SQLColumn("client_id", table: "webhooks"), .equal, SQLBind(clientID)) }
            return try await select.orderBy(SQLOrderBy(expression: SQLColumn("id", table: "webhook_deliveries"), direction: SQLDirection.descending))
                .limit(limit).all().map { row in
                    Delivery(
                        id: try row.decode(column: "id", as: Int64.self), webhookID: try row.decode(column: "webhook_id", as: Int64.self),
                        url: try row.decode(column: "url", as: String.self), secret: "", eventID: try row.decode(column: "event_id", as: String.self),
                        eventType: try row.decode(column: "event_type", as: String.self), payload: try row.decode(column: "payload", as: String.self),
                        attempts: try row.decode(column: "attempts", as: Int.self),
                        deliveredAt: try row.decode(column: "delivered_at", as: Int64?.self).map(Clock.date),
                        lastStatus: try row.decode(column: "last_status", as: Int?.self),
                        lastError: try row.decode(column: "last_error", as: String?.self),
                        nextAttemptAt: Clock.date(try row.decode(column: "next_attempt_at", as: Int64.self)))
                }
        }
    }
}
