import CivitasCore
import Foundation
import SQLKit

/// Addresses that are not entries of the address points: a house number between two known ones on the same street,
/// and streets spelled nearly like one typed.
extension AddressStore {
    /// The house number and the street of an address as `searchKey` writes it: "105 N CHARLES ST" is (105, "N CHARLES ST").
    static func numberAndStreet(_ text: String) -> (number: Int, street: String)? {
        let words = AddressPoint.searchKey(text).split(separator: " ")
        guard words.count >= 2, let number = Int(words[0]), number >= 0 else { return nil }
        return (number, words.dropFirst().joined(separator: " "))
    }

    /// An address typed with a house number the points do not have, on a street they do: placed between the known
    /// numbers either side (or at the nearest one), within `reach` numbers. "105 N Charles St" between 100 and 110.
    public func onSameStreet(_ text: String, jurisdictionID: String, reach: Int = 200) async throws -> AddressPoint? {
        guard let (number, street) = Self.numberAndStreet(text) else { return nil }
        let points = try await pointsOn(street: street, jurisdictionID: jurisdictionID)
        let numbered = points.compactMap { point -> (Int, AddressPoint)? in
            guard let (n, s) = Self.numberAndStreet(point.address), s == street else { return nil }
            return (n, point)
        }
        guard let nearest = numbered.min(by: { abs($0.0 - number) < abs($1.0 - number) }), abs(nearest.0 - number) <= reach else {
            return nil
        }
        var location = nearest.1.location
        let below = numbered.filter { $0.0 < number }.max { $0.0 < $1.0 }
        let above = numbered.filter { $0.0 > number }.min { $0.0 < $1.0 }
        if nearest.0 != number, let below, let above, below.1.location.distance(to: above.1.location) < 500 {
            let share = Double(number - below.0) / Double(above.0 - below.0)
            location = Coordinate(
                latitude: below.1.location.latitude + share * (above.1.location.latitude - below.1.location.latitude),
                longitude: below.1.location.longitude + share * (above.1.location.longitude - below.1.location.longitude))
        }
        return AddressPoint(address: "\(number) \(Self.shown(street, like: nearest.1.address))", zipcode: nearest.1.zipcode, location: location)
    }

    /// "Did you mean": the same house number on streets spelled nearly like the one typed, nearest spelling first.
    public func similarStreets(_ text: String, jurisdictionID: String, limit: Int = 3) async throws -> [AddressPoint] {
        guard let (number, street) = Self.numberAndStreet(text),
            let word = street.split(separator: " ").filter({ $0.count >= 3 && Int($0) == nil }).max(by: { $0.count < $1.count })
        else { return [] }
        let pattern = "% " + Self.escapeLike(String(word.prefix(3))) + "%"
        let candidates = try await database.read { sql in
            try await sql.select().columns("address", "zipcode", "latitude", "longitude").from("address_points")
                .where("jurisdiction_id", .equal, jurisdictionID).where(Self.like(pattern)).limit(5000).all().map(Self.point)
        }
        var streets: [String: Int] = [:]
        for point in candidates {
            guard let (_, other) = Self.numberAndStreet(point.address), other != street, streets[other] == nil else { continue }
            let distance = Self.editDistance(other, street)
            if distance <= max(2, street.count / 4) { streets[other] = distance }
        }
        var found: [AddressPoint] = []
        for other in streets.sorted(by: { ($0.value, $0.key) < ($1.value, $1.key) }).map(\.key) where found.count < limit {
            if let point = try await onSameStreet("\(number) \(other)", jurisdictionID: jurisdictionID, reach: 10_000) { found.append(point) }
        }
        return found
    }

    func pointsOn(street: String, jurisdictionID: String) async throws -> [AddressPoint] {
        let pattern = "% " + Self.escapeLike(street)
        return try await database.read { sql in
            try await sql.select().columns("address", "zipcode", "latitude", "longitude").from("address_points")
                .where("jurisdiction_id", .equal, jurisdictionID).where(Self.like(pattern)).limit(5000).all().map(Self.point)
        }
    }

    static func escapeLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    static func like(_ pattern: String) -> SQLBinaryExpression {
        SQLBinaryExpression(SQLColumn("search"), SQLBinaryOperator.like, SQLList([SQLBind(pattern), SQLRaw("ESCAPE '\\'")], separator: SQLRaw(" ")))
    }

    /// The street as the points write it (their case), found again in one of its addresses.
    static func shown(_ street: String, like address: String) -> String {
        let words = address.split(separator: " ")
        return words.count > 1 ? words.dropFirst().joined(separator: " ") : street
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
