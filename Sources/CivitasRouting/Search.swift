import Dispatch
import Foundation

/// One search: its own state and random stream.
struct Search {
    let problem: RoutingProblem
    let n: Int
    let dist: [Double]
    let dur: [Double]
    let ready: [Double]
    let due: [Double]
    let service: [Double]
    let demand: [Double]
    /// Per vehicle: its depot, capacity, when it can leave and when it must be back.
    let depotOf: [Int]
    let capacityOf: [Double]
    let leaveOf: [Double]
    let returnOf: [Double]
    /// Vehicles that are interchangeable share a class; a new route takes the first free vehicle of a class.
    let classes: [[Int]]
    /// `vehicle * n + stop` is true when the vehicle has every skill the stop needs (nil: nobody needs skills).
    let skillOK: [Bool]?
    let firstStop: Int
    /// For every stop, the other stops by increasing distance.
    let neighbours: [[Int]]
    var random: Xoshiro
    let options: SolverOptions
    let deadline: ContinuousClock.Instant
    let started = ContinuousClock.now
    var iterations = 0

    /// A candidate plan: routes (depots excluded), the vehicle driving each, and the stops it could not place.
    struct Plan {
        var routes: [[Int]]
        var vehicles: [Int]
        var unassigned: [Int]
        var distance: Double
    }

    init(problem: RoutingProblem, seed: UInt64, options: SolverOptions) {
        self.problem = problem
        n = problem.count
        dist = problem.distance
        dur = problem.duration
        ready = problem.ready
        due = problem.due
        service = problem.service
        demand = problem.demand
        let fleet = problem.fleet
        depotOf = fleet.map(\.depot)
        capacityOf = fleet.map(\.capacity)
        leaveOf = fleet.map { max($0.shiftStart, problem.ready[$0.depot]) }
        returnOf = fleet.map { min($0.shiftEnd, problem.due[$0.depot]) }
        var grouped: [String: [Int]] = [:]
        var order: [String] = []
        for (index, vehicle) in fleet.enumerated() {
            let key = "\(vehicle.depot)|\(vehicle.capacity)|\(vehicle.shiftStart)|\(vehicle.shiftEnd)|\(vehicle.skills.sorted())"
            if grouped[key] == nil { order.append(key) }
            grouped[key, default: []].append(index)
        }
        classes = order.map { grouped[$0]! }
        if problem.requiredSkills.contains(where: { !$0.isEmpty }) {
            var table = [Bool](repeating: true, count: fleet.count * problem.count)
            for (v, vehicle) in fleet.enumerated() {
                for node in 0..<problem.count { table[v * problem.count + node] = problem.requiredSkills[node].isSubset(of: vehicle.skills) }
            }
            skillOK = table
        } else {
            skillOK = nil
        }
        firstStop = problem.depotCount
        random = Xoshiro(seed: seed)
        self.options = options
        deadline = ContinuousClock.now + options.timeLimit
        let distance = problem.distance
        let count = problem.count
        let depots = problem.depotCount
        neighbours = (0..<count).map { node in
            (depots..<count).filter { $0 != node }.sorted { distance[node * count + $0] < distance[node * count + $1] }
        }
    }

    var outOfTime: Bool {
        if let limit = options.maxIterations { return iterations >= limit }
        return ContinuousClock.now >= deadline
    }

    var elapsedFraction: Double {
        if let limit = options.maxIterations { return min(1, Double(iterations) / Double(max(1, limit))) }
        let total = options.timeLimit / .seconds(1)
        return min(1, (ContinuousClock.now - started) / .seconds(1) / max(total, 1e-9))
    }

    mutating func run() -> RoutingSolution {
        // Stops no vehicle can serve even alone (a window or skill nobody meets) are set aside, so they do not
        // stall the search; they come back unassigned and the checker reports them.
        let servable = (firstStop..<n).filter { stop in depotOf.indices.contains { fitsAlone(stop, vehicle: $0) } }
        let impossible = (firstStop..<n).filter { !servable.contains($0) }
        var best = recreate(Plan(routes: [], vehicles: [], unassigned: servable, distance: 0), fleet: problem.vehicles)
        // Stops no vehicle can serve (a window or skill nobody meets) stay out; the checker reports them.
        best = minimiseFleet(from: best, share: 0.4)
        best = minimiseDistance(from: best)
        best.unassigned += impossible
        if ProcessInfo.processInfo.environment["CIVITAS_ROUTING_DEBUG"] != nil {
            FileHandle.standardError.write(Data("search: \(iterations) iterations\n".utf8))
        }
        return RoutingSolution(routes: best.routes, assignments: best.vehicles, problem: problem)
    }

    // MARK: Phases

    /// Repeatedly takes a route away and tries to place its stops elsewhere, guided by how often each stop has
    /// been left out (SISR's absence counters). Ends at `share` of the budget.
    mutating func minimiseFleet(from start: Plan, share: Double) -> Plan {
        var best = start
        var absences = [Int](repeating: 0, count: n)
        // An incomplete start (a tight fleet) is repaired first; a complete one loses a route to start with.
        var current = best.unassigned.isEmpty ? (best.routes.count > 1 ? removeRoute(from: best) : best) : best
        if best.unassigned.isEmpty && best.routes.count <= 1 { return best }
        while !outOfTime, elapsedFraction < share || !best.unassigned.isEmpty {
            iterations += 1
            let candidate = recreate(ruin(current), fleet: max(current.routes.count, best.unassigned.isEmpty ? 0 : problem.vehicles))
            for stop in candidate.unassigned { absences[stop] += 1 }
            let sumCandidate = candidate.unassigned.reduce(0) { $0 + absences[$1] }
            let sumCurrent = current.unassigned.reduce(0) { $0 + absences[$1] }
            if candidate.unassigned.count < current.unassigned.count || sumCandidate < sumCurrent {
                current = candidate
            }
            if current.unassigned.count < best.unassigned.count { best = current }
            if current.unassigned.isEmpty {
                best = current
                if best.routes.count <= 1 { break }
                current = removeRoute(from: best)
            }
        }
        return best
    }

    /// Simulated annealing over ruin-and-recreate moves, never using more vehicles than `start`.
    mutating func minimiseDistance(from start: Plan) -> Plan {
        var best = start
        var current = start
        let fleet = start.routes.count
        let initialTemperature = 100.0
        let finalTemperature = 1.0
        let beginning = elapsedFraction
        while !outOfTime {
            iterations += 1
            let progress = min(1, max(0, (elapsedFraction - beginning) / max(1e-9, 1 - beginning)))
            let temperature = initialTemperature * pow(finalTemperature / initialTemperature, progress)
            let candidate = recreate(ruin(current), fleet: fleet)
            guard candidate.unassigned.isEmpty else { continue }
            if candidate.distance < current.distance - temperature * log(random.unit()) {
                current = candidate
                if current.distance < best.distance - 1e-9 || current.routes.count < best.routes.count {
                    best = current
                }
            }
        }
        return best
    }

    mutating func removeRoute(from plan: Plan) -> Plan {
        var next = plan
        // Prefer routes that carry little: their stops are the easiest to place elsewhere.
        let loads = next.routes.map { route in route.reduce(0.0) { $0 + demand[$1] } }
        let smallest = loads.enumerated().sorted { $0.element < $1.element }.prefix(3).map(\.offset)
        let victim = smallest[random.below(smallest.count)]
        next.unassigned += next.routes.remove(at: victim)
        next.vehicles.remove(at: victim)
        next.distance = totalDistance(next)
        return next
    }
}
