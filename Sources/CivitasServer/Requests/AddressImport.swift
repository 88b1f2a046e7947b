import CivitasCore
import CivitasStore
import Foundation
import SwiftCSV

/// Reads address points from a CSV file: a header row naming an address column and latitude and longitude columns
/// (common spellings accepted, so a city's 311 or address-point export can be used as it is), and optionally a zip code.
public enum AddressImport {
    public struct Result: Sendable, Equatable {
        public var points: [AddressPoint]
        /// Rows left out, by reason.
        public var skipped: [String: Int]
    }

    static let addressNames = ["address", "full_address", "fulladdress", "address_string", "street_address", "addr"]
    static let latitudeNames = ["lat", "latitude", "y"]
    static let longitudeNames = ["long", "lon", "lng", "longitude", "x"]
    static let zipNames = ["zipcode", "zip", "zip_code", "postcode", "postal_code"]

    public static func read(_ url: URL) throws -> Result {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw CivitasError.invalid("file_unreadable", "Cannot read \(url.path): \(error.localizedDescription)")
        }
        return try parse(text, name: url.lastPathComponent)
    }

    public static func parse(_ text: String, name: String = "the file") throws -> Result {
        let csv: CSV<Named>
        do {
            csv = try CSV<Named>(string: text, loadColumns: false)
        } catch {
            throw CivitasError.invalid("csv_invalid", "\(name) is not a readable CSV file: \(error).")
        }
        func column(_ names: [String]) -> String? {
            csv.header.first { names.contains($0.lowercased().trimmingCharacters(in: .whitespaces)) }
        }
        guard let address = column(addressNames), let latitude = column(latitudeNames), let longitude = column(longitudeNames) else {
            throw CivitasError.invalid(
                "columns_missing",
                "\(name) needs a header row with an address column (address), a latitude column (lat or latitude) and a "
                    + "longitude column (long, lon, lng or longitude). Its columns are: \(csv.header.joined(separator: ", ")).")
        }
        let zip = column(zipNames)
        var seen: Set<String> = []
        var points: [AddressPoint] = []
        var skipped: [String: Int] = [:]
        for row in csv.rows {
            guard let rawAddress = row[address], let lat = row[latitude].flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }),
                let long = row[longitude].flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) })
            else {
                skipped["no address or coordinates", default: 0] += 1
                continue
            }
            guard (-90...90).contains(lat), (-180...180).contains(long), lat != 0 || long != 0 else {
                skipped["coordinates out of range", default: 0] += 1
                continue
            }
            // Whole-degree coordinates are a placeholder, not a place (Baltimore's export uses 39, -77).
            guard lat != lat.rounded() || long != long.rounded() else {
                skipped["placeholder coordinates", default: 0] += 1
                continue
            }
            // "3400 GARRISON BLVD, BALTIMORE, MD, 21215": the street line is what residents type.
            let parts = rawAddress.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let street = parts.first, street.count >= 3, street.first?.isNumber == true || parts.count == 1 else {
                skipped["not a street address", default: 0] += 1
                continue
            }
            let display = titleCased(street)
            let key = AddressPoint.searchKey(display)
            guard !key.isEmpty, seen.insert(key).inserted else {
                skipped["duplicate address", default: 0] += 1
                continue
            }
            let zipcode =
                zip.flatMap { row[$0] }?.trimmingCharacters(in: .whitespaces)
                ?? parts.last.flatMap { $0.count == 5 && $0.allSatisfy(\.isNumber) ? $0 : nil }
            points.append(
                AddressPoint(
                    address: display, zipcode: zipcode?.isEmpty == false ? zipcode : nil,
                    location: Coordinate(latitude: lat, longitude: long)))
        }
        return Result(points: points, skipped: skipped)
    }

    /// "3400 GARRISON BLVD" → "3400 Garrison Blvd"; text already in mixed case is kept.
    static func titleCased(_ text: String) -> String {
        guard text == text.uppercased() else { return text }
        return text.split(separator: " ").map { word in
            let lower = word.lowercased()
            guard let first = lower.first, first.isLetter else { return lower.uppercased() == lower ? String(word) : lower }
            // Ordinals and directions stay as people write them: "1st", "N".
            if word.count == 1 { return String(word) }
            return first.uppercased() + lower.dropFirst()
        }.joined(separator: " ")
    }
}
