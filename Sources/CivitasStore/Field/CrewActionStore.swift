import CivitasCore
import Foundation
import SQLKit

/// What a crew does at a stop.
public enum CrewAction: String, Sendable, CaseIterable {
    case arrive
    case resolve
    case cannotDo = "cannot_do"
}

/// The answer to a crew action: applied now, applied before under the same key, or refused because someone else
/// changed the request meanwhile (shown to the crew, never dropped silently).
public struct CrewActionResult: Sendable, Equatable {
    public enum Outcome: String, Sendable { case applied, conflict }
    public var outcome: Outcome
    public var message: String
    /// True when this key was seen before and nothing was done again.
    public var replayed: Bool
}

extension ServiceRequestStore {
    /// Applies a crew's action under its idempotency key, in one transaction with the change it makes: the first
    /// call does it and records the key; any later call with the same key gets the same answer and changes nothing.
    public func crewAction(
        _ action: CrewAction, requestID: Int64, key: String, note: String?, userID: Int64, crewName: String, jurisdictionID: String,
        by origin: ChangeOrigin, photo: MediaUpload? = nil, now: Date = Date()
    ) async throws -> CrewActionResult {
        guard (16...100).contains(key.count), key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
            throw CivitasError.invalid("key_invalid", "The action needs an idempotency key of 16 to 100 letters, digits or dashes.", field: "key")
        }
        let text = note?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty
        if let text, text.unicodeScalars.count > 5000 {
            throw CivitasError.invalid("note_invalid", "A note needs at most 5000 characters.", field: "note")
        }
        if photo != nil, action != .resolve {
            throw CivitasError.invalid(
                "photo_not_allowed", "A photo goes with resolve only: it is shown to the public with the request.", field: "photo")
        }
        if action == .cannotDo, text == nil {
            throw CivitasError.invalid("reason_missing", "Say why it cannot be done.", field: "note")
        }
        // Resolving closes the request with this note for the public, who are mailed it: it has to say something.
        if action == .resolve, text == nil {
            throw CivitasError.invalid(
                "note_missing", "Write what was done: the note is shown to the public and sent to everyone following.", field: "note")
        }
        let result = try await database.transaction { sql -> CrewActionResult in
            if let seen = try await sql.select().columns("outcome", "message", "service_request_id", "action").from("crew_actions")
                .where("idempotency_key", .equal, key).first()
            {
                guard try seen.decode(column: "service_request_id", as: Int64.self) == requestID,
                    try seen.decode(column: "action", as: String.self) == action.rawValue
                else {
                    throw CivitasError(.conflict, code: "key_reused", message: "This idempotency key was used for another action.", field: "key")
                }
                return CrewActionResult(
                    outcome: CrewActionResult.Outcome(rawValue: try seen.decode(column: "outcome", as: String.self)) ?? .applied,
                    message: try seen.decode(column: "message", as: String.self), replayed: true)
            }
            guard
                let row = try await sql.select().columns("status", "parent_id").from("service_requests")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, requestID).first()
            else { throw CivitasError.notFound("request_not_found", "There is no service request \(requestID).") }
            let status = RequestStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open
            var outcome = CrewActionResult.Outcome.applied
            var message: String
            if status == .closed {
                // Someone else closed it (or merged it into another request) since the crew's plan was made.
                outcome = .conflict
                let parent = try row.decode(column: "parent_id", as: Int64?.self)
                message =
                    parent.map { "Request \(requestID) was merged into request \($0) and closed; nothing was changed." }
                    ?? "Request \(requestID) was already closed by someone else; nothing was changed."
            } else {
                var change = RequestChange()
                switch action {
                case .arrive:
                    change.note = "\(crewName) arrived."
                    change.noteVisibility = .internal
                    message = "Arrival at request \(requestID) recorded."
                case .resolve:
                    change.status = .closed
                    change.note = text ?? "Done by \(crewName)."
                    change.noteVisibility = .public
                    message = "Request \(requestID) is resolved; everyone following it is told."
                case .cannotDo:
                    change.note = "\(crewName) could not do it: \(text!)"
                    change.noteVisibility = .internal
                    message = "Request \(requestID) stays open; the dispatcher sees why."
                }
                try await apply(id: requestID, jurisdictionID: jurisdictionID, change: change, by: origin, now: now, sql: sql)
                if let photo {
                    // The "after" photo joins the request's photos, after the reporter's, in the same transaction.
                    try await MediaStore.insert(photo, jurisdictionID: jurisdictionID, now: now, sql: sql)
                    let last = try await sql.select().column(SQLFunction("MAX", args: SQLColumn("position")), as: "last").from("request_photos")
                        .where("service_request_id", .equal, requestID).first()?.decode(column: "last", as: Int?.self)
                    try await sql.insert(into: "request_photos").columns("jurisdiction_id", "service_request_id", "position", "media_id")
                        .values(SQLBind(jurisdictionID), SQLBind(requestID), SQLBind((last ?? -1) + 1), SQLBind(photo.id)).run()
                }
            }
            try await sql.insert(into: "crew_actions")
                .columns("idempotency_key", "jurisdiction_id", "user_id", "service_request_id", "action", "outcome", "message", "created_at")
                .values(
                    SQLBind(key), SQLBind(jurisdictionID), SQLBind(userID), SQLBind(requestID), SQLBind(action.rawValue),
                    SQLBind(outcome.rawValue), SQLBind(message), SQLBind(Clock.millis(now))
                ).run()
            return CrewActionResult(outcome: outcome, message: message, replayed: false)
        }
        if !result.replayed, result.outcome == .applied { await announce([requestID], jurisdictionID: jurisdictionID) }
        return result
    }
}

extension ServiceRequestStore {
    /// The requests among `ids` where a crew's arrival was recorded (and applied) since `since`.
    public func arrivals(_ ids: [Int64], since: Date, jurisdictionID: String) async throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        return try await database.read { sql in
            Set(
                try await sql.select().column("service_request_id").from("crew_actions").where("jurisdiction_id", .equal, jurisdictionID)
                    .where("service_request_id", .in, ids).where("action", .equal, CrewAction.arrive.rawValue)
                    .where("outcome", .equal, CrewActionResult.Outcome.applied.rawValue).where("created_at", .greaterThanOrEqual, Clock.millis(since))
                    .all().map { try $0.decode(column: "service_request_id", as: Int64.self) })
        }
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
