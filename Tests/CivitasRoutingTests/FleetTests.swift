import Foundation
import Testing

@testable import CivitasRouting

/// Two depots 100 apart, stops around each, a fleet of three: a small van at each depot and a crane truck at
/// the west depot with a short shift.
func fleetProblem() -> RoutingProblem {
    let points: [(Double, Double)] = [
        (0, 0), (100, 0),  // depots: west (0), east (1)
        (5, 5), (-5, 5), (0, -6), (6, -2),  // around west: 2...5
        (105, 4), (95, -4), (100, 7), (104, -6),  // around east: 6...9
    ]
    let n = points.count
    var matrix = [Double](repeating: 0, count: n * n)
    for a in 0..<n {
        for b in 0..<n { matrix[a * n + b] = hypot(points[a].0 - points[b].0, points[a].1 - points[b].1) }
    }
    var skills = [Set<String>](repeating: [], count: n)
    skills[4] = ["crane"]
    return RoutingProblem(
        name: "fleet", labels: Array(0..<n), depotCount: 2, demand: [0, 0, 3, 3, 8, 3, 3, 3, 3, 3],
        ready: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], due: [1000, 1000, 500, 500, 500, 500, 500, 500, 500, 500],
        service: [0, 0, 5, 5, 5, 5, 5, 5, 5, 5], requiredSkills: skills,
        fleet: [
            Vehicle(depot: 0, capacity: 10),
            Vehicle(depot: 1, capacity: 20),
            Vehicle(depot: 0, capacity: 10, shiftStart: 0, shiftEnd: 60, skills: ["crane"]),
        ], distance: matrix, duration: matrix)
}

@Suite("Several depots, vehicles of their own, skills")
struct FleetTests {
    let problem = fleetProblem()

    @Test("the checker knows each vehicle's depot, capacity, shift and skills")
    func checker() {
        #expect(FeasibilityChecker.violations(of: [[2, 3, 5], [6, 7, 8, 9], [4]], vehicles: [0, 1, 2], in: problem).isEmpty)
        #expect(
            FeasibilityChecker.violations(of: [[2, 3, 5, 4], [6, 7, 8, 9]], vehicles: [2, 1], in: problem)
                .contains(.overCapacity(route: 0, load: 17, capacity: 10)))
        #expect(
            FeasibilityChecker.violations(of: [[2, 3, 4], [6, 7, 8, 9], [5]], vehicles: [0, 1, 2], in: problem)
                .contains(.missingSkill(route: 0, stop: 4)))
        #expect(
            FeasibilityChecker.violations(of: [[2, 3, 5], [6, 7, 8, 9, 4]], vehicles: [0, 0], in: problem)
                .contains(.vehicleUsedTwice(0)))
        #expect(
            FeasibilityChecker.violations(of: [[2, 3, 5], [6, 7, 8, 9], [4]], vehicles: [0, 1, 7], in: problem)
                .contains(.unknownVehicle(7)))
        // The crane truck's shift ends at 60: a trip east and back cannot fit.
        #expect(
            FeasibilityChecker.violations(of: [[2, 3, 5], [6, 7, 8], [4, 9]], vehicles: [0, 1, 2], in: problem)
                .contains { if case .lateAtDepot(route: 2, _, _) = $0 { return true } else { return false } })
        #expect(
            FeasibilityChecker.violations(of: [[1, 2, 3, 5], [6, 7, 8, 9], [4]], vehicles: [0, 1, 2], in: problem)
                .contains(.unknownNode(1)))
    }

    @Test("the solver sends each vehicle from its own depot and gives skilled stops to skilled crews")
    func solver() {
        let solution = RoutingSolver.solve(problem, options: SolverOptions(seed: 3, maxIterations: 3000))
        #expect(FeasibilityChecker.violations(of: solution.routes, vehicles: solution.assignments, in: problem).isEmpty)
        #expect(solution.vehicles == 3)
        let byVehicle = Dictionary(uniqueKeysWithValues: zip(solution.assignments, solution.routes))
        #expect(byVehicle[2]?.contains(4) == true)
        #expect(Set(byVehicle[1] ?? []) == [6, 7, 8, 9])
        // Two routes from the west and one from the east: 4 short loops, no crossing between depots.
        #expect(solution.distance < 120)
    }

    @Test("a stop nobody can serve is reported, not silently dropped")
    func impossibleStop() {
        var impossible = problem
        impossible.requiredSkills[9] = ["boat"]
        let solution = RoutingSolver.solve(impossible, options: SolverOptions(timeLimit: .milliseconds(200), seed: 1))
        #expect(FeasibilityChecker.violations(of: solution.routes, vehicles: solution.assignments, in: impossible) == [.unserved(stop: 9)])
        #expect(solution.violations == [.unserved(stop: 9)])
    }

    @Test("time spent loading at the depot counts before the first stop")
    func depotService() {
        var loading = problem
        loading.service[0] = 496  // stop 2 is due at 500, about 7 away
        #expect(
            FeasibilityChecker.violations(of: [[2, 3, 5], [6, 7, 8, 9], [4]], vehicles: [0, 1, 2], in: loading)
                .contains { if case .late(route: 0, stop: 2, _, _) = $0 { return true } else { return false } })
    }
}
