import CivitasCore
import Foundation
import SQLKit

/// A place residents can name: one line of an address, where it is.
public struct AddressPoint: Sendable, Equatable {
    public var address: String
    public var zipcode: String?
    public var location: Coordinate

    public init(address: String, zipcode: String? = nil, location: Coordinate) {
        self.address = address
        self.zipcode = zipcode
        self.location = location
    }

    /// Upper case, accents folded, anything but letters and digits as one space: how typed text meets addresses.
    public static func searchKey(_ text: String) -> String {
        let folded = text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).uppercased()
        return folded.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).joined(separator: " ")
    }
}

/// The jurisdiction's address points, which residents' typing is matched against.
public struct AddressStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// Replaces every point of the jurisdiction with `points`, in one transaction; returns how many are stored.
    @discardableResult
    public func replaceAll(_ points: [AddressPoint], jurisdictionID: String) async throws -> Int {
        try await database.transaction { sql in
            try await sql.delete(from: "address_points").where("jurisdiction_id", .equal, jurisdictionID).run()
            for batch in stride(from: 0, to: points.count, by: 500).map({ Array(points[$0..<min($0 + 500, points.count)]) }) {
                let insert = sql.insert(into: "address_points").columns("jurisdiction_id", "address", "search", "zipcode", "latitude", "longitude")
                for point in batch {
                    insert.values(
                        SQLBind(jurisdictionID), SQLBind(point.address), SQLBind(AddressPoint.searchKey(point.address)),
                        SQLBind(point.zipcode), SQLBind(point.location.latitude), SQLBind(point.location.longitude))
                }
                try await insert.run()
            }
            return points.count
        }
    }

    public func count(jurisdictionID: String) async throws -> Int {
        try await database.read { sql in
            let row = try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("address_points")
                .where("jurisdiction_id", .equal, jurisdictionID).first()
            return try row?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Addresses that start with what was typed, then those with a word that does ("12 main" finds "12 MAIN ST";
    /// "main st" finds "12 MAIN ST"), shortest first.
    public func search(_ text: String, jurisdictionID: String, limit: Int = 8) async throws -> [AddressPoint] {
        let key = AddressPoint.searchKey(text)
        guard key.count >= 2 else { return [] }
        let escaped = key.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        return try await database.read { sql in
            var found: [AddressPoint] = []
            for pattern in [escaped + "%", "% " + escaped + "%"] where found.count < limit {
                let rows = try await sql.select().columns("address", "zipcode", "latitude", "longitude").from("address_points")
                    .where("jurisdiction_id", .equal, jurisdictionID)
                    .where(
                        SQLBinaryExpression(
                            SQLColumn("search"), SQLBinaryOperator.like,
                            SQLList([SQLBind(pattern), SQLRaw("ESCAPE '\\'")], separator: SQLRaw(" ")))
                    )
                    .orderBy(SQLFunction("LENGTH", args: SQLColumn("search"))).orderBy("search")
                    .limit(limit).all()
                for row in rows {
                    let point = try Self.point(row)
                    if !found.contains(point) { found.append(point) }
                }
            }
            return Array(found.prefix(limit))
        }
    }

    /// The point nearest to `location` within `metres`, for naming a spot clicked on the map.
    public func nearest(to location: Coordinate, within metres: Double = 150, jurisdictionID: String) async throws -> AddressPoint? {
        let box = location.box(within: metres)
        return try await database.read { sql in
            let rows = try await sql.select().columns("address", "zipcode", "latitude", "longitude").from("address_points")
                .where("jurisdiction_id", .equal, jurisdictionID)
                .where("latitude", .greaterThanOrEqual, box.minLatitude).where("latitude", .lessThanOrEqual, box.maxLatitude)
                .where("longitude", .greaterThanOrEqual, box.minLongitude).where("longitude", .lessThanOrEqual, box.maxLongitude)
                .limit(500).all()
            return try rows.map(Self.point)
                .map { ($0, $0.location.distance(to: location)) }
                .filter { $0.1 <= metres }
                .min { $0.1 < $1.1 }?.0
        }
    }

    static func point(_ row: any SQLRow) throws -> AddressPoint {
        AddressPoint(
            address: try row.decode(column: "address", as: String.self), zipcode: try row.decode(column: "zipcode", as: String?.self),
            location: Coordinate(
                latitude: try row.decode(column: "latitude", as: Double.self), longitude: try row.decode(column: "longitude", as: Double.self)))
    }
}

/// How a service shows to the public.
public enum ServiceVisibility: String, Sendable, CaseIterable, Equatable {
    /// On the public map and list where it was reported.
    case `public`
    /// On the public map and list at the centre of a 200 m cell, never at the exact spot.
    case blurred
    /// Not on the public map or list at all (its own page still answers its reporter's reference).
    case hidden
}

/// Per-service settings an admin can change: the duplicate radius and window, and public visibility.
public struct ServiceSettings: Sendable, Equatable {
    public var duplicates: DuplicatePolicy
    public var visibility: ServiceVisibility

    public static let standard = ServiceSettings(duplicates: .standard, visibility: .public)

    public init(duplicates: DuplicatePolicy, visibility: ServiceVisibility) {
        self.duplicates = duplicates
        self.visibility = visibility
    }
}

public struct ServiceSettingsStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// Every service's settings that differ from the standard ones, by service code.
    public func all(jurisdictionID: String) async throws -> [String: ServiceSettings] {
        try await database.read { sql in
            var out: [String: ServiceSettings] = [:]
            for row in try await sql.select().columns("service_code", "duplicate_radius_m", "duplicate_window_hours", "visibility")
                .from("service_settings").where("jurisdiction_id", .equal, jurisdictionID).all()
            {
                out[try row.decode(column: "service_code", as: String.self)] = ServiceSettings(
                    duplicates: DuplicatePolicy(
                        radiusMetres: try row.decode(column: "duplicate_radius_m", as: Double.self),
                        window: TimeInterval(try row.decode(column: "duplicate_window_hours", as: Int.self)) * 3600),
                    visibility: ServiceVisibility(rawValue: try row.decode(column: "visibility", as: String.self)) ?? .public)
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
        try await database.transaction { sql in
            try await sql.delete(from: "service_settings").where("jurisdiction_id", .equal, jurisdictionID)
                .where("service_code", .equal, serviceCode).run()
            try await sql.insert(into: "service_settings")
                .columns("jurisdiction_id", "service_code", "duplicate_radius_m", "duplicate_window_hours", "visibility", "updated_at")
                .values(
                    SQLBind(jurisdictionID), SQLBind(serviceCode), SQLBind(settings.duplicates.radiusMetres),
                    SQLBind(Int(settings.duplicates.window / 3600)), SQLBind(settings.visibility.rawValue), SQLBind(Clock.millis(now))
                ).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "service.settings", subject: "service:\(serviceCode)", fields: ["duplicates", "visibility"]),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }
}

/// Someone who hears about a request: its reporter, or a resident who said "me too".
public struct Follower: Sendable, Equatable {
    public enum Kind: String, Sendable { case reporter, follower }
    public var id: Int64
    public var requestID: Int64
    public var email: String
    public var userID: Int64?
    public var kind: Kind
    public var language: Language
    public var unsubscribeToken: String
}

/// A report in progress on the web, kept between its pages (any instance can serve the next page).
public struct ReportDraftStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// A new empty draft; returns its id (random, stored hashed).
    public func create(jurisdictionID: String, lifetime: TimeInterval = 6 * 3600, now: Date = Date()) async throws -> String {
        let id = SecureRandom.token(bytes: 20)
        try await database.transaction { sql in
            try await sql.insert(into: "report_drafts").columns("id_hash", "jurisdiction_id", "data", "created_at", "expires_at")
                .values(
                    SQLBind(SecureRandom.sha256Hex(id)), SQLBind(jurisdictionID), SQLBind("{}"), SQLBind(Clock.millis(now)),
                    SQLBind(Clock.millis(now.addingTimeInterval(lifetime)))
                ).run()
        }
        return id
    }

    /// The draft's answers (each name with its values, as a form has them), or nil when it does not exist or has expired.
    public func load(_ id: String, jurisdictionID: String, now: Date = Date()) async throws -> [String: [String]]? {
        guard id.count == 40, id.allSatisfy(\.isHexDigit) else { return nil }
        return try await database.read { sql in
            guard
                let row = try await sql.select().columns("data", "expires_at").from("report_drafts")
                    .where("id_hash", .equal, SecureRandom.sha256Hex(id)).where("jurisdiction_id", .equal, jurisdictionID).first(),
                try row.decode(column: "expires_at", as: Int64.self) > Clock.millis(now)
            else { return nil }
            return try? JSONDecoder().decode([String: [String]].self, from: Data(try row.decode(column: "data", as: String.self).utf8))
        }
    }

    public func save(_ id: String, data: [String: [String]], jurisdictionID: String) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(data), as: UTF8.self)
        try await database.transaction { sql in
            try await sql.update("report_drafts").set("data", to: text).where("id_hash", .equal, SecureRandom.sha256Hex(id))
                .where("jurisdiction_id", .equal, jurisdictionID).run()
        }
    }

    public func delete(_ id: String, sql: any SQLDatabase) async throws {
        try await sql.delete(from: "report_drafts").where("id_hash", .equal, SecureRandom.sha256Hex(id)).run()
    }

    public func delete(_ id: String) async throws {
        try await database.transaction { sql in try await delete(id, sql: sql) }
    }

    /// Drops expired drafts; returns how many.
    @discardableResult
    public func purge(now: Date = Date()) async throws -> Int {
        try await database.transaction { sql in
            let rows = try await sql.delete(from: "report_drafts").where("expires_at", .lessThan, Clock.millis(now)).returning("id_hash").all()
            return rows.count
        }
    }
}
