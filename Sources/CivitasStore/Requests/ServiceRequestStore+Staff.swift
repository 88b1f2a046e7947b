import CivitasCore
import Foundation
import SQLKit

/// Whether a note is for everyone (shown on the public status) or for staff only.
public enum NoteVisibility: String, Sendable, Codable, CaseIterable {
    case `public`
    case `internal`
}

/// A change staff make to a request: any of status, assignee and priority, with an optional note.
public struct RequestChange: Sendable, Equatable {
    public var status: RequestStatus?
    /// `.some(nil)` unassigns.
    public var assigneeID: Int64??
    public var priority: RequestPriority?
    public var note: String?
    public var noteVisibility: NoteVisibility = .public
    /// The note in the residents' other languages (from a prepared response), for readers and followers of them.
    public var noteTranslations: [Language: String] = [:]

    public init(
        status: RequestStatus? = nil, assigneeID: Int64?? = nil, priority: RequestPriority? = nil, note: String? = nil,
        noteVisibility: NoteVisibility = .public
    ) {
        self.status = status
        self.assigneeID = assigneeID
        self.priority = priority
        self.note = note
        self.noteVisibility = noteVisibility
    }

    public var isEmpty: Bool { status == nil && assigneeID == nil && priority == nil && note == nil }
}

/// One entry in a request's history that carries a note.
public struct RequestNote: Sendable, Equatable {
    public var id: Int64
    public var body: String
    public var visibility: NoteVisibility
    public var author: String
    public var status: RequestStatus
    public var createdAt: Date
}

/// Who is doing something, for history and the audit chain.
public struct ChangeOrigin: Sendable, Equatable {
    public var actor: String
    public var source: String?
    public init(actor: String, source: String? = nil) {
        self.actor = actor
        self.source = source
    }
}

extension ServiceRequestStore {
    /// Applies a staff change in one transaction: the request row, one history entry per part, and one audit entry.
    /// This is the path of the CLI, the API and (later) the console.
    public func update(
        id: Int64, jurisdictionID: String, change: RequestChange, by origin: ChangeOrigin, now: Date = Date()
    ) async throws -> ServiceRequest {
        guard !change.isEmpty else {
            throw CivitasError.invalid("change_empty", "Say what to change: status, assignee, priority or a note.")
        }
        if let note = change.note {
            guard !note.unicodeScalars.allSatisfy(\.properties.isWhitespace), note.unicodeScalars.count <= 5000 else {
                throw CivitasError.invalid("note_invalid", "A note needs 1 to 5000 characters.", field: "note")
            }
        }
        try await database.transaction { sql in
            try await apply(id: id, jurisdictionID: jurisdictionID, change: change, by: origin, now: now, sql: sql)
        }
        await announce([id], jurisdictionID: jurisdictionID)
        guard let request = try await find(id: id, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("request_not_found", "There is no service request \(id).")
        }
        return request
    }

    /// The same change to several requests in one transaction: all of them change, or none does.
    public func updateAll(_ ids: [Int64], jurisdictionID: String, change: RequestChange, by origin: ChangeOrigin, now: Date = Date()) async throws {
        guard !change.isEmpty else {
            throw CivitasError.invalid("change_empty", "Say what to change: status, assignee, priority or a note.")
        }
        try await database.transaction { sql in
            for id in ids { try await apply(id: id, jurisdictionID: jurisdictionID, change: change, by: origin, now: now, sql: sql) }
        }
        await announce(ids, jurisdictionID: jurisdictionID)
    }

    /// Applies a checked change inside the caller's transaction: the row, its history, the audit entry, the mail.
    func apply(id: Int64, jurisdictionID: String, change: RequestChange, by origin: ChangeOrigin, now: Date, sql: any SQLDatabase) async throws {
        guard
            let row = try await sql.select().columns("status", "email", "resident_id", "agency_responsible", "service_code")
                .from("service_requests")
                .where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, id).first()
        else { throw CivitasError.notFound("request_not_found", "There is no service request \(id).") }
        var status = RequestStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open
        let previousStatus = status
        let stamp = Clock.millis(now)
        var changed: [String] = []
        let update = sql.update("service_requests").set("updated_at", to: stamp)
        if let newStatus = change.status {
            status = newStatus
            update.set("status", to: newStatus.rawValue)
            changed.append("status")
        }
        if let assignee = change.assigneeID {
            if let assignee {
                let staff = try await sql.select().column("departments").from("users").where("id", .equal, assignee)
                    .where("jurisdiction_id", .equal, jurisdictionID).where("kind", .equal, "staff")
                    .where("disabled_at", .is, SQLLiteral.null).where("deleted_at", .is, SQLLiteral.null).first()
                guard let staff else {
                    throw CivitasError.invalid(
                        "assignee_unknown", "There is no active staff member \(assignee) to assign.", field: "assignee_id")
                }
                // Work goes to someone who can act on it: a member of the request's department.
                let department = try row.decode(column: "agency_responsible", as: String?.self)
                guard DepartmentScope(stored: try staff.decode(column: "departments", as: String.self)).contains(department) else {
                    throw CivitasError.invalid(
                        "assignee_unknown",
                        "Staff member \(assignee) is not in \(department ?? "the request's department"), so cannot be assigned this request.",
                        field: "assignee_id")
                }
                update.set("assignee_id", to: assignee)
            } else {
                update.set("assignee_id", to: SQLLiteral.null)
            }
            changed.append("assignee_id")
        }
        if let priority = change.priority {
            update.set("priority", to: priority.rawValue)
            changed.append("priority")
        }
        if let note = change.note, change.noteVisibility == .public { update.set("status_notes", to: note) }
        try await update.where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, id).run()

        let kind = change.status != nil ? "status" : (change.note != nil ? "note" : "change")
        try await sql.insert(into: "request_updates")
            .columns("jurisdiction_id", "service_request_id", "status", "note", "actor", "created_at", "visibility", "kind", "note_translations")
            .values(
                SQLBind(jurisdictionID), SQLBind(id), SQLBind(status.rawValue), SQLBind(change.note), SQLBind(origin.actor),
                SQLBind(stamp), SQLBind(change.noteVisibility.rawValue), SQLBind(kind),
                SQLBind(NoteTranslations.encode(change.note == nil ? [:] : change.noteTranslations))
            ).run()
        if change.note != nil { changed.append(change.noteVisibility == .public ? "public_note" : "internal_note") }
        try await AuditStore.append(
            AuditEvent(
                actor: origin.actor, action: "request.update", subject: "service_request:\(id)", fields: changed,
                source: origin.source),
            jurisdictionID: jurisdictionID, at: now, sql: sql)
        // Everyone following hears about a public change (a new status, or a note for the public), in the same
        // transaction: the mail is sent if and only if the change is kept.
        let publicNote = change.noteVisibility == .public ? change.note : nil
        if let notices, status != previousStatus || publicNote != nil {
            let code = try row.decode(column: "service_code", as: String.self)
            try await Self.enqueueStatusNotices(
                requestID: id, jurisdictionID: jurisdictionID,
                serviceNames: try await Self.serviceNames(code: code, jurisdictionID: jurisdictionID, sql: sql), status: status,
                note: publicNote, noteTranslations: publicNote == nil ? [:] : change.noteTranslations, settings: notices, now: now, sql: sql)
        }
    }

    /// Adds a note without changing anything else.
    public func addNote(
        id: Int64, jurisdictionID: String, body: String, visibility: NoteVisibility, by origin: ChangeOrigin, now: Date = Date()
    ) async throws -> RequestNote {
        _ = try await update(
            id: id, jurisdictionID: jurisdictionID, change: RequestChange(note: body, noteVisibility: visibility), by: origin,
            now: now)
        guard let note = try await notes(id: id, jurisdictionID: jurisdictionID, includeInternal: true).last else {
            throw CivitasError(.unavailable, code: "note_missing", message: "The note could not be read back.")
        }
        return note
    }

    /// The notes on a request, oldest first; internal ones only when asked for.
    public func notes(id: Int64, jurisdictionID: String, includeInternal: Bool) async throws -> [RequestNote] {
        try await database.read { sql in
            let select = sql.select().columns("id", "note", "visibility", "actor", "status", "created_at").from("request_updates")
                .where("jurisdiction_id", .equal, jurisdictionID).where("service_request_id", .equal, id)
                .where("note", .isNot, SQLLiteral.null)
            if !includeInternal { select.where("visibility", .equal, NoteVisibility.public.rawValue) }
            return try await select.orderBy("created_at").orderBy("id").all().map { row in
                RequestNote(
                    id: try row.decode(column: "id", as: Int64.self),
                    body: try row.decode(column: "note", as: String.self),
                    visibility: NoteVisibility(rawValue: try row.decode(column: "visibility", as: String.self)) ?? .internal,
                    author: try row.decode(column: "actor", as: String.self),
                    status: RequestStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
                    createdAt: Clock.date(try row.decode(column: "created_at", as: Int64.self)))
            }
        }
    }

    /// Records that `origin` read the personal data of a request, with the stated purpose.
    public func recordPersonalRead(
        _ request: ServiceRequest, by origin: ChangeOrigin, purpose: String?, now: Date = Date()
    ) async throws {
        var fields = request.reporter.presentFields
        if !request.attributes.isEmpty { fields.append("attributes") }
        let read = fields
        try await database.transaction { sql in
            try await AuditStore.append(
                AuditEvent(
                    actor: origin.actor, action: "request.read_personal", subject: "service_request:\(request.id)",
                    person: request.person, fields: read, purpose: purpose, source: origin.source),
                jurisdictionID: request.jurisdictionID, at: now, sql: sql)
        }
    }
}
