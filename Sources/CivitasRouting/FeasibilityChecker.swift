/// Checks a solution against its problem from scratch, sharing no code with the solver, so a solver bug cannot
/// vouch for itself.
public enum FeasibilityChecker {
    public enum Violation: Sendable, Equatable, CustomStringConvertible {
        case unserved(stop: Int)
        case servedTwice(stop: Int)
        case unknownNode(Int)
        case overCapacity(route: Int, load: Double, capacity: Double)
        case late(route: Int, stop: Int, arrival: Double, due: Double)
        case lateAtDepot(route: Int, arrival: Double, due: Double)
        case tooManyVehicles(used: Int, available: Int)
        case unknownVehicle(Int)
        case vehicleUsedTwice(Int)
        case missingSkill(route: Int, stop: Int)

        public var description: String {
            switch self {
            case .unserved(let stop): return "stop \(stop) is not served"
            case .servedTwice(let stop): return "stop \(stop) is served more than once"
            case .unknownNode(let node): return "node \(node) is not a stop of this problem"
            case .overCapacity(let route, let load, let capacity): return "route \(route + 1) carries \(load), over the capacity \(capacity)"
            case .late(let route, let stop, let arrival, let due):
                return "route \(route + 1) reaches stop \(stop) at \(arrival), after its due time \(due)"
            case .lateAtDepot(let route, let arrival, let due): return "route \(route + 1) returns at \(arrival), after the depot closes at \(due)"
            case .tooManyVehicles(let used, let available): return "\(used) vehicles used, \(available) available"
            case .unknownVehicle(let vehicle): return "vehicle \(vehicle) is not in the fleet"
            case .vehicleUsedTwice(let vehicle): return "vehicle \(vehicle) drives two routes"
            case .missingSkill(let route, let stop): return "route \(route + 1)'s vehicle lacks a skill stop \(stop) needs"
            }
        }
    }

    /// Every violation found; empty means the solution is feasible. `vehicles` names the fleet index driving each
    /// route (by default the first vehicles in order).
    public static func violations(
        of routes: [[Int]], vehicles: [Int]? = nil, in problem: RoutingProblem, tolerance: Double = 1e-6
    ) -> [Violation] {
        var found: [Violation] = []
        var seen = [Int](repeating: 0, count: problem.count)
        let assigned = vehicles ?? Array(0..<routes.count)
        let used = zip(routes, assigned).filter { !$0.0.isEmpty }
        if used.count > problem.fleet.count { found.append(.tooManyVehicles(used: used.count, available: problem.fleet.count)) }
        var driving = Set<Int>()
        for (index, (route, vehicleIndex)) in used.enumerated() {
            guard problem.fleet.indices.contains(vehicleIndex) else {
                found.append(.unknownVehicle(vehicleIndex))
                continue
            }
            if !driving.insert(vehicleIndex).inserted { found.append(.vehicleUsedTwice(vehicleIndex)) }
            let vehicle = problem.fleet[vehicleIndex]
            let depot = vehicle.depot
            var load = 0.0
            var time = max(problem.ready[depot], vehicle.shiftStart) + problem.service[depot]
            var previous = depot
            for node in route {
                guard problem.stops.contains(node) else {
                    found.append(.unknownNode(node))
                    continue
                }
                seen[node] += 1
                if !problem.requiredSkills[node].isSubset(of: vehicle.skills) {
                    found.append(.missingSkill(route: index, stop: problem.labels[node]))
                }
                load += problem.demand[node]
                time += problem.duration(previous, node)
                if time > problem.due[node] + tolerance {
                    found.append(.late(route: index, stop: problem.labels[node], arrival: time, due: problem.due[node]))
                }
                time = max(time, problem.ready[node]) + problem.service[node]
                previous = node
            }
            time += problem.duration(previous, depot)
            let closes = min(problem.due[depot], vehicle.shiftEnd)
            if time > closes + tolerance { found.append(.lateAtDepot(route: index, arrival: time, due: closes)) }
            if load > vehicle.capacity + tolerance {
                found.append(.overCapacity(route: index, load: load, capacity: vehicle.capacity))
            }
        }
        for stop in problem.stops {
            if seen[stop] == 0 { found.append(.unserved(stop: problem.labels[stop])) }
            if seen[stop] > 1 { found.append(.servedTwice(stop: problem.labels[stop])) }
        }
        return found
    }
}
