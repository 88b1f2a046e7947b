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

        public var description: String {
            switch self {
            case .unserved(let stop): return "stop \(stop) is not served"
            case .servedTwice(let stop): return "stop \(stop) is served more than once"
            case .unknownNode(let node): return "node \(node) is not a stop of this problem"
            case .overCapacity(let route, let load, let capacity): return "route \(route + 1) carries \(load), over the capacity \(capacity)"
            case .late(let route, let stop, let arrival, let due): return "route \(route + 1) reaches stop \(stop) at \(arrival), after its due time \(due)"
            case .lateAtDepot(let route, let arrival, let due): return "route \(route + 1) returns at \(arrival), after the depot closes at \(due)"
            case .tooManyVehicles(let used, let available): return "\(used) vehicles used, \(available) available"
            }
        }
    }

    /// Every violation found; empty means the solution is feasible.
    public static func violations(of routes: [[Int]], in problem: RoutingProblem, tolerance: Double = 1e-6) -> [Violation] {
        var found: [Violation] = []
        var seen = [Int](repeating: 0, count: problem.count)
        let used = routes.filter { !$0.isEmpty }
        if used.count > problem.vehicles { found.append(.tooManyVehicles(used: used.count, available: problem.vehicles)) }
        for (index, route) in used.enumerated() {
            var load = 0.0
            var time = problem.ready[0]
            var previous = 0
            for node in route {
                guard node > 0, node < problem.count else {
                    found.append(.unknownNode(node))
                    continue
                }
                seen[node] += 1
                load += problem.demand[node]
                time += problem.duration(previous, node)
                if time > problem.due[node] + tolerance {
                    found.append(.late(route: index, stop: problem.labels[node], arrival: time, due: problem.due[node]))
                }
                time = max(time, problem.ready[node]) + problem.service[node]
                previous = node
            }
            time += problem.duration(previous, 0)
            if time > problem.due[0] + tolerance { found.append(.lateAtDepot(route: index, arrival: time, due: problem.due[0])) }
            if load > problem.capacity + tolerance {
                found.append(.overCapacity(route: index, load: load, capacity: problem.capacity))
            }
        }
        for stop in problem.stops {
            if seen[stop] == 0 { found.append(.unserved(stop: problem.labels[stop])) }
            if seen[stop] > 1 { found.append(.servedTwice(stop: problem.labels[stop])) }
        }
        return found
    }
}
