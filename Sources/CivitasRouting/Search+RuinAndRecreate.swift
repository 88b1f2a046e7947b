import Dispatch
import Foundation

/// The search's moves: remove an adjacent string of stops from a few routes, then put them back greedily, with blinks.
extension Search {
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
