import Foundation
import Testing

@testable import CivitasCore

/// Real 311 records, looked up by their service request number, from Tests/Fixtures/311: the header and the rows these
/// tests name, cut from the public Los Angeles and Baltimore files (sources in Tests/Fixtures/README.md).
enum Real311 {
    struct Record {
        var number: String
        var type: String
        var created: Date
        var location: Coordinate
        var address: String
    }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fixtures/311")

    static func losAngeles(_ number: String) throws -> Record {
        try find(number, file: "los_angeles_2017_12_27_to_31.sample.csv", id: "SRNumber", type: "RequestType")
    }

    static func baltimore(_ number: String) throws -> Record {
        try find(number, file: "baltimore_2014_2019_sample.sample.csv", id: "ServiceRequestNum", type: "SRType")
    }

    static func find(_ number: String, file: String, id: String, type: String) throws -> Record {
        let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).makeIterator()
        guard let first = lines.next() else { throw CivitasError.notFound("empty", "\(file) is empty") }
        let header = fields(String(first))
        func column(_ name: String) throws -> Int { try #require(header.firstIndex(of: name), "no column \(name) in \(file)") }
        let (idColumn, typeColumn) = (try column(id), try column(type))
        let (created, latitude, longitude, address) = (
            try column("CreatedDate"), try column("Latitude"), try column("Longitude"), try column("Address")
        )
        while let line = lines.next() {
            guard line.contains(number) else { continue }
            let row = fields(String(line))
            guard row.count == header.count, row[idColumn] == number else { continue }
            let format = DateFormatter()
            format.locale = Locale(identifier: "en_US_POSIX")
            format.timeZone = TimeZone(identifier: file.hasPrefix("los") ? "America/Los_Angeles" : "America/New_York")
            format.dateFormat = "MM/dd/yyyy hh:mm:ss a"
            return Record(
                number: number, type: row[typeColumn], created: try #require(format.date(from: row[created])),
                location: Coordinate(latitude: try #require(Double(row[latitude])), longitude: try #require(Double(row[longitude]))),
                address: row[address])
        }
        throw CivitasError.notFound("missing", "\(number) is not in \(file)")
    }

    /// One CSV line: commas, and double quotes around fields that contain them.
    static func fields(_ line: String) -> [String] {
        var out: [String] = []
        var current = ""
        var quoted = false
        var previous: Character?
        for character in line {
            if character == "\"" {
                if quoted, previous == "\"" { current.append("\"") }
                quoted.toggle()
            } else if character == ",", !quoted {
                out.append(current)
                current = ""
            } else {
                current.append(character)
            }
            previous = character
        }
        out.append(current)
        return out
    }

    static func probe(_ record: Record, service: String, description: String? = nil) -> DuplicateProbe {
        DuplicateProbe(serviceCode: service, location: record.location, at: record.created, description: description)
    }

    static func candidate(_ record: Record, service: String, id: Int64, status: RequestStatus = .open, description: String? = nil)
        -> DuplicateCandidate
    {
        DuplicateCandidate(
            id: id, serviceCode: service, status: status, location: record.location, requestedAt: record.created,
            description: description)
    }
}

@Suite("Duplicate scoring on real 311 cases")
struct DuplicateScoringTests {
    @Test("same spot, same day: two Los Angeles bulky-item reports for 6115 E Mesa Ave, 2.5 minutes apart")
    func sameSpotSameDay() throws {
        let first = try Real311.losAngeles("1-870703871")
        let second = try Real311.losAngeles("1-870693641")
        #expect(first.type == "Bulky Items" && second.type == "Bulky Items")
        let match = try #require(
            DuplicateScoring.match(Real311.probe(second, service: "BULKY"), Real311.candidate(first, service: "BULKY", id: 1)))
        #expect(match.distanceMetres < 1)
        #expect(match.score > 0.95)
        #expect(match.explanation == "same service, 0 m away, opened 2 min ago")
    }

    @Test("50 m apart a week later: a fallen limb in Baltimore is outside the default 50 m, inside a 100 m street-tree radius")
    func fiftyMetresAWeekLater() throws {
        let first = try Real311.baltimore("15-00373507")
        let second = try Real311.baltimore("15-00397035")
        #expect(first.type == "FOR-Fallen Limb" && second.type == first.type)
        let probe = Real311.probe(second, service: "TREE")
        let candidate = Real311.candidate(first, service: "TREE", id: 7)
        #expect(DuplicateScoring.match(probe, candidate) == nil, "56 m is past the default radius")
        let trees = DuplicatePolicy(radiusMetres: 100, window: 14 * 86_400)
        let match = try #require(DuplicateScoring.match(probe, candidate, policy: trees))
        #expect((50...60).contains(match.distanceMetres))
        #expect(match.explanation == "same service, 56 m away, opened 7 days ago")
        // A week later it is a weaker match than a same-day report at the same spot would be.
        #expect(match.score < 0.5)
        // Past the service's window it is not offered at all.
        #expect(DuplicateScoring.match(probe, candidate, policy: DuplicatePolicy(radiusMetres: 100, window: 3 * 86_400)) == nil)
        // Nor once it is closed (this one was, within the hour).
        #expect(DuplicateScoring.match(probe, Real311.candidate(first, service: "TREE", id: 7, status: .closed), policy: trees) == nil)
    }

    @Test("a different service at the same spot is not a duplicate: bulky items and an appliance at 3677 S 3rd Ave")
    func differentServiceSameSpot() throws {
        let bulky = try Real311.losAngeles("1-870685951")
        let appliance = try Real311.losAngeles("1-870686801")
        #expect(bulky.type == "Bulky Items" && appliance.type == "Metal/Household Appliances")
        #expect(bulky.location == appliance.location)
        #expect(DuplicateScoring.match(Real311.probe(bulky, service: "BULKY"), Real311.candidate(appliance, service: "APPLIANCE", id: 2)) == nil)
    }

    @Test("a street light Baltimore marked as a duplicate, 39 m and two days apart, ranks above a farther one")
    func cityMarkedDuplicate() throws {
        let original = try Real311.baltimore("18-00724952")
        let later = try Real311.baltimore("18-00730986")
        #expect(original.type == "BGE-StLight(s) Out" && later.type == original.type)
        let probe = Real311.probe(later, service: "STREETLIGHT", description: "Street light out on Oak Hill")
        var farther = Real311.candidate(original, service: "STREETLIGHT", id: 9)
        farther.location = Coordinate(latitude: later.location.latitude + 0.0004, longitude: later.location.longitude)
        let ranked = DuplicateScoring.rank(
            probe, [farther, Real311.candidate(original, service: "STREETLIGHT", id: 3, description: "Streetlights out on Oak Hill Ave")])
        #expect(ranked.map(\.id) == [3, 9])
        #expect(ranked[0].explanation.hasPrefix("same service, 39 m away, opened 47 h ago"))
        #expect(ranked[0].explanation.hasSuffix("similar description"))
    }

    @Test("similar descriptions share words after folding case, accents and plurals")
    func text() {
        #expect(DuplicateScoring.similarity("Old couches and a mattress", "couch + mattresses on the kerb")! > 0.3)
        #expect(DuplicateScoring.similarity("Sofá en la acera", "sofa en la ACERA")! == 1)
        #expect(DuplicateScoring.similarity("pothole", "graffiti on wall")! == 0)
        #expect(DuplicateScoring.similarity("a", "pothole") == nil)
        #expect(DuplicateScoring.similarity(nil, "pothole") == nil)
    }
}

@Suite("SLA clocks")
struct SLAClockTests {
    let opened = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("badges at 50%, 75% and breach; nothing for closed requests or services without a target")
    func badges() {
        let due = opened.addingTimeInterval(100 * 3600)
        func state(hours: Double, status: RequestStatus = .open, expected: Date? = nil) -> SLAState {
            SLAClock(requestedAt: opened, expectedAt: expected ?? due, status: status, now: opened.addingTimeInterval(hours * 3600)).state
        }
        #expect(state(hours: 10) == .onTrack)
        #expect(state(hours: 50) == .half)
        #expect(state(hours: 74.9) == .half)
        #expect(state(hours: 75) == .threeQuarters)
        #expect(state(hours: 100) == .breached)
        #expect(state(hours: 500, status: .closed) == SLAState.none)
        #expect(SLAClock(requestedAt: opened, expectedAt: nil, status: .open, now: opened).state == SLAState.none)
    }

    @Test("the queue puts breached first, then the least time left, then the oldest")
    func urgency() {
        let now = opened.addingTimeInterval(50 * 3600)
        func item(_ id: Int64, hoursToDue: Double?) -> (clock: SLAClock, requestedAt: Date, id: Int64) {
            let expected = hoursToDue.map { now.addingTimeInterval($0 * 3600) }
            return (
                SLAClock(requestedAt: opened.addingTimeInterval(Double(id)), expectedAt: expected, status: .open, now: now),
                opened.addingTimeInterval(Double(id)), id
            )
        }
        let sorted = [item(1, hoursToDue: nil), item(2, hoursToDue: 10), item(3, hoursToDue: -5), item(4, hoursToDue: 2), item(5, hoursToDue: nil)]
            .sorted(by: SLAClock.urgencyOrder).map(\.id)
        #expect(sorted == [3, 4, 2, 1, 5])
    }
}

@Suite("Coordinates")
struct CoordinateTests {
    @Test("distances in metres and a stable blur to a grid cell")
    func geo() {
        let a = Coordinate(latitude: 39.2904, longitude: -76.6122)
        let b = Coordinate(latitude: 39.2913, longitude: -76.6122)
        #expect(abs(a.distance(to: b) - 100) < 1)
        let blurred = a.blurred(toCell: 200)
        #expect(blurred.distance(to: a) < 150)
        #expect(Coordinate(latitude: 39.29041, longitude: -76.61221).blurred(toCell: 200) == blurred)
    }
}

@Suite("Photos: type from the bytes, metadata removed")
struct PhotoTests {
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let length = UInt32(data.count)
        return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + Array(type.utf8) + data + [
            0, 0, 0, 0,
        ]
    }

    @Test("PNG text and Exif chunks are dropped; the picture chunks stay in order")
    func png() throws {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let header = chunk("IHDR", [0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0])
        let bytes =
            signature + header + chunk("tEXt", Array("Location\u{0}39.29,-76.61".utf8)) + chunk("eXIf", [1, 2, 3])
            + chunk("IDAT", [1, 2, 3, 4]) + chunk("IEND", [])
        let (kind, stripped) = try #require(Photo.stripped(bytes))
        #expect(kind == .png)
        #expect(stripped == signature + header + chunk("IDAT", [1, 2, 3, 4]) + chunk("IEND", []))
    }

    @Test("JPEG APP1 (Exif, GPS) goes, JFIF and the scan stay; not-images and truncated files are refused")
    func jpeg() throws {
        let app0: [UInt8] = [0xFF, 0xE0, 0x00, 0x06, 0x4A, 0x46, 0x49, 0x46]
        let exif: [UInt8] = [0xFF, 0xE1, 0x00, 0x08] + Array("GPS:39".utf8)
        let scan: [UInt8] = [0xFF, 0xDA, 0x00, 0x04, 0x01, 0x00, 0x12, 0x34, 0xFF, 0xD9]
        let (kind, stripped) = try #require(Photo.stripped([0xFF, 0xD8] + app0 + exif + scan))
        #expect(kind == .jpeg)
        #expect(stripped == [0xFF, 0xD8] + app0 + scan)
        #expect(Photo.stripped(Array("GIF89a....".utf8)) == nil)
        #expect(Photo.stripped([0xFF, 0xD8] + app0 + [0xFF, 0xE1, 0x40, 0x00]) == nil)
    }
}
