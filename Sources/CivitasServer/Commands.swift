import CivitasCore
import CivitasStore
import Foundation
import Logging

/// What the `civitas` verbs do, kept here so the executable holds no logic and tests can call the same code.
public enum Commands {
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
    public static func updateRequest(
        id text: String, status statusText: String, note: String?, stores: Stores, jurisdictionID: String, actor: String
    ) async throws -> ServiceRequest {
        guard let id = Int64(text), id > 0 else {
            throw CivitasError.invalid("request_id_invalid", "\"\(text)\" is not a service request id; ids are whole numbers.")
        }
        guard let status = RequestStatus(rawValue: statusText.lowercased()) else {
            throw CivitasError.invalid("status_invalid", "--status must be open or closed, not \"\(statusText)\".")
        }
        let cleaned = note?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let cleaned, cleaned.count > 4000 {
            throw CivitasError.invalid("note_too_long", "The note is \(cleaned.count) characters long; the limit is 4000.")
        }
        return try await stores.requests.changeStatus(
            id: id, jurisdictionID: jurisdictionID, to: status, note: cleaned.flatMap { $0.isEmpty ? nil : $0 },
            actor: actor)
    }
}
