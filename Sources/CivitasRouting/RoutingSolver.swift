import Dispatch
import Foundation

/// How long and how the solver searches.
public struct SolverOptions: Sendable {
    public var timeLimit: Duration
    public var seed: UInt64
    /// Stop after this many ruin-and-recreate iterations per search (makes runs reproducible whatever the machine).
    public var maxIterations: Int?
    /// Independent searches run in parallel with seeds derived from `seed`; the best result wins.
    public var threads: Int

    public init(timeLimit: Duration = .seconds(10), seed: UInt64 = 1, maxIterations: Int? = nil, threads: Int = 1) {
        self.timeLimit = timeLimit
        self.seed = seed
        self.maxIterations = maxIterations
        self.threads = max(1, threads)
    }
}

/// Plans routes: a ruin-and-recreate search in the style of SISR (adjacent string removal, greedy insertion with
/// blinks, simulated annealing), with a first phase that removes whole routes while every stop can still be served.
public enum RoutingSolver {
    public static func solve(_ problem: RoutingProblem, options: SolverOptions = SolverOptions()) -> RoutingSolution {
        guard problem.count > problem.depotCount else { return RoutingSolution(routes: [], problem: problem) }
        let count = options.threads
        let results = ResultBox(count: count)
        DispatchQueue.concurrentPerform(iterations: count) { index in
            var search = Search(problem: problem, seed: options.seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15, options: options)
            results.set(index, search.run())
        }
        // Ties go to the lowest index, so a fixed seed and thread count give the same answer.
        var solution = results.all.reduce(nil as RoutingSolution?) { best, next in
            guard let best else { return next }
            return next.isBetter(than: best) ? next : best
        }!
        solution.violations = FeasibilityChecker.violations(of: solution.routes, vehicles: solution.assignments, in: problem)
        return solution
    }
}

private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [RoutingSolution?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: RoutingSolution) { lock.withLock { values[index] = value } }
    var all: [RoutingSolution] { lock.withLock { values.compactMap { $0 } } }
}

/// xoshiro256** seeded through SplitMix64: fast, and the same sequence on every platform.
struct Xoshiro: RandomNumberGenerator {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

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

    // MARK: Ruin: adjacent string removal

    mutating func ruin(_ plan: Plan) -> Plan {
        var next = plan
        let assigned = n - firstStop - plan.unassigned.count
        guard assigned > 0, !plan.routes.isEmpty else { return next }
        let averageRemoved = 10.0
        let maxStringLength = 10.0
        let lengthLimit = min(maxStringLength, Double(assigned) / Double(plan.routes.count))
        let stringLimit = 4 * averageRemoved / (1 + lengthLimit) - 1
        let strings = Int(random.unit() * stringLimit) + 1

        var routeOf = [Int](repeating: -1, count: n)
        for (index, route) in next.routes.enumerated() { for stop in route { routeOf[stop] = index } }
        var seed = 0
        repeat { seed = firstStop + random.below(n - firstStop) } while routeOf[seed] < 0
        var ruined = Set<Int>()
        for stop in [seed] + neighbours[seed] {
            if ruined.count >= strings { break }
            let index = routeOf[stop]
            guard index >= 0, !ruined.contains(index) else { continue }
            let route = next.routes[index]
            guard let position = route.firstIndex(of: stop) else { continue }
            let maxLength = max(1, Int(min(Double(route.count), lengthLimit)))
            let length = 1 + random.below(maxLength)
            // A string of `length` stops that contains `stop`, starting anywhere that allows it.
            let earliest = max(0, position - length + 1)
            let latest = min(position, route.count - length)
            let first = earliest + random.below(latest - earliest + 1)
            let removed = route[first..<(first + length)]
            next.unassigned.append(contentsOf: removed)
            for node in removed { routeOf[node] = -1 }
            next.routes[index].removeSubrange(first..<(first + length))
            ruined.insert(index)
        }
        var index = next.routes.count - 1
        while index >= 0 {
            if next.routes[index].isEmpty {
                next.routes.remove(at: index)
                next.vehicles.remove(at: index)
            }
            index -= 1
        }
        next.distance = totalDistance(next)
        return next
    }

    // MARK: Recreate: greedy insertion with blinks

    /// Per-route times for O(1) insertion checks: earliest service start at each position, and the latest start
    /// that keeps every later stop (and the return to the depot) on time.
    struct RouteTimes {
        var start: [Double]
        var latest: [Double]
        var load: Double
    }

    func times(_ route: [Int], vehicle: Int) -> RouteTimes {
        let depot = depotOf[vehicle]
        let m = route.count
        var start = [Double](repeating: 0, count: m + 2)
        var latest = [Double](repeating: 0, count: m + 2)
        start[0] = leaveOf[vehicle]
        var previous = depot
        var load = 0.0
        for k in 0..<m {
            let node = route[k]
            start[k + 1] = max(ready[node], start[k] + service[previous] + dur[previous &* n &+ node])
            load += demand[node]
            previous = node
        }
        start[m + 1] = start[m] + service[previous] + dur[previous &* n &+ depot]
        latest[m + 1] = returnOf[vehicle]
        var following = depot
        for k in stride(from: m, through: 1, by: -1) {
            let node = route[k - 1]
            latest[k] = min(due[node], latest[k + 1] - dur[node &* n &+ following] - service[node])
            following = node
        }
        latest[0] = min(returnOf[vehicle], latest[1] - dur[depot &* n &+ following] - service[depot])
        return RouteTimes(start: start, latest: latest, load: load)
    }

    mutating func recreate(_ plan: Plan, fleet: Int) -> Plan {
        var next = plan
        var pending = next.unassigned
        next.unassigned.removeAll(keepingCapacity: true)
        order(&pending)
        var routeTimes = zip(next.routes, next.vehicles).map { times($0, vehicle: $1) }
        var used = [Bool](repeating: false, count: depotOf.count)
        for vehicle in next.vehicles { used[vehicle] = true }
        let blink = 0.01
        for stop in pending {
            var bestRoute = -1
            var bestGap = -1
            var bestDelta = Double.infinity
            for (index, route) in next.routes.enumerated() {
                let vehicle = next.vehicles[index]
                let info = routeTimes[index]
                if info.load + demand[stop] > capacityOf[vehicle] + 1e-9 { continue }
                if let skillOK, !skillOK[vehicle &* n &+ stop] { continue }
                let depot = depotOf[vehicle]
                var previous = depot
                for gap in 0...route.count {
                    let following = gap < route.count ? route[gap] : depot
                    defer { previous = following }
                    let delta = dist[previous &* n &+ stop] + dist[stop &* n &+ following] - dist[previous &* n &+ following]
                    if delta >= bestDelta { continue }
                    let arrival = max(ready[stop], info.start[gap] + service[previous] + dur[previous &* n &+ stop])
                    if arrival > due[stop] { continue }
                    let nextStart = max(ready[following], arrival + service[stop] + dur[stop &* n &+ following])
                    if nextStart > info.latest[gap + 1] + 1e-9 { continue }
                    if random.unit() < blink { continue }
                    bestRoute = index
                    bestGap = gap
                    bestDelta = delta
                }
            }
            if bestRoute >= 0 {
                next.routes[bestRoute].insert(stop, at: bestGap)
                next.distance += bestDelta
                routeTimes[bestRoute] = times(next.routes[bestRoute], vehicle: next.vehicles[bestRoute])
                continue
            }
            // No room on a running route: start one with the cheapest free vehicle that can serve the stop alone.
            var chosen = -1
            var chosenCost = Double.infinity
            if next.routes.count < fleet {
                for members in classes {
                    guard let vehicle = members.first(where: { !used[$0] }), fitsAlone(stop, vehicle: vehicle) else { continue }
                    let depot = depotOf[vehicle]
                    let cost = dist[depot &* n &+ stop] + dist[stop &* n &+ depot]
                    if cost < chosenCost {
                        chosen = vehicle
                        chosenCost = cost
                    }
                }
            }
            if chosen >= 0 {
                used[chosen] = true
                next.routes.append([stop])
                next.vehicles.append(chosen)
                next.distance += chosenCost
                routeTimes.append(times([stop], vehicle: chosen))
            } else {
                next.unassigned.append(stop)
            }
        }
        return next
    }

    func fitsAlone(_ stop: Int, vehicle: Int) -> Bool {
        let depot = depotOf[vehicle]
        if let skillOK, !skillOK[vehicle &* n &+ stop] { return false }
        let arrival = max(ready[stop], leaveOf[vehicle] + service[depot] + dur[depot &* n &+ stop])
        return arrival <= due[stop] && arrival + service[stop] + dur[stop &* n &+ depot] <= returnOf[vehicle]
            && demand[stop] <= capacityOf[vehicle]
    }

    /// SISR's orders for re-inserting: random, largest demand, farthest from the depot, closest; plus earliest due.
    mutating func order(_ stops: inout [Int]) {
        let pick = random.below(13)
        switch pick {
        case 0..<4: stops.shuffle(using: &random)
        case 4..<8: stops.sort { demand[$0] > demand[$1] }
        case 8..<10: stops.sort { dist[$0] > dist[$1] }
        case 10: stops.sort { dist[$0] < dist[$1] }
        default: stops.sort { due[$0] < due[$1] }
        }
    }

    func totalDistance(_ plan: Plan) -> Double {
        zip(plan.routes, plan.vehicles).reduce(0) { total, pair in
            let depot = depotOf[pair.1]
            var sum = 0.0
            var previous = depot
            for node in pair.0 {
                sum += dist[previous &* n &+ node]
                previous = node
            }
            return total + sum + dist[previous &* n &+ depot]
        }
    }
}
