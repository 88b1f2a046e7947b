import CivitasCore
import CivitasRouting
import Foundation

/// Plans a department's day: every open request it can plan, onto the crews on shift that day, with CivitasRouting.
/// Travel times come from great-circle distances at an average speed; time windows from each request's service
/// level (due that day) and the crews' shifts; capacities from the vehicles; skills and services from the crews.
/// Every assignment says in words why it was made, and everything left out says why.
public struct DayPlanner: Sendable {
    public struct Stop: Sendable {
        public var request: ServiceRequest
        public var work: ServiceWork
        /// Duplicates merged into this request, done with it.
        public var duplicates: Int
        /// The time agreed with the resident: the crew starts the work inside it.
        public var appointment: DateInterval?

        public init(request: ServiceRequest, work: ServiceWork, duplicates: Int = 0, appointment: DateInterval? = nil) {
            self.request = request
            self.work = work
            self.duplicates = duplicates
            self.appointment = appointment
        }
    }

    public struct Visit: Sendable {
        public var stop: Stop
        public var arrives: Date
        public var starts: Date
        public var ends: Date
        public var reason: String
    }

    public struct Itinerary: Sendable {
        public var crew: Crew
        public var visits: [Visit]
        public var leaves: Date
        public var returns: Date
        public var distance: Double
        public var load: Double
    }

    public struct Plan: Sendable {
        public var day: String
        public var crewsOnShift: [Crew]
        public var itineraries: [Itinerary]
        public var unplanned: [(stop: Stop, reason: String)]
        /// What the routing module's independent checker found besides unplanned stops; empty for a valid plan.
        public var violations: [String]
        public var distance: Double { itineraries.reduce(0) { $0 + $1.distance } }
    }

    public var zone: TimeZone
    /// Average speed in metres per second (default 25 km/h, city driving with stops).
    public var speed: Double
    public var options: SolverOptions

    public init(zone: TimeZone, speed: Double = 25_000 / 3600, options: SolverOptions = SolverOptions(timeLimit: .seconds(3), threads: 2)) {
        self.zone = zone
        self.speed = speed
        self.options = options
    }

    /// The day `date` falls on in this zone, as "2026-11-24".
    public func day(of date: Date = Date()) -> String {
        let format = DateFormatter()
        format.timeZone = zone
        format.locale = Locale(identifier: "en_US_POSIX")
        format.dateFormat = "yyyy-MM-dd"
        return format.string(from: date)
    }

    /// "2026-11-24" → the local midnight starting that day.
    public func midnight(of day: String) throws -> Date {
        let parts = day.split(separator: "-").compactMap { Int($0) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard parts.count == 3, (1...12).contains(parts[1]), (1...31).contains(parts[2]),
            let date = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
            calendar.component(.day, from: date) == parts[2], calendar.component(.month, from: date) == parts[1]
        else { throw CivitasError.invalid("date_invalid", "Give the day as YYYY-MM-DD, like 2026-11-24.", field: "date") }
        return date
    }

    /// `pins` keeps requests with a crew (request id → crew id), as a dispatcher locked or moved them: the rest of the
    /// day is planned around them. When `now` falls on the day, the plan starts from now: a crew whose shift has ended
    /// gets no work, a crew mid-shift only the time it has left, and nothing is planned before now.
    public func plan(
        day: String, crews: [Crew], stops: [Stop], serviceNames: [String: String] = [:], pins: [Int64: Int64] = [:], now: Date? = nil
    ) throws -> Plan {
        let start = try midnight(of: day)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let weekday = (calendar.component(.weekday, from: start) + 5) % 7 + 1  // ISO: Monday = 1
        let end = calendar.date(byAdding: .day, value: 1, to: start)!
        let dayLength = end.timeIntervalSince(start)
        // Seconds after midnight from which work can be planned: now, on the day itself; the whole day otherwise.
        let from = now.map { $0.timeIntervalSince(start) }.flatMap { $0 > 0 && $0 < dayLength ? $0 : nil } ?? 0
        let working = crews.filter { $0.shift.days.contains(weekday) }
        // A minute left is no time for work: a shift that ends within one is over.
        let onShift = working.filter { Double($0.shift.end * 60) - from >= 60 }
        func name(_ stop: Stop) -> String { serviceNames[stop.request.serviceCode] ?? stop.request.serviceName }

        // What no crew on shift could ever do is set aside with its reason before routing.
        var unplanned: [(stop: Stop, reason: String)] = []
        var routable: [Stop] = []
        for stop in stops {
            guard stop.request.location.latitude != nil, stop.request.location.longitude != nil else {
                unplanned.append((stop, "it has no map location"))
                continue
            }
            let able = onShift.filter { $0.does(stop.request.serviceCode) }
            if let appointment = stop.appointment, appointment.end <= start || appointment.start >= end {
                unplanned.append((stop, "its appointment is on \(Appointment.describe(appointment, zone: zone))"))
            } else if let pinned = pins[stop.request.id], !onShift.contains(where: { $0.id == pinned }) {
                unplanned.append((stop, "the dispatcher keeps it with a crew that is not on shift this day"))
            } else if let appointment = stop.appointment, from > 0, appointment.end <= start.addingTimeInterval(from) {
                unplanned.append((stop, "its appointment \(Appointment.describe(appointment, zone: zone)) has passed"))
            } else if onShift.isEmpty, !working.isEmpty {
                unplanned.append((stop, "the shifts of the crews that work today have ended"))
            } else if onShift.isEmpty {
                unplanned.append((stop, "no crew of the department works on this day"))
            } else if able.isEmpty {
                unplanned.append((stop, "no crew on shift does \(name(stop))"))
            } else if let skill = stop.work.skill, !able.contains(where: { $0.skills.contains(skill) }) {
                unplanned.append((stop, "it needs the skill \u{201C}\(skill)\u{201D}, which no crew on shift has"))
            } else if !able.contains(where: { $0.capacity >= stop.work.load }) {
                unplanned.append((stop, "it takes \(Self.number(stop.work.load)) units, more than any vehicle on shift carries"))
            } else {
                routable.append(stop)
            }
        }

        guard !routable.isEmpty else {
            return Plan(day: day, crewsOnShift: onShift, itineraries: [], unplanned: unplanned, violations: [])
        }
        // Nodes: one depot per crew on shift, then the stops. Times are seconds after local midnight.
        let depotCount = onShift.count
        let points =
            onShift.map { ($0.depot.latitude, $0.depot.longitude) }
            + routable.map { ($0.request.location.latitude!, $0.request.location.longitude!) }
        let matrices = RoutingProblem.greatCircle(points.map { (latitude: $0.0, longitude: $0.1) }, speed: speed)
        let codes = Set(routable.map(\.request.serviceCode))
        let fleet = onShift.enumerated().map { index, crew in
            Vehicle(
                depot: index, capacity: crew.capacity, shiftStart: max(Double(crew.shift.start * 60), from),
                shiftEnd: Double(crew.shift.end * 60),
                skills: crew.skills.union(codes.filter { crew.does($0) }.map { "service:" + $0 }).union(["crew:\(crew.id)"]))
        }
        var due = Array(repeating: dayLength, count: depotCount)
        var ready = Array(repeating: 0.0, count: depotCount)
        var windows: [String?] = Array(repeating: nil, count: depotCount)
        var appointments: [String?] = Array(repeating: nil, count: depotCount)
        for stop in routable {
            // A request due during the day must be done by then; one due later, or already overdue, by the end of it.
            var latest = dayLength
            if let expected = stop.request.expectedAt, expected > start.addingTimeInterval(from), expected < end {
                latest = expected.timeIntervalSince(start)
                windows.append(Shift.clock(Int(latest / 60)))
            } else {
                windows.append(nil)
            }
            // An appointment: the work starts inside the time agreed with the resident, whatever the service level says.
            if let appointment = stop.appointment {
                let opens = max(from, appointment.start.timeIntervalSince(start))
                let closes = min(dayLength, appointment.end.timeIntervalSince(start))
                ready.append(opens)
                due.append(closes)
                windows[windows.count - 1] = nil
                appointments.append("\(Shift.clock(Int(opens / 60)))–\(Shift.clock(Int(closes / 60)))")
            } else {
                ready.append(0)
                due.append(latest)
                appointments.append(nil)
            }
        }
        let problem = RoutingProblem(
            name: "\(day)", labels: Array(0..<(depotCount + routable.count)), depotCount: depotCount,
            demand: Array(repeating: 0, count: depotCount) + routable.map(\.work.load),
            ready: ready, due: due,
            service: Array(repeating: 0, count: depotCount) + routable.map { Double($0.work.minutes * 60) },
            requiredSkills: Array(repeating: [], count: depotCount)
                + routable.map { stop in
                    // A stop kept with a crew needs that crew: the "skill" only it has. It still needs its own skill if
                    // any, but not the service, so a dispatcher can move work to a crew that does not usually do it.
                    if let pinned = pins[stop.request.id] { return Set(["crew:\(pinned)"] + (stop.work.skill.map { [$0] } ?? [])) }
                    return Set(["service:" + stop.request.serviceCode] + (stop.work.skill.map { [$0] } ?? []))
                },
            fleet: fleet, distance: matrices.distance, duration: matrices.duration)
        let solution = spread(problem, RoutingSolver.solve(problem, options: options))
        let schedules = solution.schedules(in: problem)

        var itineraries: [Itinerary] = []
        for schedule in schedules where !schedule.stops.isEmpty {
            let crew = onShift[schedule.vehicle]
            var visits: [Visit] = []
            var previous = crew.depot
            var previousName = crew.depotName
            var time = schedule.departure
            // Each crew on shift has its own depot node, numbered like the crew.
            var previousNode = schedule.vehicle
            for (position, node) in schedule.stops.enumerated() {
                let stop = routable[node - depotCount]
                let begins = schedule.serviceStarts[position]
                let arrival = time + problem.service[previousNode] + problem.duration(previousNode, node)
                let here = Coordinate(latitude: stop.request.location.latitude!, longitude: stop.request.location.longitude!)
                let metres = previous.distance(to: here)
                var reason = pins[stop.request.id] != nil ? "The dispatcher keeps it with \(crew.name)" : "\(crew.name) does \(name(stop))"
                if let skill = stop.work.skill { reason += " and has the skill \u{201C}\(skill)\u{201D}" }
                reason += "; \(Self.distance(metres)) from \(position == 0 ? previousName : "the previous stop")"
                reason += ", arriving \(Shift.clock(Int(arrival / 60))) within its \(crew.shift.hours) shift"
                if let window = windows[node] { reason += "; due by \(window) (service level)" }
                if let window = appointments[node] { reason += "; appointment with the resident \(window)" }
                if begins > arrival + 1 { reason += "; waits until \(Shift.clock(Int(begins / 60)))" }
                if stop.duplicates > 0 { reason += "; closes \(stop.duplicates) merged duplicate\(stop.duplicates == 1 ? "" : "s") with it" }
                visits.append(
                    Visit(
                        stop: stop, arrives: start.addingTimeInterval(arrival), starts: start.addingTimeInterval(begins),
                        ends: start.addingTimeInterval(begins + problem.service[node]), reason: reason + "."))
                time = begins
                previous = here
                previousName = "the previous stop"
                previousNode = node
            }
            itineraries.append(
                Itinerary(
                    crew: crew, visits: visits, leaves: start.addingTimeInterval(schedule.departure),
                    returns: start.addingTimeInterval(schedule.returnTime), distance: schedule.distance, load: schedule.load))
        }
        var violations: [String] = []
        for violation in solution.violations {
            if case .unserved(let node) = violation {
                let stop = routable[node - depotCount]
                let able = onShift.filter { $0.does(stop.request.serviceCode) }
                let reason: String
                let loads = Dictionary(itineraries.map { ($0.crew.id, $0.load) }, uniquingKeysWith: { first, _ in first })
                let full = able.filter { stop.work.skill == nil || $0.skills.contains(stop.work.skill!) }
                    .allSatisfy { (loads[$0.id] ?? 0) + stop.work.load > $0.capacity + 1e-9 }
                if let window = appointments[node],
                    !able.contains(where: {
                        Double($0.shift.start * 60) <= problem.due[node] && Double($0.shift.end * 60) >= problem.ready[node] + problem.service[node]
                    })
                {
                    reason = "its appointment \(window) is outside the shifts of the crews that do it"
                } else if let window = appointments[node] {
                    reason = "no crew that does it can be there during its appointment \(window) with its other work"
                } else if let window = windows[node], let earliest = able.map({ $0.shift.start }).min(),
                    Double(earliest * 60) >= problem.due[node]
                {
                    reason = "it is due by \(window), before any crew that does it starts"
                } else if full, stop.work.load > 0 {
                    reason = "the vehicles of the crews that do \(name(stop)) are full for the day"
                } else if windows[node] != nil {
                    reason = "no crew that does it can reach it before it is due at \(windows[node]!) with its other work"
                } else {
                    reason = "the crews that do \(name(stop)) have no time left in their shifts on this day"
                }
                unplanned.append((stop, reason))
            } else {
                violations.append(violation.description)
            }
        }
        itineraries.sort { $0.crew.name < $1.crew.name }
        return Plan(day: day, crewsOnShift: onShift, itineraries: itineraries, unplanned: unplanned, violations: violations)
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    static func distance(_ metres: Double) -> String {
        metres < 1000 ? "\(Int(metres.rounded())) m" : String(format: "%.1f km", metres / 1000)
    }
}
