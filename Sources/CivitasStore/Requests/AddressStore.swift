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
