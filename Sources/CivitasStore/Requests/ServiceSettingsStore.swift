import CivitasCore
import Foundation
import SQLKit

/// How a service shows to the public.
public enum ServiceVisibility: String, Sendable, CaseIterable, Equatable {
    /// On the public map and list where it was reported.
    case `public`
    /// On the public map and list at the centre of a 200 m cell, never at the exact spot.
    case blurred
    /// Not on the public map or list at all (its own page still answers its reporter's reference).
    case hidden
}

/// Per-service settings an admin can change: the duplicate radius and window, public visibility, and the words
/// residents use for the service that its name and keywords do not have (searched on the report page).
public struct ServiceSettings: Sendable, Equatable {
    public var duplicates: DuplicatePolicy
    public var visibility: ServiceVisibility
    public var searchWords: [String]

    public static let standard = ServiceSettings(duplicates: .standard, visibility: .public)

    public init(duplicates: DuplicatePolicy, visibility: ServiceVisibility, searchWords: [String] = []) {
        self.duplicates = duplicates
        self.visibility = visibility
        self.searchWords = searchWords
    }

    /// Search words as an admin types them: separated by commas, trimmed, lowercased, each once.
    public static func searchWords(_ text: String) -> [String] {
        var seen = Set<String>()
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
            .filter { !$0.isEmpty && seen.insert($0).inserted }
    }
}

public struct ServiceSettingsStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// Every service's settings that differ from the standard ones, by service code.
    public func all(jurisdictionID: String) async throws -> [String: ServiceSettings] {
        try await database.read { sql in
            var out: [String: ServiceSettings] = [:]
            for row in try await sql.select().columns("service_code", "duplicate_radius_m", "duplicate_window_hours", "visibility", "search_words")
                .from("service_settings").where("jurisdiction_id", .equal, jurisdictionID).all()
            {
                out[try row.decode(column: "service_code", as: String.self)] = ServiceSettings(
                    duplicates: DuplicatePolicy(
                        radiusMetres: try row.decode(column: "duplicate_radius_m", as: Double.self),
                        window: TimeInterval(try row.decode(column: "duplicate_window_hours", as: Int.self)) * 3600),
                    visibility: ServiceVisibility(rawValue: try row.decode(column: "visibility", as: String.self)) ?? .public,
                    searchWords: ServiceSettings.searchWords(try row.decode(column: "search_words", as: String.self)))
            }
            return out
        }
    }

    public func settings(for serviceCode: String, jurisdictionID: String) async throws -> ServiceSettings {
        try await all(jurisdictionID: jurisdictionID)[serviceCode] ?? .standard
    }

    public func set(_ settings: ServiceSettings, for serviceCode: String, jurisdictionID: String, actor: String, now: Date = Date()) async throws {
        guard (1...5000).contains(settings.duplicates.radiusMetres), (1...(24 * 365)).contains(Int(settings.duplicates.window / 3600)) else {
            throw CivitasError.invalid(
                "settings_invalid", "The duplicate radius must be 1 to 5000 metres and the window 1 hour to a year.")
        }
        let words = settings.searchWords.joined(separator: ",")
        guard words.count <= 2000, !settings.searchWords.contains(where: { $0.count > 60 }) else {
            throw CivitasError.invalid("settings_invalid", "Search words are at most 60 characters each and 2000 in all.")
        }
        try await database.transaction { sql in
            try await sql.delete(from: "service_settings").where("jurisdiction_id", .equal, jurisdictionID)
                .where("service_code", .equal, serviceCode).run()
            try await sql.insert(into: "service_settings")
                .columns(
                    "jurisdiction_id", "service_code", "duplicate_radius_m", "duplicate_window_hours", "visibility", "search_words", "updated_at"
                )
                .values(
                    SQLBind(jurisdictionID), SQLBind(serviceCode), SQLBind(settings.duplicates.radiusMetres),
                    SQLBind(Int(settings.duplicates.window / 3600)), SQLBind(settings.visibility.rawValue), SQLBind(words),
                    SQLBind(Clock.millis(now))
                ).run()
            try await AuditStore.append(
                AuditEvent(
                    actor: actor, action: "service.settings", subject: "service:\(serviceCode)", fields: ["duplicates", "visibility", "search_words"]),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }
}
