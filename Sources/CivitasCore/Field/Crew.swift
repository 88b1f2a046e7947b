import Foundation

/// When a crew works: ISO weekdays (1 = Monday ... 7 = Sunday) and its hours, in minutes after local midnight.
public struct Shift: Sendable, Equatable {
    public var days: Set<Int>
    public var start: Int
    public var end: Int

    public init(days: Set<Int>, start: Int, end: Int) {
        self.days = days
        self.start = start
        self.end = end
    }

    /// Reads "mon-fri 07:00-15:30", "mon,wed,fri 8:00-12:00" or "sat 06:00-14:00".
    public static func parse(_ text: String) throws -> Shift {
        let parts = text.lowercased().split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2 else {
            throw CivitasError.invalid("shift_invalid", "Write the shift as days and hours, like \"mon-fri 07:00-15:30\".", field: "shift")
        }
        let names = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]
        var days: Set<Int> = []
        for piece in parts[0].split(separator: ",") {
            let ends = piece.split(separator: "-").map { names[String($0.prefix(3))] }
            guard !ends.isEmpty, ends.allSatisfy({ $0 != nil }), ends.count <= 2 else {
                throw CivitasError.invalid("shift_invalid", "Days are mon, tue, wed, thu, fri, sat, sun, or a range like mon-fri.", field: "shift")
            }
            let first = ends[0]!
            let last = ends.count == 2 ? ends[1]! : first
            guard first <= last else {
                throw CivitasError.invalid("shift_invalid", "A range of days goes forward, like mon-fri.", field: "shift")
            }
            days.formUnion(first...last)
        }
        let hours = parts[1].split(separator: "-").map(String.init)
        guard hours.count == 2, let start = minutes(hours[0]), let end = minutes(hours[1]), start < end else {
            throw CivitasError.invalid("shift_invalid", "Hours go from start to end on one day, like 07:00-15:30.", field: "shift")
        }
        return Shift(days: days, start: start, end: end)
    }

    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard (1...2).contains(parts.count), let hour = Int(parts[0]), (0...24).contains(hour) else { return nil }
        let minute = parts.count == 2 ? Int(parts[1]) : 0
        guard let minute, (0..<60).contains(minute), hour * 60 + minute <= 24 * 60 else { return nil }
        return hour * 60 + minute
    }

    /// "07:00–15:30"
    public var hours: String { "\(Self.clock(start))–\(Self.clock(end))" }

    public static func clock(_ minutes: Int) -> String {
        String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    /// "Mon–Fri" style days.
    public var daysText: String {
        let names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        return days.sorted().map { names[$0 - 1] }.joined(separator: ", ")
    }
}

/// A field crew: who they are, where their day starts and ends, what their vehicle carries, what they can do.
public struct Crew: Sendable, Equatable {
    public var id: Int64
    public var department: String
    public var name: String
    public var depotName: String
    public var depot: Coordinate
    public var vehicle: String
    public var capacity: Double
    public var skills: Set<String>
    /// The services the crew does; nil means every service of its department.
    public var services: Set<String>?
    public var shift: Shift
    public var members: [Int64]

    public init(
        id: Int64, department: String, name: String, depotName: String, depot: Coordinate, vehicle: String, capacity: Double,
        skills: Set<String>, services: Set<String>?, shift: Shift, members: [Int64] = []
    ) {
        self.id = id
        self.department = department
        self.name = name
        self.depotName = depotName
        self.depot = depot
        self.vehicle = vehicle
        self.capacity = capacity
        self.skills = skills
        self.services = services
        self.shift = shift
        self.members = members
    }

    public func does(_ serviceCode: String) -> Bool { services?.contains(serviceCode) ?? true }
}

/// What one request of a service takes from a crew: time on site, room in the vehicle, and a skill if one is needed.
public struct ServiceWork: Sendable, Equatable {
    public var minutes: Int
    public var load: Double
    public var skill: String?

    /// Unless set per service: a quarter of an hour on site, nothing carried away.
    public static let standard = ServiceWork(minutes: 15, load: 0, skill: nil)

    public init(minutes: Int, load: Double, skill: String?) {
        self.minutes = minutes
        self.load = load
        self.skill = skill
    }
}
