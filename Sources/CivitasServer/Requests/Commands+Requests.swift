import CivitasCore
import CivitasStore
import Foundation
import Logging

extension Commands {
    /// Reads a catalog file and creates or updates its services, all or nothing.
    public static func importServices(file: String, stores: Stores, jurisdictionID: String) async throws
        -> ServiceStore.ImportResult
    {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw CivitasError.invalid("catalog_unreadable", "Cannot read \(file): \(error.localizedDescription)")
        }
        let services = try ServiceCatalog.parse(data)
        guard !services.isEmpty else {
            throw CivitasError.invalid("catalog_empty", "\(file) lists no services; nothing was imported.")
        }
        return try await stores.services.upsert(services, jurisdictionID: jurisdictionID)
    }

    /// A staff status change from the shell: the same store call the staff API makes.
    /// `civitas requests update`: the same change, validation and audit entry as `PATCH /api/v1/service-requests/{id}`.
    public static func updateRequest(
        id text: String, status statusText: String?, priority priorityText: String? = nil, assignee assigneeText: String? = nil,
        note: String?, internalNote: Bool = false, stores: Stores, jurisdictionID: String, actor: String
    ) async throws -> ServiceRequest {
        guard let id = Int64(text), id > 0 else {
            throw CivitasError.invalid("request_id_invalid", "\"\(text)\" is not a service request id; ids are whole numbers.")
        }
        var change = RequestChange(noteVisibility: internalNote ? .internal : .public)
        if let statusText {
            guard let status = RequestStatus(rawValue: statusText.lowercased()) else {
                throw CivitasError.invalid("status_invalid", "--status must be open or closed, not \"\(statusText)\".")
            }
            change.status = status
        }
        if let priorityText {
            guard let priority = RequestPriority(rawValue: priorityText.lowercased()) else {
                throw CivitasError.invalid(
                    "priority_invalid", "--priority must be low, normal, high or urgent, not \"\(priorityText)\".")
            }
            change.priority = priority
        }
        if let assigneeText {
            if assigneeText.lowercased() == "none" {
                change.assigneeID = .some(nil)
            } else if let staff = Int64(assigneeText), staff > 0 {
                change.assigneeID = .some(staff)
            } else {
                throw CivitasError.invalid(
                    "assignee_invalid", "--assignee takes a staff id (see `civitas users list`) or none, not \"\(assigneeText)\".")
            }
        }
        let cleaned = note?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let cleaned, cleaned.unicodeScalars.count > 5000 {
            throw CivitasError.invalid("note_too_long", "The note is \(cleaned.unicodeScalars.count) characters long; the limit is 5000.")
        }
        change.note = cleaned.flatMap { $0.isEmpty ? nil : $0 }
        if internalNote, change.note == nil {
            throw CivitasError.invalid("note_missing", "--internal marks the note as staff-only; give one with --note.")
        }
        guard !change.isEmpty else {
            throw CivitasError.invalid("change_empty", "Say what to change: --status, --priority, --assignee or --note.")
        }
        return try await stores.requests.update(
            id: id, jurisdictionID: jurisdictionID, change: change, by: ChangeOrigin(actor: actor, source: "cli"))
    }

    /// Refuses a service code the catalog does not have, for the verbs that change one service's settings.
    public static func requireService(_ code: String, stores: Stores, jurisdictionID: String) async throws {
        guard try await stores.services.find(code: code, jurisdictionID: jurisdictionID) != nil else {
            throw CivitasError.notFound("service_unknown", "There is no service with code \(code).")
        }
    }
}
