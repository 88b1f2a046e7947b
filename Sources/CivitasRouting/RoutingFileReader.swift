import Foundation

/// A problem file that cannot be read, with the line where reading stopped.
public struct RoutingFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { line > 0 ? "line \(line): \(message)" : message }

    public init(line: Int, _ message: String) {
        self.line = line
        self.message = message
    }
}

/// Reads Solomon VRPTW files and VRPLIB/CVRPLIB files, telling them apart by their first keywords.
public enum RoutingFileReader {
    public static func read(path: String) throws -> RoutingProblem {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw RoutingFileError(line: 0, "cannot read \(path): \(error.localizedDescription)")
        }
        let fallback = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(text, name: fallback)
    }

    public static func parse(_ text: String, name fallback: String = "problem") throws(RoutingFileError) -> RoutingProblem {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        let isVRPLIB = lines.contains { line in
            let word = line.split(separator: ":").first.map { $0.trimmingCharacters(in: .whitespaces).uppercased() } ?? ""
            return ["NAME", "TYPE", "DIMENSION", "NODE_COORD_SECTION"].contains(word)
        }
        return isVRPLIB ? try vrplib(lines, fallback: fallback) : try solomon(lines, fallback: fallback)
    }

    // MARK: Solomon

    static func solomon(_ lines: [String], fallback: String) throws(RoutingFileError) -> RoutingProblem {
        var index = 0
        func next() -> (Int, [Substring])? {
            while index < lines.count {
                defer { index += 1 }
                let words = lines[index].split(whereSeparator: \.isWhitespace)
                if !words.isEmpty { return (index + 1, words) }
            }
            return nil
        }
        guard let (_, nameWords) = next() else { throw RoutingFileError(line: 1, "the file is empty") }
        let name = nameWords.joined(separator: " ")
        guard let (vehicleLine, vehicleWords) = next(), vehicleWords.first?.uppercased() == "VEHICLE" else {
            throw RoutingFileError(line: index, "expected the VEHICLE section of a Solomon file")
        }
        _ = vehicleLine
        guard let (_, header) = next(), header.first?.uppercased() == "NUMBER" else {
            throw RoutingFileError(line: index, "expected the header NUMBER CAPACITY")
        }
        guard let (fleetLine, fleet) = next() else { throw RoutingFileError(line: index, "the vehicle number and capacity are missing") }
        guard fleet.count == 2, let vehicles = Int(fleet[0]), let capacity = Double(fleet[1]), vehicles > 0, capacity > 0 else {
            throw RoutingFileError(line: fleetLine, "expected two positive numbers: the vehicle number and the capacity")
        }
        guard let (_, customer) = next(), customer.first?.uppercased() == "CUSTOMER" else {
            throw RoutingFileError(line: index, "expected the CUSTOMER section")
        }
        guard let (_, columns) = next(), columns.first?.uppercased() == "CUST" else {
            throw RoutingFileError(line: index, "expected the customer column header (CUST NO. XCOORD. ...)")
        }
        var rows: [(line: Int, values: [Double])] = []
        while let (line, words) = next() {
            guard words.count == 7 else {
                throw RoutingFileError(line: line, "expected 7 numbers (number, x, y, demand, ready, due, service), found \(words.count)")
            }
            let values = words.compactMap { Double($0) }
            guard values.count == 7, values.allSatisfy(\.isFinite) else {
                throw RoutingFileError(line: line, "\"\(words.joined(separator: " "))\" has a value that is not a number")
            }
            rows.append((line, values))
        }
        guard rows.count >= 2 else { throw RoutingFileError(line: lines.count, "a depot and at least one customer are needed") }
        guard rows[0].values[0] == 0 else { throw RoutingFileError(line: rows[0].line, "the first customer line must be the depot, number 0") }
        for row in rows {
            let v = row.values
            if v[3] < 0 || v[6] < 0 { throw RoutingFileError(line: row.line, "demand and service time cannot be negative") }
            if v[4] > v[5] { throw RoutingFileError(line: row.line, "the ready time \(v[4]) is after the due date \(v[5])") }
            if v[3] > capacity { throw RoutingFileError(line: row.line, "the demand \(v[3]) is more than a vehicle carries (\(capacity))") }
        }
        return RoutingProblem(
            name: name.isEmpty ? fallback : name, labels: rows.map { Int($0.values[0]) },
            coordinates: rows.map { (x: $0.values[1], y: $0.values[2]) }, demand: rows.map { $0.values[3] },
            ready: rows.map { $0.values[4] }, due: rows.map { $0.values[5] }, service: rows.map { $0.values[6] },
            capacity: capacity, vehicles: vehicles)
    }

    // MARK: VRPLIB

    static func vrplib(_ lines: [String], fallback: String) throws(RoutingFileError) -> RoutingProblem {
        var specs: [String: (line: Int, value: String)] = [:]
        var sections: [String: [(line: Int, words: [Substring])]] = [:]
        var current: String?
        for (offset, raw) in lines.enumerated() {
            let line = offset + 1
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if trimmed.uppercased() == "EOF" { break }
            if let colon = trimmed.firstIndex(of: ":"), !trimmed.uppercased().hasSuffix("_SECTION") {
                let key = trimmed[..<colon].trimmingCharacters(in: .whitespaces).uppercased()
                if key.allSatisfy({ $0.isLetter || $0 == "_" }) {
                    specs[key] = (line, trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                    current = nil
                    continue
                }
            }
            let upper = trimmed.uppercased()
            if upper.hasSuffix("_SECTION") {
                current = upper
                sections[upper] = []
                continue
            }
            guard let section = current else {
                throw RoutingFileError(line: line, "\"\(trimmed)\" is neither a KEY : value line nor inside a section")
            }
            sections[section, default: []].append((line, trimmed.split(whereSeparator: \.isWhitespace)))
        }
        func spec(_ key: String) -> (line: Int, value: String)? { specs[key] }
        guard let dimensionSpec = spec("DIMENSION"), let dimension = Int(dimensionSpec.value), dimension >= 2 else {
            throw RoutingFileError(line: spec("DIMENSION")?.line ?? 0, "DIMENSION must be a whole number of nodes, at least 2")
        }
        guard let capacitySpec = spec("CAPACITY"), let capacity = Double(capacitySpec.value), capacity > 0 else {
            throw RoutingFileError(line: spec("CAPACITY")?.line ?? 0, "CAPACITY must be a positive number")
        }
        var vehicles = Int.max
        if let vehicleSpec = spec("VEHICLES") {
            guard let count = Int(vehicleSpec.value), count > 0 else {
                throw RoutingFileError(line: vehicleSpec.line, "VEHICLES must be a positive whole number")
            }
            vehicles = count
        }

        func table(_ section: String, columns: Int, required: Bool) throws(RoutingFileError) -> [Int: [Double]]? {
            guard let rows = sections[section] else {
                if required { throw RoutingFileError(line: 0, "the file has no \(section)") }
                return nil
            }
            var values: [Int: [Double]] = [:]
            for row in rows {
                guard row.words.count == columns + 1, let id = Int(row.words[0]) else {
                    throw RoutingFileError(line: row.line, "expected a node number and \(columns) value(s) in \(section)")
                }
                let numbers = row.words.dropFirst().compactMap { Double($0) }
                guard numbers.count == columns, numbers.allSatisfy(\.isFinite) else {
                    throw RoutingFileError(line: row.line, "a value in \(section) is not a number")
                }
                guard (1...dimension).contains(id) else {
                    throw RoutingFileError(line: row.line, "node \(id) is outside 1...\(dimension)")
                }
                guard values[id] == nil else { throw RoutingFileError(line: row.line, "node \(id) appears twice in \(section)") }
                values[id] = numbers
            }
            guard values.count == dimension else {
                throw RoutingFileError(line: rows.last?.line ?? 0, "\(section) lists \(values.count) nodes; DIMENSION says \(dimension)")
            }
            return values
        }

        let demands = try table("DEMAND_SECTION", columns: 1, required: true)!
        let windows = try table("TIME_WINDOW_SECTION", columns: 2, required: false)
        let services = try table("SERVICE_TIME_SECTION", columns: 1, required: false)
        var serviceDefault = 0.0
        if let serviceSpec = spec("SERVICE_TIME") {
            guard let value = Double(serviceSpec.value), value >= 0 else {
                throw RoutingFileError(line: serviceSpec.line, "SERVICE_TIME must be a number of at least 0")
            }
            serviceDefault = value
        }
        var depot = 1
        if let rows = sections["DEPOT_SECTION"], rows.filter({ $0.words.first != "-1" }).count > 1 {
            throw RoutingFileError(
                line: rows[1].line, "several depots in one VRPLIB file are not supported; give each vehicle its depot through the API")
        }
        if let rows = sections["DEPOT_SECTION"], let first = rows.first {
            guard let id = Int(first.words[0]), (1...dimension).contains(id) else {
                throw RoutingFileError(line: first.line, "the depot must be a node number from 1 to \(dimension)")
            }
            depot = id
        }
        // Node order: the depot first, then the others in file order.
        let ids = [depot] + (1...dimension).filter { $0 != depot }
        let demand = ids.map { demands[$0]![0] }
        for (position, id) in ids.enumerated() where demand[position] < 0 || demand[position] > capacity {
            throw RoutingFileError(
                line: sections["DEMAND_SECTION"]?.first { Int($0.words[0]) == id }?.line ?? 0,
                "the demand of node \(id) must be between 0 and the capacity \(capacity)")
        }
        let ready = ids.map { windows?[$0]?[0] ?? 0 }
        let due = ids.map { windows?[$0]?[1] ?? Double.greatestFiniteMagnitude }
        let service = ids.map { services?[$0]?[0] ?? (($0 == depot) ? 0 : serviceDefault) }
        let name = spec("NAME")?.value ?? fallback
        let weightType = spec("EDGE_WEIGHT_TYPE")?.value.uppercased() ?? "EUC_2D"
        switch weightType {
        case "EUC_2D":
            let coordinates = try table("NODE_COORD_SECTION", columns: 2, required: true)!
            return RoutingProblem(
                name: name, labels: ids, coordinates: ids.map { (x: coordinates[$0]![0], y: coordinates[$0]![1]) },
                demand: demand, ready: ready, due: due, service: service, capacity: capacity, vehicles: vehicles)
        case "EXPLICIT":
            guard spec("EDGE_WEIGHT_FORMAT")?.value.uppercased() == "FULL_MATRIX" else {
                throw RoutingFileError(line: spec("EDGE_WEIGHT_FORMAT")?.line ?? 0, "only EDGE_WEIGHT_FORMAT : FULL_MATRIX is supported")
            }
            let numbers = (sections["EDGE_WEIGHT_SECTION"] ?? []).flatMap { row in row.words.map { (row.line, Double($0)) } }
            if let bad = numbers.first(where: { $0.1 == nil || !($0.1!.isFinite) || $0.1! < 0 }) {
                throw RoutingFileError(line: bad.0, "an edge weight is not a number of at least 0")
            }
            guard numbers.count == dimension * dimension else {
                throw RoutingFileError(
                    line: numbers.last?.0 ?? 0, "EDGE_WEIGHT_SECTION has \(numbers.count) weights; a full matrix needs \(dimension * dimension)")
            }
            var matrix = [Double](repeating: 0, count: dimension * dimension)
            for a in 0..<dimension {
                for b in 0..<dimension { matrix[a * dimension + b] = numbers[(ids[a] - 1) * dimension + (ids[b] - 1)].1! }
            }
            return RoutingProblem(
                name: name, labels: ids, demand: demand, ready: ready, due: due, service: service, capacity: capacity,
                vehicles: vehicles, distance: matrix, duration: matrix)
        default:
            throw RoutingFileError(line: spec("EDGE_WEIGHT_TYPE")?.line ?? 0, "EDGE_WEIGHT_TYPE \(weightType) is not supported (EUC_2D or EXPLICIT)")
        }
    }
}
