import Foundation
import Testing

@testable import CivitasRouting

/// A small Solomon-format instance: 8 customers around a depot, three vehicles of capacity 40.
let smallSolomon = """
    TINY8

    VEHICLE
    NUMBER     CAPACITY
      3          40

    CUSTOMER
    CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

        0      50         50          0          0        500          0
        1      60         50         10          0        200         10
        2      70         50         10         20        220         10
        3      60         60          5          0        300         10
        4      40         50         10          0        200         10
        5      30         50         10         40        250         10
        6      40         40          5          0        300         10
        7      50         70          8        100        180         10
        8      50         30          7          0        400         10
    """

func lines(_ text: String, replacing number: Int, with replacement: String) -> String {
    var all = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    all[number - 1] = replacement
    return all.joined(separator: "\n")
}

@Suite("Reading Solomon and VRPLIB files")
struct RoutingReaderTests {
    @Test("a Solomon file gives the depot first, the fleet, and every customer's window")
    func solomon() throws {
        let problem = try RoutingFileReader.parse(smallSolomon)
        #expect(problem.name == "TINY8")
        #expect(problem.count == 9)
        #expect(problem.capacity == 40)
        #expect(problem.vehicles == 3)
        #expect(problem.due[0] == 500)
        #expect(problem.ready[7] == 100 && problem.due[7] == 180)
        #expect(problem.distance(0, 1) == 10)
        #expect(abs(problem.distance(1, 3) - 10) < 1e-12)
        #expect((problem.distance(3, 0) - 200.0.squareRoot()).magnitude < 1e-12)
    }

    @Test("the real Solomon C101 file reads")
    func realFile() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/vrp/solomon/C101.txt").path
        let problem = try RoutingFileReader.read(path: path)
        #expect(problem.count == 101)
        #expect(problem.vehicles == 25 && problem.capacity == 200)
        #expect(problem.due[0] == 1236)
    }

    @Test(
        "malformed Solomon files name the line",
        arguments: [
            (12, "    3      60         60          5          0        300", "expected 7 numbers"),
            (13, "    4      40         fifty      10          0        200         10", "not a number"),
            (14, "    5      30         50         10        400        250         10", "after the due date"),
            (5, "  3", "vehicle number and the capacity"),
            (15, "    6      40         40         50          0        300         10", "more than a vehicle carries"),
        ])
    func solomonErrors(line: Int, replacement: String, message: String) {
        do {
            _ = try RoutingFileReader.parse(lines(smallSolomon, replacing: line, with: replacement))
            Issue.record("a malformed file was read")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }

    @Test("a VRPLIB file with a depot section, time windows and service times reads; the depot comes first")
    func vrplib() throws {
        let text = """
            NAME : tiny-vrptw
            TYPE : VRPTW
            DIMENSION : 4
            CAPACITY : 10
            VEHICLES : 2
            EDGE_WEIGHT_TYPE : EUC_2D
            NODE_COORD_SECTION
            1 0 0
            2 3 4
            3 10 0
            4 0 0
            DEMAND_SECTION
            1 4
            2 5
            3 0
            4 6
            TIME_WINDOW_SECTION
            1 0 100
            2 0 50
            3 0 100
            4 10 20
            SERVICE_TIME_SECTION
            1 1
            2 2
            3 0
            4 3
            DEPOT_SECTION
            3
            -1
            EOF
            """
        let problem = try RoutingFileReader.parse(text)
        #expect(problem.labels == [3, 1, 2, 4])
        #expect(problem.demand == [0, 4, 5, 6])
        #expect(problem.vehicles == 2)
        #expect(problem.due[3] == 20)
        #expect(problem.service[2] == 2)
        #expect(problem.distance(1, 2) == 5)
    }

    @Test("malformed VRPLIB files name the line")
    func vrplibErrors() {
        let base = "NAME : x\nDIMENSION : 3\nCAPACITY : 10\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nDEMAND_SECTION\n1 0\n2 1\n3 x\nEOF\n"
        #expect(throws: RoutingFileError(line: 11, "a value in DEMAND_SECTION is not a number")) { try RoutingFileReader.parse(base) }
        let missing = base.replacingOccurrences(of: "3 2 2\n", with: "")
        #expect(throws: RoutingFileError(line: 6, "NODE_COORD_SECTION lists 2 nodes; DIMENSION says 3")) {
            try RoutingFileReader.parse(missing.replacingOccurrences(of: "3 x", with: "3 1"))
        }
        #expect(throws: RoutingFileError.self) {
            try RoutingFileReader.parse(base.replacingOccurrences(of: "CAPACITY : 10", with: "CAPACITY : lots"))
        }
    }
}

@Suite("The feasibility checker")
struct FeasibilityCheckerTests {
    let problem = try! RoutingFileReader.parse(smallSolomon)

    @Test("a feasible plan has no violations")
    func feasible() {
        #expect(FeasibilityChecker.violations(of: [[1, 2, 3, 7], [4, 5, 6, 8]], in: problem).isEmpty)
    }

    @Test("it catches capacity, lateness, unserved and twice-served stops, and too many vehicles")
    func violations() {
        #expect(
            FeasibilityChecker.violations(of: [[1, 2, 3, 7, 8, 6], [4, 5]], in: problem).contains(.overCapacity(route: 0, load: 45, capacity: 40)))
        #expect(
            FeasibilityChecker.violations(of: [[8, 6, 5, 4, 1, 2, 3, 7]], in: problem).contains {
                if case .late = $0 { return true } else { return false }
            })
        #expect(FeasibilityChecker.violations(of: [[1, 2, 3, 7], [4, 5, 6]], in: problem) == [.unserved(stop: 8)])
        #expect(FeasibilityChecker.violations(of: [[1, 2, 3, 7], [4, 5, 6, 8, 1]], in: problem).contains(.servedTwice(stop: 1)))
        #expect(
            FeasibilityChecker.violations(of: [[1, 2], [3, 7], [4, 5], [6, 8]], in: problem).contains(.tooManyVehicles(used: 4, available: 3)))
    }
}

@Suite("The solver")
struct RoutingSolverTests {
    let problem = try! RoutingFileReader.parse(smallSolomon)

    @Test("its plans are feasible and never worse than a simple plan")
    func feasible() {
        let solution = RoutingSolver.solve(problem, options: SolverOptions(seed: 7, maxIterations: 2000))
        #expect(FeasibilityChecker.violations(of: solution.routes, in: problem).isEmpty)
        #expect(solution.vehicles == 2)
        #expect(solution.distance <= RoutingSolution(routes: [[1, 2, 3, 7], [4, 5, 6, 8]], problem: problem).distance + 1e-9)
    }

    @Test("a schedule gives service starts, waits for windows, loads and distances that add up")
    func schedule() {
        let solution = RoutingSolution(routes: [[1, 2, 3, 7], [4, 5, 6, 8]], problem: problem)
        let schedules = solution.schedules(in: problem)
        #expect(schedules[0].serviceStarts[0] == 10)
        #expect(schedules[0].serviceStarts[3] == 100)  // stop 7 opens at 100: the crew waits
        #expect(schedules[1].serviceStarts[1] == 40)  // stop 5 opens at 40
        #expect(schedules.map(\.load) == [33, 32])
        #expect(abs(schedules.map(\.distance).reduce(0, +) - solution.distance) < 1e-9)
        #expect(schedules[0].returnTime == 130)
    }

    @Test("the same seed gives the same plan")
    func deterministic() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/vrp/solomon/R101.txt").path
        let problem = try RoutingFileReader.read(path: path)
        let options = SolverOptions(timeLimit: .seconds(600), seed: 42, maxIterations: 3000)
        let first = RoutingSolver.solve(problem, options: options)
        #expect(RoutingSolver.solve(problem, options: options) == first)
        #expect(FeasibilityChecker.violations(of: first.routes, in: problem).isEmpty)
        var other = options
        other.seed = 43
        #expect(RoutingSolver.solve(problem, options: other).routes != first.routes)
    }

    @Test("it stops at the time limit")
    func timeLimit() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/vrp/solomon/RC101.txt").path
        let problem = try RoutingFileReader.read(path: path)
        let start = ContinuousClock.now
        let solution = RoutingSolver.solve(problem, options: SolverOptions(timeLimit: .milliseconds(300), seed: 1))
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(FeasibilityChecker.violations(of: solution.routes, in: problem).isEmpty)
    }

    @Test("great-circle distances are in metres")
    func greatCircle() {
        // Baltimore City Hall to the Inner Harbor, about 700 m.
        let (distance, duration) = RoutingProblem.greatCircle([(39.2910, -76.6107), (39.2856, -76.6081)])
        #expect((600...800).contains(distance[1]))
        #expect(duration[1] > 0)
    }
}
