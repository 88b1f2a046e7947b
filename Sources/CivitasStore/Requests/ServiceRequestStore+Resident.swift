import CivitasCore
import Foundation
import SQLKit

extension ServiceRequestStore {
    /// How long after closing the person who reported a problem may say it is still there and open it again; later,
    /// they report it anew.
    public static let reopenWindow: TimeInterval = 30 * 86_400
    /// Photos a report may hold in all, from its first report and what was added later.
    public static let maximumPhotos = 6

    /// May this resident add to the report: did they report it, or do they follow it with their account or address?
    public func isOwnOrFollowed(_ request: ServiceRequest, userID: Int64, email: String) async throws -> Bool {
        if request.residentID == userID { return true }
        let address = email.lowercased()
        return try await followers(requestID: request.id, jurisdictionID: request.jurisdictionID).contains {
            $0.userID == userID || $0.email == address
        }
    }

    /// A resident adds to a report they made or follow: words for the staff working on it, a photo shown with its
    /// others, or, when it was closed within `reopenWindow`, "still a problem", which opens it again (and tells its
    /// followers, as any change of status does). All of it in one transaction, in the history and the audit chain.
    public func residentUpdate(
        id: Int64, jurisdictionID: String, comment: String, photo: MediaUpload?, reopen: Bool, by origin: ChangeOrigin, now: Date = Date()
    ) async throws -> ServiceRequest {
        let text = comment.trimmingCharacters(in: .whitespacesAndNewlines)
        if reopen, text.isEmpty {
            throw CivitasError.invalid("reopen_reason", "Say what is still wrong, so the crew knows what to look for.", field: "comment")
        }
        guard !text.isEmpty || photo != nil else {
            throw CivitasError.invalid("comment_empty", "Write what you want to add, or choose a photo.", field: "comment")
        }
        guard text.unicodeScalars.count <= 2000, ExternalText.problem(in: text) == nil else {
            throw CivitasError.invalid("comment_invalid", "Write at most 2000 characters.", field: "comment")
        }
        guard let current = try await find(id: id, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("request_not_found", "There is no service request \(id).")
        }
        if try await parent(of: id, jurisdictionID: jurisdictionID) != nil {
            throw CivitasError(.conflict, code: "request_merged", message: "This report was merged into another; add to that one instead.")
        }
        if reopen {
            guard current.status == .closed else { throw CivitasError(.conflict, code: "request_open", message: "This report is still open.") }
            guard now.timeIntervalSince(current.updatedAt) <= Self.reopenWindow else {
                throw CivitasError(
                    .conflict, code: "reopen_too_late", message: "This report was closed more than 30 days ago; report the problem again.")
            }
        } else if current.status == .closed {
            throw CivitasError(.conflict, code: "request_closed", message: "This report is closed; say it is still a problem to open it again.")
        }
        try await database.transaction { sql in
            if reopen {
                try await apply(id: id, jurisdictionID: jurisdictionID, change: RequestChange(status: .open), by: origin, now: now, sql: sql)
            }
            if !text.isEmpty {
                try await apply(
                    id: id, jurisdictionID: jurisdictionID, change: RequestChange(note: text, noteVisibility: .internal), by: origin, now: now,
                    sql: sql)
            }
            if let photo {
                let count =
                    try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("request_photos")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("service_request_id", .equal, id).first()?
                    .decode(column: "n", as: Int.self) ?? 0
                guard count < Self.maximumPhotos else {
                    throw CivitasError.invalid("photos_full", "This report has \(Self.maximumPhotos) photos already.", field: "photo")
                }
                try await MediaStore.insert(photo, jurisdictionID: jurisdictionID, now: now, sql: sql)
                try await sql.insert(into: "request_photos").columns("jurisdiction_id", "service_request_id", "position", "media_id")
                    .values(SQLBind(jurisdictionID), SQLBind(id), SQLBind(count), SQLBind(photo.id)).run()
                try await AuditStore.append(
                    AuditEvent(actor: origin.actor, action: "request.photo_added", subject: "service_request:\(id)", source: origin.source),
                    jurisdictionID: jurisdictionID, at: now, sql: sql)
            }
        }
        await announce([id], jurisdictionID: jurisdictionID)
        return try await find(id: id, jurisdictionID: jurisdictionID) ?? current
    }
}
