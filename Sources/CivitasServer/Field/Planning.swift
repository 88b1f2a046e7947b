import CivitasCore
import CivitasRouting
import CivitasStore
import Foundation

/// The one path that plans a department's day, for the CLI now and the dispatcher's page and API next: open,
/// unmerged requests of the department with a location, the department's crews, each service's work.
public enum Planning {
    public static func plan(
        department: String, day: String, stores: Stores, configuration: AppConfiguration, seconds: Int = 3, seed: UInt64 = 1
    ) async throws -> DayPlanner.Plan {
        // Planned during the day, the plan starts from now, so the time is read before anything else.
        let now = configuration.now()
        let jurisdiction = configuration.jurisdiction.id
        let crews = try await stores.crews.list(department: department, jurisdictionID: jurisdiction)
        guard !crews.isEmpty else {
            throw CivitasError.notFound("crews_missing", "\(department) has no crews yet; add one with `civitas crews add`.")
        }
        var query = ServiceRequestQuery(jurisdictionID: jurisdiction)
        query.department = department
        query.statuses = [.open]
        query.includePrivate = false
        query.limit = 10_000
        let open = try await stores.requests.search(query)
        let work = try await stores.crews.work(jurisdictionID: jurisdiction)
        let merged = try await stores.requests.childCounts(jurisdictionID: jurisdiction)
        let appointments = try await stores.requests.appointments(ids: open.map(\.id), jurisdictionID: jurisdiction)
        let stops = open.map {
            DayPlanner.Stop(request: $0, work: work[$0.serviceCode] ?? .standard, duplicates: merged[$0.id] ?? 0, appointment: appointments[$0.id])
        }
        let planner = DayPlanner(
            zone: configuration.jurisdiction.timeZone, speed: configuration.planningSpeedKmh * 1000 / 3600,
            options: SolverOptions(timeLimit: .seconds(seconds), seed: seed, threads: 2))
        let pins = try await stores.plans.pins(department: department, day: day, jurisdictionID: jurisdiction)
        return try planner.plan(day: day, crews: crews, stops: stops, pins: pins, now: now)
    }

    /// Saves a plan as the next version of the department's plan for that day.
    public static func save(_ plan: DayPlanner.Plan, department: String, stores: Stores, jurisdictionID: String, actor: String) async throws
        -> SavedPlan
    {
        let stops = plan.itineraries.flatMap { itinerary in
            itinerary.visits.map { visit in
                SavedPlan.Stop(
                    crewID: itinerary.crew.id, requestID: visit.stop.request.id, arrives: visit.arrives, starts: visit.starts, ends: visit.ends,
                    locked: false, reason: visit.reason)
            }
        }
        return try await stores.plans.save(
            department: department, day: plan.day, stops: stops, unplanned: plan.unplanned.map { ($0.stop.request.id, $0.reason) },
            distance: plan.distance, createdBy: actor, jurisdictionID: jurisdictionID)
    }

    /// The plan as a dispatcher reads it on a terminal.
    public static func text(_ plan: DayPlanner.Plan, department: String, zone: TimeZone) -> String {
        let format = DateFormatter()
        format.timeZone = zone
        format.dateFormat = "HH:mm"
        func clock(_ date: Date) -> String { format.string(from: date) }
        let planned = plan.itineraries.reduce(0) { $0 + $1.visits.count }
        var lines = [
            "Plan for \(department) on \(plan.day): \(plan.crewsOnShift.count) crew\(plan.crewsOnShift.count == 1 ? "" : "s") on shift, "
                + "\(planned) of \(planned + plan.unplanned.count) requests planned, \(DayPlanner.distance(plan.distance)) in all"
        ]
        for itinerary in plan.itineraries {
            let crew = itinerary.crew
            lines.append("")
            lines.append(
                "\(crew.name) (\(crew.vehicle), \(crew.shift.hours)): leaves \(crew.depotName) at \(clock(itinerary.leaves)), back at "
                    + "\(clock(itinerary.returns)); \(itinerary.visits.count) stops, load \(DayPlanner.number(itinerary.load)) of "
                    + "\(DayPlanner.number(crew.capacity)), \(DayPlanner.distance(itinerary.distance))")
            for (index, visit) in itinerary.visits.enumerated() {
                let request = visit.stop.request
                let place = request.location.address.map { ", \($0)" } ?? ""
                lines.append("  \(index + 1). \(clock(visit.starts))–\(clock(visit.ends))  #\(request.id) \(request.serviceName)\(place)")
                lines.append("     \(visit.reason)")
            }
        }
        for crew in plan.crewsOnShift where !plan.itineraries.contains(where: { $0.crew.id == crew.id }) {
            lines.append("")
            lines.append("\(crew.name): nothing planned")
        }
        if !plan.unplanned.isEmpty {
            lines.append("")
            lines.append("Not planned:")
            for item in plan.unplanned {
                lines.append("  #\(item.stop.request.id) \(item.stop.request.serviceName): \(item.reason)")
            }
        }
        if !plan.violations.isEmpty {
            lines.append("")
            lines.append("The feasibility checker found: " + plan.violations.joined(separator: "; "))
        }
        return lines.joined(separator: "\n")
    }
}
