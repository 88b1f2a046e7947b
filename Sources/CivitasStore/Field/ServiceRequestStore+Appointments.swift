import CivitasCore
import Foundation
import SQLKit

extension ServiceRequestStore {
    /// The longest appointment window: a day's shift.
    public static let longestAppointment: TimeInterval = 12 * 3600

    /// Sets (or with `nil`, clears) the time agreed with the resident for the visit. The request's history gets an
    /// internal note saying so, in the same transaction, and live maps hear of it.
    public func setAppointment(
        id: Int64, _ window: DateInterval?, jurisdictionID: String, by origin: ChangeOrigin, zone: TimeZone, now: Date = Date()
    ) async throws {
        if let window {
            guard window.duration > 0, window.duration <= Self.longestAppointment else {
                throw CivitasError.invalid("appointment_invalid", "An appointment ends after it starts, at most 12 hours later.", field: "ends")
            }
        }
        try await database.transaction { sql in
            guard
                let row = try await sql.select().column("status").from("service_requests").where("jurisdiction_id", .equal, jurisdictionID)
                    .where("id", .equal, id).first()
            else { throw CivitasError.notFound("request_not_found", "There is no service request \(id).") }
            guard try row.decode(column: "status", as: String.self) == RequestStatus.open.rawValue else {
                throw CivitasError(.conflict, code: "request_closed", message: "Request \(id) is closed; it needs no appointment.")
            }
            let hadOne =
                try await sql.select().column("service_request_id").from("appointments").where("service_request_id", .equal, id).first() != nil
            try await sql.delete(from: "appointments").where("service_request_id", .equal, id).run()
            var note = "Appointment cleared."
            if let window {
                try await sql.insert(into: "appointments").columns(
                    "service_request_id", "jurisdiction_id", "starts_at", "ends_at", "set_by", "created_at"
                )
                .values(
                    SQLBind(id), SQLBind(jurisdictionID), SQLBind(Clock.millis(window.start)), SQLBind(Clock.millis(window.end)),
                    SQLBind(origin.actor), SQLBind(Clock.millis(now))
                ).run()
                note = "Appointment set for \(Appointment.describe(window, zone: zone))."
            }
            try await apply(
                id: id, jurisdictionID: jurisdictionID, change: RequestChange(note: note, noteVisibility: .internal), by: origin, now: now, sql: sql)
            // The person who reported it hears the time (or that it is cancelled), in their language, with the change.
            if let notices, window != nil || hadOne {
                try await Self.enqueueAppointmentNotices(
                    requestID: id, jurisdictionID: jurisdictionID, window: window, zone: zone, settings: notices, now: now, sql: sql)
            }
        }
        await announce([id], jurisdictionID: jurisdictionID)
    }

    /// The appointments of open requests, by request id.
    public func appointments(ids: [Int64]? = nil, jurisdictionID: String) async throws -> [Int64: DateInterval] {
        try await database.read { sql in
            var query = sql.select().columns("service_request_id", "starts_at", "ends_at").from("appointments")
                .where("jurisdiction_id", .equal, jurisdictionID)
            if let ids { query = query.where("service_request_id", .in, ids) }
            return try await query.all().reduce(into: [Int64: DateInterval]()) { found, row in
                let start = Clock.date(try row.decode(column: "starts_at", as: Int64.self))
                let end = Clock.date(try row.decode(column: "ends_at", as: Int64.self))
                found[try row.decode(column: "service_request_id", as: Int64.self)] = DateInterval(start: start, end: max(start, end))
            }
        }
    }
}

extension ServiceRequestStore {
    /// Writes the appointment mail for the request's reporters into the outbox, in the caller's transaction.
    static func enqueueAppointmentNotices(
        requestID: Int64, jurisdictionID: String, window: DateInterval?, zone: TimeZone, settings: NoticeSettings, now: Date, sql: any SQLDatabase
    ) async throws {
        let reporters = try await sql.select().columns(followerColumns).from("request_followers")
            .where("jurisdiction_id", .equal, jurisdictionID).where("service_request_id", .equal, requestID)
            .where("kind", .equal, Follower.Kind.reporter.rawValue).where("unsubscribed_at", .is, SQLLiteral.null).all().map(follower)
        guard !reporters.isEmpty else { return }
        let code =
            try await sql.select().column("service_code").from("service_requests").where("id", .equal, requestID).first()?
            .decode(column: "service_code", as: String.self) ?? ""
        let names = try await Self.serviceNames(code: code, jurisdictionID: jurisdictionID, sql: sql)
        for reporter in reporters {
            let unsubscribe = "\(settings.publicURL)/unsubscribe/\(reporter.unsubscribeToken)"
            let mail = RequestNotice.appointment(
                site: settings.site, requestID: requestID, serviceName: names[reporter.language] ?? names[.english] ?? code,
                when: window.map { Appointment.describe($0, zone: zone, language: reporter.language) },
                link: "\(settings.publicURL)/requests/\(requestID)",
                unsubscribe: unsubscribe, language: reporter.language)
            try await MailOutboxStore.enqueue(
                to: reporter.email, subject: mail.subject, body: mail.body, unsubscribeURL: unsubscribe, jurisdictionID: jurisdictionID, now: now,
                sql: sql)
        }
    }
}
