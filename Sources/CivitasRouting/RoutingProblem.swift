import Foundation

/// A day of work to plan: a depot, a fleet with one capacity and shift (the depot's window), and stops with
/// demand, service time and a time window. Node 0 is the depot; nodes 1... are stops.
public struct RoutingProblem: Sendable {
    public var name: String
    /// The stop numbers as the source file names them (index 0 is the depot).
    public var labels: [Int]
    public var demand: [Double]
    public var ready: [Double]
    public var due: [Double]
    public var service: [Double]
    public var capacity: Double
    /// How many vehicles may be used at most (`Int.max` when the fleet is not limited).
    public var vehicles: Int
    /// Travel distance between every pair of nodes, row-major `count × count`.
    public var distance: [Double]
    /// Travel time between every pair of nodes, row-major; the same as distance for benchmark instances.
    public var duration: [Double]
    /// Coordinates when the problem has them (benchmark files); used only for output and neighbourhoods.
    public var coordinates: [(x: Double, y: Double)]?

    public var count: Int { demand.count }
    public var stops: Range<Int> { 1..<count }

    @inlinable public func distance(_ a: Int, _ b: Int) -> Double { distance[a &* count &+ b] }
    @inlinable public func duration(_ a: Int, _ b: Int) -> Double { duration[a &* count &+ b] }

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

    /// A problem from any distance and duration matrices (e.g. a road network's).
    public init(
        name: String, labels: [Int], demand: [Double], ready: [Double], due: [Double], service: [Double],
        capacity: Double, vehicles: Int, distance: [Double], duration: [Double]
    ) {
        self.name = name
        self.labels = labels
        self.demand = demand
        self.ready = ready
        self.due = due
        self.service = service
        self.capacity = capacity
        self.vehicles = vehicles
        self.distance = distance
        self.duration = duration
        self.coordinates = nil
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

/// Routes for a problem: each route lists node indices in visiting order, depot excluded.
public struct RoutingSolution: Sendable, Equatable {
    public var routes: [[Int]]
    public var distance: Double
    public var vehicles: Int { routes.count }

    public init(routes: [[Int]], problem: RoutingProblem) {
        self.routes = routes.filter { !$0.isEmpty }
        distance = self.routes.reduce(0) { total, route in
            var sum = 0.0
            var previous = 0
            for node in route {
                sum += problem.distance(previous, node)
                previous = node
            }
            return total + sum + problem.distance(previous, 0)
        }
    }

    /// Whether this solution is better under the hierarchical objective: fewer vehicles, then less distance.
    public func isBetter(than other: RoutingSolution) -> Bool {
        vehicles != other.vehicles ? vehicles < other.vehicles : distance < other.distance - 1e-9
    }
}
