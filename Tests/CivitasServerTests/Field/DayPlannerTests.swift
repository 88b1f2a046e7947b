import CivitasCore
import CivitasRouting
import Foundation
import Testing

@testable import CivitasServer

@Suite("Day plans for field crews")
struct DayPlannerTests {
    static let zone = TimeZone(identifier: "America/New_York")!
    static let weekdays = try! Shift.parse("mon-fri 07:00-15:30")

    static func crew(
        _ id: Int64, _ name: String, capacity: Double = 20, skills: Set<String> = [], services: Set<String>? = nil, shift: Shift = weekdays
    )
        -> Crew
    {
        Crew(
            id: id, department: "Public Works", name: name, depotName: "Yard \(id)", depot: Coordinate(latitude: 39.29, longitude: -76.61),
            vehicle: "truck \(id)", capacity: capacity, skills: skills, services: services, shift: shift)
    }

    static func stop(
        _ id: Int64, _ code: String, lat: Double, long: Double, minutes: Int = 10, load: Double = 1, skill: String? = nil, due: Date? = nil
    )
        -> DayPlanner.Stop
    {
        DayPlanner.Stop(
            request: ServiceRequest(
                id: id, jurisdictionID: "test.city", serviceCode: code, serviceName: code.capitalized, status: .open,
                requestedAt: Date(timeIntervalSince1970: 1_795_000_000), updatedAt: Date(timeIntervalSince1970: 1_795_000_000), expectedAt: due,
                location: RequestLocation(latitude: lat, longitude: long)),
            work: ServiceWork(minutes: minutes, load: load, skill: skill))
    }

    @Test("every stop goes to a crew that does it, has the skill and the room, within its shift and before it is due")
    func constraints() throws {
        let planner = DayPlanner(zone: Self.zone, options: SolverOptions(timeLimit: .seconds(1), seed: 7, threads: 1))
        let day = "2026-11-24"  // a Tuesday
        let midnight = try planner.midnight(of: day)
        var random = SystemRandomNumberGenerator()
        var stops: [DayPlanner.Stop] = []
        for id in 1...40 {
            let code = ["BULKY", "POTHOLE", "GRAFFITI"][id % 3]
            stops.append(
                Self.stop(
                    Int64(id), code, lat: 39.26 + Double.random(in: 0..<0.06, using: &random),
                    long: -76.64 + Double.random(in: 0..<0.06, using: &random),
                    load: code == "BULKY" ? 3 : 0, skill: code == "BULKY" ? "lift" : nil,
                    due: id % 10 == 0 ? midnight.addingTimeInterval(12 * 3600) : nil))
        }
        stops.append(Self.stop(100, "BOAT", lat: 39.28, long: -76.60))
        stops.append(Self.stop(101, "POTHOLE", lat: 39.28, long: -76.60, skill: "asphalt-paver"))
        stops.append(Self.stop(102, "POTHOLE", lat: 39.28, long: -76.60, due: midnight.addingTimeInterval(6 * 3600)))
        let crews = [
            Self.crew(1, "Alpha", capacity: 30, skills: ["lift"], services: ["BULKY", "POTHOLE", "GRAFFITI"]),
            Self.crew(2, "Bravo", skills: [], services: ["POTHOLE", "GRAFFITI"]),
            Self.crew(3, "Charlie", skills: ["lift"], shift: try Shift.parse("sat,sun 06:00-14:00")),
        ]
        let plan = try planner.plan(day: day, crews: crews, stops: stops)
        #expect(plan.crewsOnShift.map(\.name) == ["Alpha", "Bravo"], "Charlie works weekends only")
        #expect(plan.violations.isEmpty, "\(plan.violations)")
        var planned = Set<Int64>()
        for itinerary in plan.itineraries {
            let crew = itinerary.crew
            #expect(itinerary.load <= crew.capacity)
            #expect(itinerary.leaves >= midnight.addingTimeInterval(Double(crew.shift.start * 60)))
            #expect(itinerary.returns <= midnight.addingTimeInterval(Double(crew.shift.end * 60)) + 1)
            for visit in itinerary.visits {
                #expect(planned.insert(visit.stop.request.id).inserted, "planned once")
                #expect(crew.does(visit.stop.request.serviceCode))
                if let skill = visit.stop.work.skill { #expect(crew.skills.contains(skill)) }
                if let due = visit.stop.request.expectedAt { #expect(visit.starts <= due) }
                #expect(visit.starts >= visit.arrives && visit.ends > visit.starts)
                #expect(visit.reason.hasPrefix("\(crew.name) does ") && visit.reason.contains("within its 07:00–15:30 shift"))
            }
        }
        let reasons = Dictionary(uniqueKeysWithValues: plan.unplanned.map { ($0.stop.request.id, $0.reason) })
        #expect(reasons[100] == "no crew on shift does Boat")
        #expect(reasons[101] == "it needs the skill \u{201C}asphalt-paver\u{201D}, which no crew on shift has")
        #expect(reasons[102] == "it is due by 06:00, before any crew that does it starts")
        #expect(planned.count + plan.unplanned.count == stops.count, "every stop is planned or explained")
    }

    @Test("a stop with an appointment starts inside it; one on another day or outside every shift is left out with its reason")
    func appointments() throws {
        let planner = DayPlanner(zone: Self.zone, options: SolverOptions(timeLimit: .seconds(1), seed: 3, threads: 1))
        let day = "2026-11-24"
        let midnight = try planner.midnight(of: day)
        func window(_ from: Double, _ to: Double, days: Double = 0) -> DateInterval {
            DateInterval(start: midnight.addingTimeInterval(days * 86_400 + from * 3600), end: midnight.addingTimeInterval(days * 86_400 + to * 3600))
        }
        var stops = (1...8).map { Self.stop(Int64($0), "BULKY", lat: 39.28 + Double($0) / 500, long: -76.60, minutes: 20, load: 1) }
        stops[0].appointment = window(13, 14)  // afternoon, though it is nearest the depot
        stops[1].appointment = window(7.5, 8)
        stops[2].appointment = window(10, 12, days: 1)  // tomorrow
        stops[3].appointment = window(18, 20)  // after the shift ends
        let plan = try planner.plan(day: day, crews: [Self.crew(1, "Alpha")], stops: stops)
        #expect(plan.violations.isEmpty, "\(plan.violations)")
        let visits = Dictionary(uniqueKeysWithValues: plan.itineraries.flatMap(\.visits).map { ($0.stop.request.id, $0) })
        let afternoon = try #require(visits[1])
        #expect(afternoon.starts >= window(13, 14).start && afternoon.starts <= window(13, 14).end)
        #expect(afternoon.reason.contains("appointment with the resident 13:00–14:00"))
        let early = try #require(visits[2])
        #expect(early.starts >= window(7.5, 8).start && early.starts <= window(7.5, 8).end)
        let reasons = Dictionary(uniqueKeysWithValues: plan.unplanned.map { ($0.stop.request.id, $0.reason) })
        #expect(reasons[3] == "its appointment is on Wed 25 Nov 10:00–12:00")
        #expect(reasons[4] == "its appointment 18:00–20:00 is outside the shifts of the crews that do it")
        #expect(visits.count == 6)
    }

    @Test("a plan made during the day starts from now: ended shifts get no work, a crew mid-shift only the time it has left")
    func fromNow() throws {
        let planner = DayPlanner(zone: Self.zone, options: SolverOptions(timeLimit: .seconds(1), seed: 5, threads: 1))
        let day = "2026-11-24"  // a Tuesday
        let midnight = try planner.midnight(of: day)
        let now = midnight.addingTimeInterval(13 * 3600)  // 13:00 in New York
        let crews = [
            Self.crew(1, "Early", shift: try Shift.parse("mon-fri 06:00-12:00")),
            Self.crew(2, "Day", shift: try Shift.parse("mon-fri 07:00-15:30")),
            Self.crew(3, "Late", shift: try Shift.parse("mon-fri 12:00-20:00")),
        ]
        // 16 half-hour jobs (8 hours of work): more than any one crew has left, so both crews still on shift get some.
        var stops = (1...16).map { Self.stop(Int64($0), "POTHOLE", lat: 39.28 + Double($0) / 2000, long: -76.61, minutes: 30) }
        // Due at 12:30, before now: overdue, so done by the end of the day like any other.
        stops[0].request.expectedAt = midnight.addingTimeInterval(12.5 * 3600)
        stops.append(Self.stop(17, "POTHOLE", lat: 39.28, long: -76.61))
        stops[16].appointment = DateInterval(start: midnight.addingTimeInterval(9 * 3600), end: midnight.addingTimeInterval(10 * 3600))
        let plan = try planner.plan(day: day, crews: crews, stops: stops, now: now)
        #expect(plan.crewsOnShift.map(\.name) == ["Day", "Late"], "Early's shift is over")
        #expect(plan.violations.isEmpty, "\(plan.violations)")
        #expect(Set(plan.itineraries.map(\.crew.name)) == ["Day", "Late"], "the work is spread over the crews still on shift")
        for itinerary in plan.itineraries {
            #expect(itinerary.leaves >= now)
            #expect(itinerary.returns <= midnight.addingTimeInterval(Double(itinerary.crew.shift.end * 60)) + 1)
            for visit in itinerary.visits { #expect(visit.arrives >= now && visit.starts >= now) }
        }
        #expect(plan.itineraries.first { $0.crew.name == "Day" }!.visits.count <= 5, "Day has 2.5 hours left")
        let reasons = Dictionary(uniqueKeysWithValues: plan.unplanned.map { ($0.stop.request.id, $0.reason) })
        #expect(reasons[17] == "its appointment Tue 24 Nov 09:00–10:00 has passed")
        #expect(plan.itineraries.flatMap(\.visits).contains { $0.stop.request.id == 1 }, "an overdue stop is still planned")
        // Planned for a later day, the whole shift counts again.
        let tomorrow = try planner.plan(day: "2026-11-25", crews: crews, stops: Array(stops.prefix(3)), now: now)
        #expect(tomorrow.crewsOnShift.count == 3)
        // In the evening, nobody is left.
        let evening = try planner.plan(day: day, crews: crews, stops: Array(stops.prefix(1)), now: midnight.addingTimeInterval(21 * 3600))
        #expect(evening.unplanned.map(\.reason) == ["the shifts of the crews that work today have ended"])
    }

    @Test("the day's work is spread over the crews on shift, not packed onto as few as can do it")
    func spreadsOverCrews() throws {
        let planner = DayPlanner(zone: Self.zone, options: SolverOptions(timeLimit: .seconds(1), seed: 3, threads: 1))
        let stops = (1...8).map { id in
            Self.stop(Int64(id), "POTHOLE", lat: 39.29 + Double(id) * 0.002, long: -76.61 + Double(id % 3) * 0.002, minutes: 20)
        }
        let crews = [Self.crew(1, "Alpha"), Self.crew(2, "Bravo")]
        let plan = try planner.plan(day: "2026-11-24", crews: crews, stops: stops)
        #expect(plan.unplanned.isEmpty && plan.violations.isEmpty)
        #expect(plan.itineraries.count == 2, "both crews on shift get work: \(plan.itineraries.map { ($0.crew.name, $0.visits.count) })")
        let counts = plan.itineraries.map(\.visits.count)
        #expect(counts.reduce(0, +) == 8 && (counts.min() ?? 0) >= 2, "\(counts)")
    }

    @Test("a day when nobody works, and shifts written wrongly, are explained")
    func edges() throws {
        let planner = DayPlanner(zone: Self.zone, options: SolverOptions(timeLimit: .milliseconds(200), seed: 1))
        let sunday = try planner.plan(day: "2026-11-29", crews: [Self.crew(1, "Alpha")], stops: [Self.stop(1, "POTHOLE", lat: 39.3, long: -76.6)])
        #expect(sunday.unplanned.map(\.reason) == ["no crew of the department works on this day"])
        #expect(throws: CivitasError.self) { try planner.plan(day: "2026-02-30", crews: [], stops: []) }
        #expect(throws: CivitasError.self) { try planner.plan(day: "2026-13-01", crews: [], stops: []) }
        #expect(throws: CivitasError.self) { try Shift.parse("mon-fri 15:00-07:00") }
        #expect(throws: CivitasError.self) { try Shift.parse("fri-mon 07:00-15:00") }
        #expect(try Shift.parse("mon,wed,fri 8-12:30") == Shift(days: [1, 3, 5], start: 480, end: 750))
    }
}

@Suite("Dispatchers keep stops with crews")
struct PinnedPlanTests {
    @Test("a stop kept with a crew stays with it when the rest is planned again, even a service that crew does not usually do")
    func pins() throws {
        let planner = DayPlanner(zone: DayPlannerTests.zone, options: SolverOptions(timeLimit: .milliseconds(500), seed: 3))
        let crews = [
            DayPlannerTests.crew(1, "Alpha", services: ["POTHOLE"]),
            DayPlannerTests.crew(2, "Bravo", services: ["POTHOLE", "GRAFFITI"]),
            DayPlannerTests.crew(3, "Weekend", shift: try Shift.parse("sat 07:00-15:00")),
        ]
        let stops = (1...12).map { DayPlannerTests.stop(Int64($0), $0 == 12 ? "GRAFFITI" : "POTHOLE", lat: 39.28 + Double($0) * 0.001, long: -76.61) }
        let free = try planner.plan(day: "2026-11-24", crews: crews, stops: stops)
        let whereFree = Dictionary(uniqueKeysWithValues: free.itineraries.flatMap { it in it.visits.map { ($0.stop.request.id, it.crew.id) } })
        #expect(whereFree[12] == 2, "only Bravo does graffiti")
        // The dispatcher moves the graffiti to Alpha, and keeps stop 1 with Bravo; a stop kept with the weekend crew waits.
        let pinned = try planner.plan(day: "2026-11-24", crews: crews, stops: stops, pins: [12: 1, 1: 2, 2: 3])
        let wherePinned = Dictionary(uniqueKeysWithValues: pinned.itineraries.flatMap { it in it.visits.map { ($0.stop.request.id, it.crew.id) } })
        #expect(wherePinned[12] == 1 && wherePinned[1] == 2)
        #expect(
            pinned.itineraries.flatMap(\.visits).first { $0.stop.request.id == 12 }?.reason.hasPrefix("The dispatcher keeps it with Alpha") == true)
        #expect(pinned.unplanned.first { $0.stop.request.id == 2 }?.reason == "the dispatcher keeps it with a crew that is not on shift this day")
        #expect(pinned.violations.isEmpty)
    }
}
