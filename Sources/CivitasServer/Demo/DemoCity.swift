import CivitasCore
import CivitasStore
import Foundation

/// A demo city to explore Civitas with: a realistic catalog and a few hundred requests over the last four weeks,
/// placed in real Baltimore neighborhoods (centres derived from the city's public 311 data).
public enum DemoCity {
    /// What the demo created, for the person who asked for it.
    public struct Summary: Sendable, CustomStringConvertible {
        public var city: String
        public var services: Int
        public var departments: [String]
        public var requests: Int
        public var open: Int
        public var closed: Int
        public var addresses: Int = 0

        public var description: String {
            """
            Demo city loaded: \(city)
              \(services) services in \(departments.count) departments (\(departments.joined(separator: ", ")))
              \(requests) service requests over the last 28 days: \(open) open, \(closed) closed
              \(addresses) address points for matching what residents type
            """
        }
    }

    struct Places: Decodable {
        struct Place: Decodable {
            var neighborhood: String
            var lat: Double
            var long: Double
            var zipcode: String
            var streets: [String]
        }
        var city: String
        var timeZone: String
        var places: [Place]

        enum CodingKeys: String, CodingKey {
            case city, places
            case timeZone = "time_zone"
        }
    }

    /// The demo catalog, in the same format `civitas services import` reads.
    public static func catalog() throws -> [ServiceDefinition] {
        guard let url = Bundle.module.url(forResource: "catalog", withExtension: "json", subdirectory: "Resources/demo") else {
            throw CivitasError(.unavailable, code: "demo_missing", message: "The demo catalog is missing from this build.")
        }
        return try ServiceCatalog.parse(try Data(contentsOf: url))
    }

    static func searchWords() throws -> [String: [String]] {
        guard let url = Bundle.module.url(forResource: "search-words", withExtension: "json", subdirectory: "Resources/demo") else { return [:] }
        return try JSONDecoder().decode([String: [String]].self, from: Data(contentsOf: url))
    }

    static func places() throws -> Places {
        guard let url = Bundle.module.url(forResource: "places", withExtension: "json", subdirectory: "Resources/demo") else {
            throw CivitasError(.unavailable, code: "demo_missing", message: "The demo places are missing from this build.")
        }
        return try JSONDecoder().decode(Places.self, from: Data(contentsOf: url))
    }

    /// The demo city's name and zone, used when the operator configured none.
    public static func jurisdiction(id: String) throws -> Jurisdiction {
        let places = try places()
        return Jurisdiction(
            id: id, name: "\(places.city) (demo)", timeZone: TimeZone(identifier: places.timeZone) ?? .gmt)
    }

    /// Loads the demo into an empty jurisdiction. Returns nil, changing nothing, when it already has services or requests.
    /// `addressFiles` are tried in order for the city's address points (see `addressFiles()`); tests give their fixture.
    public static func load(
        into stores: Stores, jurisdictionID: String, count: Int = 360, now: Date = Date(), addressFiles: [URL] = addressFiles()
    ) async throws
        -> Summary?
    {
        guard try await stores.services.count(jurisdictionID: jurisdictionID) == 0,
            try await stores.requests.count(jurisdictionID: jurisdictionID) == 0
        else { return nil }
        let services = try catalog()
        let places = try places()
        try await stores.services.upsert(services, jurisdictionID: jurisdictionID, now: now.addingTimeInterval(-29 * 86_400))
        // Words residents type that the catalog's names and keywords lack ("sofa" for bulky items), as an admin adds them.
        for (code, words) in try searchWords() where services.contains(where: { $0.code == code }) {
            var settings = try await stores.serviceSettings.settings(for: code, jurisdictionID: jurisdictionID)
            settings.searchWords = words
            try await stores.serviceSettings.set(settings, for: code, jurisdictionID: jurisdictionID, actor: "demo", now: now)
        }
        var random = SplitMix64(seed: 311)
        let weights: [String: Int] = ["BULKY": 9, "POTHOLE": 8, "MISSED": 6, "DUMPING": 6, "STREETLIGHT": 5, "GRAFFITI": 5]
        let weighted = services.filter { $0.type != .batch }.flatMap { Array(repeating: $0, count: weights[$0.code] ?? 2) }
        var items: [ServiceRequestStore.HistoricRequest] = []
        for _ in 0..<count {
            let service = weighted[Int(random.next() % UInt64(weighted.count))]
            let place = places.places[Int(random.next() % UInt64(places.places.count))]
            let age = random.unit() * 28 * 86_400
            let requestedAt = now.addingTimeInterval(-age).rounded()
            var pairs: [(String, String)] = [
                ("lat", String(format: "%.6f", place.lat + (random.unit() - 0.5) * 0.006)),
                ("long", String(format: "%.6f", place.long + (random.unit() - 0.5) * 0.008)),
                ("address_string", "\(100 * (1 + random.next() % 40)) \(place.streets.first ?? "Main St"), \(places.city)"),
                ("zipcode", place.zipcode),
                ("description", description(for: service, in: place.neighborhood, random: &random)),
            ]
            for attribute in service.orderedAttributes where attribute.variable {
                guard attribute.required || random.next() % 2 == 0 else { continue }
                pairs += answer(attribute, at: requestedAt, random: &random).map { ("attribute[\(attribute.code)][]", $0) }
            }
            guard case .success(let new) = NewServiceRequest.validate(Open311Parameters(pairs), service: service) else {
                continue
            }
            var closed: (at: Date, note: String)?
            let sla = TimeInterval(service.slaHours ?? 72) * 3600
            // Older requests are mostly closed, recent ones mostly open; some fall behind, as in a real backlog.
            if random.unit() < min(0.8, age / (sla * 2.5)) {
                let took = min(age - 600, sla * (0.1 + random.unit() * 1.1))
                closed = (requestedAt.addingTimeInterval(max(600, took)).rounded(), closingNote(&random))
            }
            items.append(.init(request: new, service: service, requestedAt: requestedAt, closed: closed))
        }
        items.sort { $0.requestedAt < $1.requestedAt }
        _ = try await stores.requests.createAll(items, jurisdictionID: jurisdictionID, source: "demo")
        let closedCount = items.filter { $0.closed != nil }.count
        let addresses = try await loadAddresses(into: stores, jurisdictionID: jurisdictionID, places: places, files: addressFiles)
        try await loadCaseTypes(into: stores, jurisdictionID: jurisdictionID)
        for response in preparedResponses {
            try await stores.templates.create(
                serviceCode: nil, title: response.title, body: response.english, status: response.status, translations: [.spanish: response.spanish],
                jurisdictionID: jurisdictionID, actor: "demo", now: now)
        }
        return Summary(
            city: places.city, services: services.count,
            departments: Array(Set(services.compactMap(\.department))).sorted(), requests: items.count,
            open: items.count - closedCount, closed: closedCount, addresses: addresses)
    }

    /// Prepared responses staff pick when they update a request, with the Spanish that residents reading Spanish get.
    static let preparedResponses: [(title: String, status: RequestStatus?, english: String, spanish: String)] = [
        (
            "Fixed", .closed, "We fixed this. Thank you for reporting it.",
            "Lo arreglamos. Gracias por reportarlo."
        ),
        (
            "Scheduled", nil, "A crew is scheduled to deal with this. We will write again when it is done.",
            "Un equipo tiene programado atender esto. Le escribiremos de nuevo cuando esté hecho."
        ),
        (
            "Private property", .closed,
            "This is on private property, so the city cannot deal with it. We have written to the owner.",
            "Esto está en una propiedad privada, así que la ciudad no puede atenderlo. Le escribimos al propietario."
        ),
    ]

    /// The example case types shipped with Civitas: an unemployment claim, a building permit, an HR request.
    public static let exampleCaseTypes = ["unemployment-claim", "building-permit", "hr-request"]

    public static func exampleCaseType(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "yaml", subdirectory: "Resources/casetypes") else {
            throw CivitasError(.unavailable, code: "casetype_missing", message: "The example case type \(name) is missing from the build.")
        }
        return try String(contentsOf: url, encoding: .utf8)
    }

    static func loadCaseTypes(into stores: Stores, jurisdictionID: String) async throws {
        guard try await stores.cases.types(jurisdictionID: jurisdictionID).isEmpty else { return }
        for name in exampleCaseTypes {
            _ = try await stores.cases.importType(try exampleCaseType(name), createdBy: "demo", jurisdictionID: jurisdictionID)
        }
    }

    /// Where the demo's address points come from: CIVITAS_DEMO_ADDRESSES, or Baltimore's public 311 records beside
    /// the folder `civitas` runs in (../shared/data/311, as when `swift run` starts in a checkout); without either,
    /// points along each demo neighborhood's streets. Never a path taken from where the binary was built.
    public static func addressFiles() -> [URL] {
        var files: [URL] = []
        if let given = ProcessInfo.processInfo.environment["CIVITAS_DEMO_ADDRESSES"], !given.isEmpty {
            files.append(URL(fileURLWithPath: given))
        }
        files.append(
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
                .appendingPathComponent("../shared/data/311/baltimore_2014_2019_sample.csv"))
        return files.map(\.standardizedFileURL)
    }

    static func loadAddresses(into stores: Stores, jurisdictionID: String, places: Places, files: [URL]) async throws -> Int {
        // Address points an admin imported are kept.
        let existing = try await stores.addresses.count(jurisdictionID: jurisdictionID)
        if existing > 0 { return existing }
        for file in files where FileManager.default.fileExists(atPath: file.path) {
            if let result = try? AddressImport.read(file), !result.points.isEmpty {
                return try await stores.addresses.replaceAll(result.points, jurisdictionID: jurisdictionID)
            }
        }
        var points: [AddressPoint] = []
        for place in places.places {
            for (index, street) in place.streets.enumerated() {
                for block in 1...8 {
                    let number = block * 100 + 1 + index * 2
                    points.append(
                        AddressPoint(
                            address: "\(number) \(street)", zipcode: place.zipcode,
                            location: Coordinate(
                                latitude: place.lat + Double(block - 4) * 0.0009, longitude: place.long + Double(index - 1) * 0.0012)))
                }
            }
        }
        return try await stores.addresses.replaceAll(points, jurisdictionID: jurisdictionID)
    }

    private static func description(for service: ServiceDefinition, in neighborhood: String, random: inout SplitMix64) -> String {
        let openings = [
            "Reported by a neighbor in \(neighborhood).", "Seen on my way to work in \(neighborhood).",
            "This has been here for a few days.", "Please send someone soon.", "Near the corner, by the bus stop.",
        ]
        return "\(service.name). \(openings[Int(random.next() % UInt64(openings.count))])"
    }

    private static func closingNote(_ random: inout SplitMix64) -> String {
        let notes = [
            "Completed by the crew.", "Fixed. Thank you for reporting it.", "Inspected and resolved.",
            "Duplicate of an earlier report; closed with it.",
        ]
        return notes[Int(random.next() % UInt64(notes.count))]
    }

    private static func answer(_ attribute: ServiceAttribute, at date: Date, random: inout SplitMix64) -> [String] {
        switch attribute.datatype {
        case .singlevaluelist:
            return [attribute.values[Int(random.next() % UInt64(attribute.values.count))].key]
        case .multivaluelist:
            let first = Int(random.next() % UInt64(attribute.values.count))
            let second = Int(random.next() % UInt64(attribute.values.count))
            return Array(Set([attribute.values[first].key, attribute.values[second].key])).sorted()
        case .number:
            return [String(1 + random.next() % 4)]
        case .datetime:
            return [W3CDateTime.format(date.addingTimeInterval(3600))]
        case .string:
            return ["Near pole \(100 + random.next() % 900)"]
        case .text:
            return ["About two bags and a few boxes."]
        }
    }
}

/// A small seeded generator, so the demo city is the same every time.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

extension Date {
    /// Whole seconds, as Open311 exchanges them.
    func rounded() -> Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
