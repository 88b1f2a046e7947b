/// One route as a crew drives it: when service starts at each stop, what the vehicle carries, how far it goes.
public struct RouteSchedule: Sendable, Equatable {
    public var vehicle: Int
    public var stops: [Int]
    /// When service starts at each stop (after any wait for its window to open).
    public var serviceStarts: [Double]
    public var departure: Double
    public var returnTime: Double
    public var load: Double
    public var distance: Double
}

extension RoutingSolution {
    /// The timetable of every route, computed from the problem (earliest departure, waiting where a window is not open).
    public func schedules(in problem: RoutingProblem) -> [RouteSchedule] {
        zip(routes, assignments).map { route, vehicleIndex in
            let vehicle = problem.fleet[vehicleIndex]
            let depot = vehicle.depot
            let departure = max(problem.ready[depot], vehicle.shiftStart)
            var time = departure
            var previous = depot
            var starts: [Double] = []
            var load = 0.0
            var distance = 0.0
            for node in route {
                time = max(problem.ready[node], time + problem.service[previous] + problem.duration(previous, node))
                starts.append(time)
                load += problem.demand[node]
                distance += problem.distance(previous, node)
                previous = node
            }
            distance += problem.distance(previous, depot)
            return RouteSchedule(
                vehicle: vehicleIndex, stops: route, serviceStarts: starts, departure: departure,
                returnTime: time + problem.service[previous] + problem.duration(previous, depot), load: load,
                distance: distance)
        }
    }
}
