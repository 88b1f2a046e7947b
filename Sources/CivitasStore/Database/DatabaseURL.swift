import CivitasCore
import Foundation

/// Where Civitas keeps its data: an SQLite file (`sqlite:PATH`) or a PostgreSQL server (`postgres://...`).
public enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    public static let defaultValue = "sqlite:./civitas-data/civitas.sqlite"

    public init(parsing text: String) throws(CivitasError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("sqlite:") {
            var path = String(trimmed.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else {
                throw .invalid("database_url_invalid", "The SQLite URL needs a file path, e.g. sqlite:./civitas-data/civitas.sqlite.")
            }
            self = .sqlite(path: path)
        } else if trimmed.hasPrefix("postgres://") || trimmed.hasPrefix("postgresql://") {
            guard let url = URL(string: trimmed), url.host != nil, url.user != nil else {
                throw .invalid(
                    "database_url_invalid",
                    "The PostgreSQL URL must look like postgres://user:password@host:5432/dbname.")
            }
            self = .postgres(url: trimmed)
        } else {
            throw .invalid(
                "database_url_invalid",
                "The database URL must start with sqlite: or postgres://, e.g. \(Self.defaultValue).")
        }
    }

    /// The URL without its password, safe to print and log.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "postgres://…" }
            if components.password != nil { components.password = "***" }
            return components.string ?? "postgres://…"
        }
    }
}
