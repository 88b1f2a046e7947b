import ArgumentParser
import CivitasCore
import CivitasRouting
import CivitasServer
import CivitasStore
import Configuration
import Foundation
import Hummingbird
import Logging

struct Crews: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage field crews.", subcommands: [Add.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a crew with its depot, vehicle, shift, skills and members.")

        @Option(help: "The crew's name, e.g. \"Bulky 1\".")
        var name: String

        @Option(help: "The department it works for.")
        var department: String

        @Option(help: "Where its day starts and ends, as LAT,LONG.")
        var depot: String

        @Option(help: "The depot's name.")
        var depotName: String = "Depot"

        @Option(help: "The vehicle, e.g. \"Truck 12\".")
        var vehicle: String = "Truck"

        @Option(help: "What the vehicle carries, in the units of `services work --load`.")
        var capacity: Double

        @Option(help: "Days and hours, e.g. \"mon-fri 07:00-15:30\".")
        var shift: String = "mon-fri 07:00-15:30"

        @Option(help: "Skills, comma-separated, e.g. lift,chainsaw.")
        var skills: String = ""

        @Option(help: "Services it does, comma-separated codes; all of the department's when left out.")
        var services: String?

        @Option(help: "A member's email (staff with the crew role); repeat for each.")
        var member: [String] = []

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let input = self
            try await withStores(options) { configuration, stores, _ in
                let jurisdiction = configuration.jurisdiction.id
                let parts = input.depot.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                guard parts.count == 2 else {
                    throw CivitasError.invalid("depot_invalid", "--depot takes LAT,LONG, like 39.2904,-76.6122.")
                }
                var members: [Int64] = []
                for email in input.member {
                    guard let user = try await stores.users.find(email: email, jurisdictionID: jurisdiction), user.kind == .staff else {
                        throw CivitasError.notFound("member_unknown", "There is no staff member \(email); add them with `civitas users add`.")
                    }
                    members.append(user.id)
                }
                let split: (String) -> Set<String> = {
                    Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
                }
                let crew = try await stores.crews.create(
                    department: input.department, name: input.name, depotName: input.depotName,
                    depot: Coordinate(latitude: parts[0], longitude: parts[1]), vehicle: input.vehicle, capacity: input.capacity,
                    skills: split(input.skills), services: input.services.map(split), shift: try Shift.parse(input.shift), members: members,
                    jurisdictionID: jurisdiction, actor: "cli")
                print(
                    "Crew \(crew.id) \(crew.name): \(crew.department), \(crew.shift.daysText) \(crew.shift.hours), \(crew.vehicle) carrying \(crew.capacity)"
                )
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List crews.")

        @Option(help: "Only this department's.")
        var department: String?

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let department = department
            try await withStores(options) { configuration, stores, _ in
                for crew in try await stores.crews.list(department: department, jurisdictionID: configuration.jurisdiction.id) {
                    let services = crew.services.map { $0.sorted().joined(separator: ",") } ?? "all services"
                    let skills = crew.skills.isEmpty ? "no special skills" : crew.skills.sorted().joined(separator: ",")
                    print(
                        "\(crew.id)\t\(crew.name)\t\(crew.department)\t\(crew.shift.daysText) \(crew.shift.hours)\t\(crew.vehicle) (\(crew.capacity))\t\(skills)\t\(services)\t\(crew.members.count) members"
                    )
                }
            }
        }
    }
}

struct Plan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plan a department's day: open requests onto the crews on shift, and print the itineraries.",
        discussion: "Every stop says why it went to its crew; what could not be planned says why. --save keeps it as the next version.")

    @Option(help: "The department.")
    var department: String

    @Option(help: "The day, YYYY-MM-DD.")
    var date: String

    @Option(help: "How long the solver searches, in seconds.")
    var seconds: Int = 3

    @Flag(help: "Save the plan as the next version for this department and day.")
    var save = false

    @OptionGroup var options: DatabaseOptions

    func run() async throws {
        let (department, date, seconds, save) = (department, date, seconds, save)
        try await withStores(options) { configuration, stores, _ in
            guard (1...120).contains(seconds) else { throw CivitasError.invalid("seconds_invalid", "--seconds must be from 1 to 120.") }
            let plan = try await Planning.plan(department: department, day: date, stores: stores, configuration: configuration, seconds: seconds)
            print(Planning.text(plan, department: department, zone: configuration.jurisdiction.timeZone))
            if save {
                let saved = try await Planning.save(
                    plan, department: department, stores: stores, jurisdictionID: configuration.jurisdiction.id, actor: "cli")
                print("\nSaved as version \(saved.version) of \(department)'s plan for \(date).")
            }
        }
    }
}

struct Routes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plan vehicle routes with capacities and time windows.", subcommands: [Solve.self])

    struct Solve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Solve a Solomon or VRPLIB file and print vehicles, distance and routes.")

        @Argument(help: "A Solomon VRPTW or VRPLIB/CVRPLIB file.")
        var file: String

        @Option(help: "Seconds to search.")
        var timeLimit: Double = 10

        @Option(help: "Random seed; the same seed and --iterations give the same routes.")
        var seed: UInt64 = 1

        @Option(help: "Stop after this many iterations per search instead of at the time limit.")
        var iterations: Int?

        @Option(help: "Independent searches to run in parallel (one per core helps).")
        var threads: Int = 1

        @Flag(help: "Print one JSON object: {\"vehicles\", \"distance\", \"routes\"} with the file's stop numbers.")
        var json = false

        func validate() throws {
            guard timeLimit > 0, timeLimit <= 86_400 else { throw ValidationError("--time-limit must be between 0 and 86400 seconds.") }
            guard threads >= 1, threads <= 64 else { throw ValidationError("--threads must be between 1 and 64.") }
            if let iterations, iterations < 1 { throw ValidationError("--iterations must be at least 1.") }
        }

        func run() async throws {
            let problem: RoutingProblem
            do {
                problem = try RoutingFileReader.read(path: file)
            } catch let error as RoutingFileError {
                FileHandle.standardError.write(Data("civitas: \(file): \(error)\n".utf8))
                throw ExitCode.failure
            }
            let options = SolverOptions(
                timeLimit: .milliseconds(Int64(timeLimit * 1000)), seed: seed, maxIterations: iterations, threads: threads)
            let solution = RoutingSolver.solve(problem, options: options)
            let violations = solution.violations
            guard violations.isEmpty else {
                FileHandle.standardError.write(
                    Data("civitas: the plan found is not feasible: \(violations.map(\.description).joined(separator: "; "))\n".utf8))
                throw ExitCode.failure
            }
            let routes = solution.routes.map { $0.map { problem.labels[$0] } }
            if json {
                let body = routes.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" }.joined(separator: ", ")
                print("{\"vehicles\": \(solution.vehicles), \"distance\": \(solution.distance), \"routes\": [\(body)]}")
            } else {
                print("\(problem.name): \(solution.vehicles) vehicles, distance \(String(format: "%.2f", solution.distance))")
                for (index, route) in routes.enumerated() {
                    print("Route \(index + 1): " + route.map(String.init).joined(separator: " "))
                }
            }
        }
    }
}
