import Foundation

/// A vehicle: where it starts and ends its day, what it carries, its shift, and what its crew can do.
public struct Vehicle: Sendable, Equatable {
    /// The node index of its depot (one of the problem's depots, `0..<depotCount`).
    public var depot: Int
    public var capacity: Double
    public var shiftStart: Double
    public var shiftEnd: Double
    public var skills: Set<String>

    public init(
        depot: Int = 0, capacity: Double, shiftStart: Double = 0, shiftEnd: Double = .greatestFiniteMagnitude,
        skills: Set<String> = []
    ) {
        self.depot = depot
        self.capacity = capacity
        self.shiftStart = shiftStart
        self.shiftEnd = shiftEnd
        self.skills = skills
    }
}

/// A day of work to plan: depots, a fleet, and stops with demand, service time, a time window and the skills they
/// need. Nodes `0..<depotCount` are depots; the rest are stops.
public struct RoutingProblem: Sendable {
    public var name: String
    /// The node numbers as the source file names them.
    public var labels: [Int]
    public var depotCount: Int
    public var demand: [Double]
    public var ready: [Double]
    public var due: [Double]
    public var service: [Double]
    /// Skills each node needs (empty for most); a stop goes only to a vehicle that has them all.
    public var requiredSkills: [Set<String>]
    public var fleet: [Vehicle]
    /// Travel distance between every pair of nodes, row-major `count × count`.
    public var distance: [Double]
    /// Travel time between every pair of nodes, row-major; the same as distance for benchmark instances.
    public var duration: [Double]
    /// Coordinates when the problem has them (benchmark files).
    public var coordinates: [(x: Double, y: Double)]?

    public var count: Int { demand.count }
    public var stops: Range<Int> { depotCount..<count }
    /// How many vehicles may be used at most.
    public var vehicles: Int { fleet.count }
    /// The largest capacity in the fleet.
    public var capacity: Double { fleet.map(\.capacity).max() ?? 0 }

    @inlinable public func distance(_ a: Int, _ b: Int) -> Double { distance[a &* count &+ b] }
    @inlinable public func duration(_ a: Int, _ b: Int) -> Double { duration[a &* count &+ b] }

    /// The general form: any depots, any fleet, any distance and duration matrices (e.g. a road network's).
    public init(
        name: String, labels: [Int], depotCount: Int, demand: [Double], ready: [Double], due: [Double],
        service: [Double], requiredSkills: [Set<String>]? = nil, fleet: [Vehicle], distance: [Double], duration: [Double]
    ) {
        self.name = name
        self.labels = labels
        self.depotCount = depotCount
        self.demand = demand
        self.ready = ready
        self.due = due
        self.service = service
        self.requiredSkills = requiredSkills ?? Array(repeating: [], count: demand.count)
        self.fleet = fleet
        self.distance = distance
        self.duration = duration
        self.coordinates = nil
    }

    /// One depot (node 0) and `vehicles` identical vehicles whose shift is the depot's window
    /// (`Int.max`: as many as there are stops).
    public init(
        name: String, labels: [Int], demand: [Double], ready: [Double], due: [Double], service: [Double],
        capacity: Double, vehicles: Int, distance: [Double], duration: [Double]
    ) {
        let count = vehicles == Int.max ? max(1, demand.count - 1) : vehicles
        self.init(
            name: name, labels: labels, depotCount: 1, demand: demand, ready: ready, due: due, service: service,
            fleet: Array(repeating: Vehicle(depot: 0, capacity: capacity), count: count), distance: distance,
            duration: duration)
    }

    /// A problem from planar coordinates with Euclidean distances in double precision (benchmark convention).
    public init(
        name: String, labels: [Int], coordinates: [(x: Double, y: Double)], demand: [Double], ready: [Double],
        due: [Double], service: [Double], capacity: Double, vehicles: Int
    ) {
        let n = coordinates.count
        var matrix = [Double](repeating: 0, count: n * n)
        for a in 0..<n {
            for b in 0..<n where a != b {
                let dx = coordinates[a].x - coordinates[b].x
                let dy = coordinates[a].y - coordinates[b].y
                matrix[a * n + b] = (dx * dx + dy * dy).squareRoot()
            }
        }
        self.init(
            name: name, labels: labels, demand: demand, ready: ready, due: due, service: service, capacity: capacity,
            vehicles: vehicles, distance: matrix, duration: matrix)
        self.coordinates = coordinates
    }

    /// Great-circle distances (metres) and durations (seconds at `speed` m/s) between latitude/longitude points,
    /// the default for real streets when no road-network matrix is supplied.
    public static func greatCircle(_ points: [(latitude: Double, longitude: Double)], speed: Double = 8.3)
        -> (distance: [Double], duration: [Double])
    {
        let n = points.count
        var distance = [Double](repeating: 0, count: n * n)
        var duration = distance
        for a in 0..<n {
            for b in 0..<n where a != b {
                let meters = haversine(points[a], points[b])
                distance[a * n + b] = meters
                duration[a * n + b] = meters / speed
            }
        }
        return (distance, duration)
    }

    static func haversine(_ p: (latitude: Double, longitude: Double), _ q: (latitude: Double, longitude: Double)) -> Double {
        let radius = 6_371_008.8
        let rad = Double.pi / 180
        let dLat = (q.latitude - p.latitude) * rad
        let dLon = (q.longitude - p.longitude) * rad
        let h = sin(dLat / 2) * sin(dLat / 2) + cos(p.latitude * rad) * cos(q.latitude * rad) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * radius * asin(min(1, h.squareRoot()))
    }
}

/// Routes for a problem: each route lists node indices in visiting order, depots excluded, and is driven by the
/// vehicle at the same position of `assignments` (an index into the problem's fleet).
public struct RoutingSolution: Sendable, Equatable {
    public var routes: [[Int]]
    public var assignments: [Int]
    public var distance: Double
    /// What the independent feasibility checker found; the solver fills this in for every solution it returns,
    /// and empty means verified.
    public var violations: [FeasibilityChecker.Violation] = []
    public var vehicles: Int { routes.count }

    /// `assignments` defaults to the first vehicles of the fleet in order (right for identical vehicles).
    public init(routes: [[Int]], assignments: [Int]? = nil, problem: RoutingProblem) {
        let vehicles = assignments ?? Array(0..<routes.count)
        let kept = zip(routes, vehicles).filter { !$0.0.isEmpty }
        self.routes = kept.map(\.0)
        self.assignments = kept.map(\.1)
        distance = kept.reduce(0) { total, pair in
            let depot = problem.fleet.indices.contains(pair.1) ? problem.fleet[pair.1].depot : 0
            var sum = 0.0
            var previous = depot
            for node in pair.0 {
                sum += problem.distance(previous, node)
                previous = node
            }
            return total + sum + problem.distance(previous, depot)
        }
    }

    /// Whether this solution is better under the hierarchical objective: fewer vehicles, then less distance.
    public func isBetter(than other: RoutingSolution) -> Bool {
        vehicles != other.vehicles ? vehicles < other.vehicles : distance < other.distance - 1e-9
    }
}
