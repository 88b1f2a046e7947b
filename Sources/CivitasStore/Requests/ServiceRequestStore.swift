import CivitasCore
import Foundation
import SQLKit

/// Service requests, their history, and batch tokens.
public struct ServiceRequestStore: Sendable {
    let database: Database
    /// Set when followers should be mailed about public changes (the server sets it; tools that only import do not).
    public var notices: NoticeSettings?

    public init(database: Database, notices: NoticeSettings? = nil) {
        self.database = database
        self.notices = notices
    }

    /// Stores a validated request and its first history entry in one transaction.
    public func create(
        _ new: NewServiceRequest, service: ServiceDefinition, jurisdictionID: String, source: String,
        media: MediaUpload? = nil, photoIDs: [String] = [], actor: String? = nil, residentID: Int64? = nil, origin: String? = nil,
        language: Language = .english, confirm: Bool = false, now: Date = Date()
    ) async throws -> ServiceRequest {
        let created = try await database.transaction { sql in
            if let media { try await MediaStore.insert(media, jurisdictionID: jurisdictionID, now: now, sql: sql) }
            let request = try await insert(
                new, service: service, jurisdictionID: jurisdictionID, source: source, now: now, actor: actor ?? source,
                residentID: residentID, origin: origin, language: language, sql: sql)
            // The reporter's confirmation is written with the request: no request without it, no mail without a request.
            if confirm, let notices, let email = new.reporter.email, !email.isEmpty,
                let reporter = try await sql.select().columns(Self.followerColumns).from("request_followers")
                    .where("service_request_id", .equal, request.id).where("email", .equal, email.lowercased()).first()
                    .map(Self.follower)
            {
                let unsubscribe = "\(notices.publicURL)/unsubscribe/\(reporter.unsubscribeToken)"
                let mail = RequestNotice.received(
                    site: notices.site, requestID: request.id, serviceName: service.name(in: language),
                    link: "\(notices.publicURL)/requests/\(request.id)", unsubscribe: unsubscribe, language: language)
                try await MailOutboxStore.enqueue(
                    to: email, subject: mail.subject, body: mail.body, unsubscribeURL: unsubscribe, jurisdictionID: jurisdictionID,
                    now: now, sql: sql)
            }
            // Photos stored while the report was written are linked to it now.
            for (position, photo) in photoIDs.enumerated() {
                try await sql.insert(into: "request_photos").columns("jurisdiction_id", "service_request_id", "position", "media_id")
                    .values(SQLBind(jurisdictionID), SQLBind(request.id), SQLBind(position), SQLBind(photo)).run()
            }
            return request
        }
        await announce([created.id], jurisdictionID: jurisdictionID)
        return created
    }

    /// The channel on which every instance hears that requests changed (live maps and queues).
    public static let liveChannel = "civitas_requests"

    /// Tells every instance which requests changed, once the change has committed: "jurisdiction id id ...".
    func announce(_ ids: [Int64], jurisdictionID: String) async {
        guard !ids.isEmpty else { return }
        for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
            await database.announce(Self.liveChannel, ([jurisdictionID] + chunk.map(String.init)).joined(separator: " "))
        }
    }

    /// A request from the past, possibly already closed (imports and the demo city).
    public struct HistoricRequest: Sendable {
        public var request: NewServiceRequest
        public var service: ServiceDefinition
        public var requestedAt: Date
        public var closed: (at: Date, note: String)?

        public init(request: NewServiceRequest, service: ServiceDefinition, requestedAt: Date, closed: (at: Date, note: String)?) {
            self.request = request
            self.service = service
            self.requestedAt = requestedAt
            self.closed = closed
        }
    }

    /// Stores many past requests, with their closing, in one transaction.
    public func createAll(_ items: [HistoricRequest], jurisdictionID: String, source: String) async throws -> [Int64] {
        try await database.transaction { sql in
            var ids: [Int64] = []
            for item in items {
                let id = try await insert(
                    item.request, service: item.service, jurisdictionID: jurisdictionID, source: source,
                    now: item.requestedAt, sql: sql
                ).id
                if let closed = item.closed {
                    try await Self.applyStatus(
                        id: id, jurisdictionID: jurisdictionID, to: .closed, note: closed.note, actor: source, at: closed.at,
                        sql: sql)
                    try await AuditStore.append(
                        AuditEvent(actor: source, action: "request.update", subject: "service_request:\(id)", fields: ["status", "public_note"]),
                        jurisdictionID: jurisdictionID, at: closed.at, sql: sql)
                }
                ids.append(id)
            }
            return ids
        }
    }

    func insert(
        _ new: NewServiceRequest, service: ServiceDefinition, jurisdictionID: String, source: String, now: Date,
        actor: String? = nil, residentID: Int64? = nil, origin: String? = nil, language: Language = .english, sql: any SQLDatabase
    ) async throws -> ServiceRequest {
        let stamp = Clock.millis(now)
        let expected = service.slaHours.map { now.addingTimeInterval(TimeInterval($0) * 3600) }
        let attributes = String(decoding: try ServiceStore.encoder.encode(new.attributes), as: UTF8.self)
        let row = try await sql.insert(into: "service_requests")
            .columns(
                "jurisdiction_id", "service_code", "status", "description", "agency_responsible", "service_notice", "requested_at",
                "updated_at", "expected_at", "address", "address_id", "zipcode", "latitude", "longitude", "media_url",
                "attributes", "email", "device_id", "account_id", "first_name", "last_name", "phone", "source", "resident_id"
            )
            .values(
                SQLBind(jurisdictionID), SQLBind(service.code), SQLBind(RequestStatus.open.rawValue),
                SQLBind(new.description), SQLBind(service.department), SQLBind(service.notice), SQLBind(stamp), SQLBind(stamp),
                SQLBind(expected.map(Clock.millis)), SQLBind(new.location.address), SQLBind(new.location.addressID),
                SQLBind(new.location.zipcode), SQLBind(new.location.latitude), SQLBind(new.location.longitude),
                SQLBind(new.mediaURL), SQLBind(attributes), SQLBind(new.reporter.email),
                SQLBind(new.reporter.deviceID), SQLBind(new.reporter.accountID), SQLBind(new.reporter.firstName),
                SQLBind(new.reporter.lastName), SQLBind(new.reporter.phone), SQLBind(source), SQLBind(residentID)
            )
            .returning("id")
            .first()
        guard let id = try row?.decode(column: "id", as: Int64.self) else {
            throw CivitasError(.unavailable, code: "insert_failed", message: "The request could not be stored.")
        }
        // The request row itself records its opening (requested_at, source); request_updates holds the changes.
        var request = ServiceRequest(
            id: id, jurisdictionID: jurisdictionID, serviceCode: service.code, serviceName: service.name,
            status: .open, description: new.description, agencyResponsible: service.department,
            serviceNotice: service.notice,
            requestedAt: Clock.date(stamp), updatedAt: Clock.date(stamp),
            expectedAt: expected.map { Clock.date(Clock.millis($0)) }, location: new.location, mediaURL: new.mediaURL,
            attributes: new.attributes, reporter: new.reporter)
        request.residentID = residentID
        try await AuditStore.append(
            AuditEvent(
                actor: actor ?? source, action: "request.create", subject: "service_request:\(id)", person: request.person,
                fields: request.reporter.presentFields, source: origin),
            jurisdictionID: jurisdictionID, at: now, sql: sql)
        // Whoever reported it with an email address hears about it, until they unsubscribe.
        if let email = new.reporter.email, !email.isEmpty {
            _ = try await Self.addFollower(
                requestID: id, jurisdictionID: jurisdictionID, email: email, userID: residentID, kind: .reporter,
                language: language, now: now, newRequest: true, sql: sql)
        }
        return request
    }

    /// The media ids of a request's photos, in order.
    public func photoIDs(id: Int64, jurisdictionID: String) async throws -> [String] {
        try await database.read { sql in
            try await sql.select().column("media_id").from("request_photos").where("jurisdiction_id", .equal, jurisdictionID)
                .where("service_request_id", .equal, id).orderBy("position").all().map { try $0.decode(column: "media_id", as: String.self) }
        }
    }

    public func find(id: Int64, jurisdictionID: String, includePrivate: Bool = true) async throws -> ServiceRequest? {
        var query = ServiceRequestQuery(jurisdictionID: jurisdictionID)
        query.ids = [id]
        query.includePrivate = includePrivate
        return try await search(query).first
    }

    public func count(jurisdictionID: String) async throws -> Int {
        try await database.count("service_requests", jurisdictionID: jurisdictionID)
    }

    /// Opens or closes a request with an optional public note, recording who did it and auditing it, in one transaction.
    public func changeStatus(
        id: Int64, jurisdictionID: String, to status: RequestStatus, note: String?, actor: String, source: String? = nil,
        now: Date = Date()
    ) async throws -> ServiceRequest {
        try await update(
            id: id, jurisdictionID: jurisdictionID, change: RequestChange(status: status, note: note),
            by: ChangeOrigin(actor: actor, source: source), now: now)
    }

    /// Sets the status (and the public note, when there is one) and records the change in the history.
    static func applyStatus(
        id: Int64, jurisdictionID: String, to status: RequestStatus, note: String?, actor: String, at date: Date,
        sql: any SQLDatabase
    ) async throws {
        let stamp = Clock.millis(date)
        let update = sql.update("service_requests").set("status", to: status.rawValue).set("updated_at", to: stamp)
        if let note { update.set("status_notes", to: note) }
        try await update.where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, id).run()
        try await sql.insert(into: "request_updates")
            .columns("jurisdiction_id", "service_request_id", "status", "note", "actor", "created_at")
            .values(SQLBind(jurisdictionID), SQLBind(id), SQLBind(status.rawValue), SQLBind(note), SQLBind(actor), SQLBind(stamp))
            .run()
    }

    static func decode(_ row: any SQLRow, includePrivate: Bool = true) throws -> ServiceRequest {
        var attributes: [String: [String]] = [:]
        var reporter = Reporter()
        if includePrivate {
            attributes =
                (try? JSONDecoder().decode(
                    [String: [String]].self, from: Data(try row.decode(column: "attributes", as: String.self).utf8))) ?? [:]
            reporter = Reporter(
                email: try row.decode(column: "email", as: String?.self),
                deviceID: try row.decode(column: "device_id", as: String?.self),
                accountID: try row.decode(column: "account_id", as: String?.self),
                firstName: try row.decode(column: "first_name", as: String?.self),
                lastName: try row.decode(column: "last_name", as: String?.self),
                phone: try row.decode(column: "phone", as: String?.self))
        }
        return ServiceRequest(
            id: try row.decode(column: "id", as: Int64.self),
            jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
            serviceCode: try row.decode(column: "service_code", as: String.self),
            serviceName: try row.decode(column: "service_name", as: String.self),
            status: RequestStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
            statusNotes: try row.decode(column: "status_notes", as: String?.self),
            description: try row.decode(column: "description", as: String?.self),
            agencyResponsible: try row.decode(column: "agency_responsible", as: String?.self),
            serviceNotice: try row.decode(column: "service_notice", as: String?.self),
            requestedAt: Clock.date(try row.decode(column: "requested_at", as: Int64.self)),
            updatedAt: Clock.date(try row.decode(column: "updated_at", as: Int64.self)),
            expectedAt: try row.decode(column: "expected_at", as: Int64?.self).map(Clock.date),
            location: RequestLocation(
                latitude: try row.decode(column: "latitude", as: Double?.self),
                longitude: try row.decode(column: "longitude", as: Double?.self),
                address: try row.decode(column: "address", as: String?.self),
                addressID: try row.decode(column: "address_id", as: String?.self),
                zipcode: try row.decode(column: "zipcode", as: String?.self)),
            mediaURL: try row.decode(column: "media_url", as: String?.self), attributes: attributes,
            reporter: reporter, priority: RequestPriority(rawValue: try row.decode(column: "priority", as: String.self)) ?? .normal,
            assigneeID: try row.decode(column: "assignee_id", as: Int64?.self),
            residentID: try row.decode(column: "resident_id", as: Int64?.self))
    }
}
