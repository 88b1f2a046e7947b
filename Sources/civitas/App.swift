import ArgumentParser
import CivitasCore
import CivitasRouting
import CivitasServer
import CivitasStore
import Configuration
import Foundation
import Hummingbird
import Logging

@main
struct Civitas: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "civitas",
        abstract: "Civitas: citizen services for a city, county, state or agency.",
        subcommands: [
            Serve.self, Migrate.self, Services.self, Addresses.self, APIKeyCommand.self, Requests.self, Crews.self, Plan.self,
            Routes.self, Users.self, Clients.self, Tokens.self, Audit.self, CaseTypes.self, Cases.self,
        ]
    )
}

/// Options every verb that touches the database takes.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "sqlite:PATH or postgres://user:password@host:port/dbname (env DATABASE_URL).")
    var database: String?

    @Option(name: .customLong("jurisdiction-id"), help: "The jurisdiction to work in (env JURISDICTION_ID; default: city).")
    var jurisdictionID: String?

    /// CLI options first, then the environment, then `.env`, then defaults.
    func reader(extra: [AbsoluteConfigKey: ConfigValue] = [:]) async throws -> ConfigReader {
        var values = extra
        if let database { values["database.url"] = .init(.string(database), isSecret: true) }
        if let jurisdictionID { values["jurisdiction.id"] = .init(.string(jurisdictionID), isSecret: false) }
        return try await AppConfiguration.reader(values: values)
    }
}

/// Runs a verb against the database, turning errors a user can fix into a message and a non-zero exit.
func withStores<R>(
    _ options: DatabaseOptions, extra: [AbsoluteConfigKey: ConfigValue] = [:], logLevel: Logger.Level = .warning,
    _ body: (AppConfiguration, Stores, Logger) async throws -> R
) async throws -> R {
    do {
        let configuration = try AppConfiguration(reader: try await options.reader(extra: extra))
        var logger = Logger(label: "civitas")
        // LOG_LEVEL when it is set; otherwise the verb's own default (quiet for one-shot verbs).
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"] == nil
            ? logLevel : (Logger.Level(rawValue: configuration.logLevel) ?? logLevel)
        let stores = try await Stores.open(configuration, logger: logger)
        do {
            let result = try await body(configuration, stores, logger)
            await stores.database.shutdown()
            return result
        } catch {
            await stores.database.shutdown()
            throw error
        }
    } catch let error as CivitasError {
        FileHandle.standardError.write(Data("civitas: \(error.message)\n".utf8))
        throw ExitCode.failure
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("civitas: \(String(reflecting: error))\n".utf8))
        throw ExitCode.failure
    }
}

/// Writes a line to stdout at once (unbuffered), so a server's output shows up even when piped to a file.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start the web server (migrations run first).")

    @Option(name: .customLong("http-host"), help: "Address to listen on (env HTTP_HOST; default 127.0.0.1).")
    var host: String?

    @Option(name: .customLong("http-port"), help: "Port to listen on (env HTTP_PORT; default 8080).")
    var port: Int?

    @Flag(help: "Load a demo city (catalog and a few hundred requests) into an empty database.")
    var demo = false

    @OptionGroup var options: DatabaseOptions

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        var extra: [AbsoluteConfigKey: ConfigValue] = [:]
        if let host { extra["http.host"] = .init(.string(host), isSecret: false) }
        if let port { extra["http.port"] = .init(.int(port), isSecret: false) }
        let demo = demo
        try await withStores(options, extra: extra, logLevel: .info) { configuration, stores, logger in
            var configuration = configuration
            if demo {
                if let summary = try await DemoCity.load(into: stores, jurisdictionID: configuration.jurisdiction.id) {
                    if !configuration.jurisdictionConfigured {
                        try await stores.jurisdictions.ensure(try DemoCity.jurisdiction(id: configuration.jurisdiction.id))
                    }
                    say("\(summary)")
                } else {
                    say("The database already has services or requests; the demo city was not loaded.")
                }
            }
            configuration.jurisdiction = try await stores.jurisdictions.all()
                .first { $0.id == configuration.jurisdiction.id } ?? configuration.jurisdiction
            let app = try await buildApplication(configuration: configuration, stores: stores, logger: logger)
            say("Civitas is serving \(configuration.jurisdiction.name) on \(configuration.database).")
            say("Open311: \(configuration.publicURL)/open311/v2/services.xml")
            try await app.runService()
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations that have not run yet.")

    @OptionGroup var options: DatabaseOptions

    func run() async throws {
        try await withStores(options) { configuration, stores, _ in
            let versions = try await Migrator(database: stores.database).appliedVersions()
            print("Database \(configuration.database) is at migration \(versions.last ?? 0).")
        }
    }
}

struct Services: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the service catalog.", subcommands: [Import.self, Settings.self, Work.self])

    struct Work: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set what one request of a service takes from a crew: minutes on site, load, a skill.")

        @Argument(help: "The service code.")
        var code: String

        @Option(help: "Minutes on site (1 to 1440; default 15).")
        var minutes: Int?

        @Option(help: "Room it takes in the vehicle (default 1).")
        var load: Double?

        @Option(help: "A skill the crew needs, e.g. lift; \"none\" for none.")
        var skill: String?

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (code, minutes, load, skill) = (code, minutes, load, skill)
            try await withStores(options) { configuration, stores, _ in
                let jurisdiction = configuration.jurisdiction.id
                guard try await stores.services.find(code: code, jurisdictionID: jurisdiction) != nil else {
                    throw CivitasError.notFound("service_unknown", "There is no service with code \(code).")
                }
                var work = try await stores.crews.work(jurisdictionID: jurisdiction)[code] ?? .standard
                if let minutes { work.minutes = minutes }
                if let load { work.load = load }
                if let skill { work.skill = skill == "none" || skill.isEmpty ? nil : skill }
                if minutes != nil || load != nil || skill != nil {
                    try await stores.crews.setWork(work, for: code, jurisdictionID: jurisdiction, actor: "cli")
                }
                print("\(code): \(work.minutes) min on site, load \(work.load)\(work.skill.map { ", needs \($0)" } ?? "")")
            }
        }
    }

    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or change how a service finds duplicates and shows to the public.",
            discussion: """
                Duplicates: open requests of the same service within the radius, opened within the window, are offered \
                to residents before they submit and to staff afterwards (defaults: 50 m, 14 days). Visibility: public, \
                blurred (no address, and the map shows a 200 m cell instead of the spot) or hidden (not on the public \
                map or list).
                """)

        @Argument(help: "The service code.")
        var code: String

        @Option(help: "Duplicate radius in metres (1 to 5000).")
        var duplicateRadius: Double?

        @Option(help: "Duplicate window in hours (1 to 8760).")
        var duplicateWindowHours: Int?

        @Option(help: "public, blurred or hidden.")
        var visibility: String?

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (code, radius, window, visibility) = (code, duplicateRadius, duplicateWindowHours, visibility)
            try await withStores(options) { configuration, stores, _ in
                let jurisdiction = configuration.jurisdiction.id
                guard try await stores.services.find(code: code, jurisdictionID: jurisdiction) != nil else {
                    throw CivitasError.notFound("service_unknown", "There is no service with code \(code).")
                }
                var settings = try await stores.serviceSettings.settings(for: code, jurisdictionID: jurisdiction)
                if let radius { settings.duplicates.radiusMetres = radius }
                if let window { settings.duplicates.window = TimeInterval(window) * 3600 }
                if let visibility {
                    guard let chosen = ServiceVisibility(rawValue: visibility) else {
                        throw CivitasError.invalid("visibility_invalid", "--visibility must be public, blurred or hidden, not \"\(visibility)\".")
                    }
                    settings.visibility = chosen
                }
                if radius != nil || window != nil || visibility != nil {
                    try await stores.serviceSettings.set(settings, for: code, jurisdictionID: jurisdiction, actor: "cli")
                }
                print("\(code): duplicates within \(Int(settings.duplicates.radiusMetres)) m and \(Int(settings.duplicates.window / 3600)) h; \(settings.visibility.rawValue) on the public map and list")
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update services from a JSON catalog (an array of Open311 service objects).")

        @Argument(help: "The catalog file.")
        var file: String

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let file = file
            try await withStores(options) { configuration, stores, _ in
                let result = try await Commands.importServices(
                    file: file, stores: stores, jurisdictionID: configuration.jurisdiction.id)
                print("Imported \(result.created.count + result.updated.count) services: \(result.created.count) new, \(result.updated.count) updated.")
            }
        }
    }
}

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
                let split: (String) -> Set<String> = { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }) }
                let crew = try await stores.crews.create(
                    department: input.department, name: input.name, depotName: input.depotName,
                    depot: Coordinate(latitude: parts[0], longitude: parts[1]), vehicle: input.vehicle, capacity: input.capacity,
                    skills: split(input.skills), services: input.services.map(split), shift: try Shift.parse(input.shift), members: members,
                    jurisdictionID: jurisdiction, actor: "cli")
                print("Crew \(crew.id) \(crew.name): \(crew.department), \(crew.shift.daysText) \(crew.shift.hours), \(crew.vehicle) carrying \(crew.capacity)")
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
                    print("\(crew.id)\t\(crew.name)\t\(crew.department)\t\(crew.shift.daysText) \(crew.shift.hours)\t\(crew.vehicle) (\(crew.capacity))\t\(skills)\t\(services)\t\(crew.members.count) members")
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
                let saved = try await Planning.save(plan, department: department, stores: stores, jurisdictionID: configuration.jurisdiction.id, actor: "cli")
                print("\nSaved as version \(saved.version) of \(department)'s plan for \(date).")
            }
        }
    }
}

struct Addresses: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the address points residents' typing is matched against.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the address points with those in a CSV file.",
            discussion: """
                The file needs a header row with an address column (address) and latitude and longitude columns (lat or \
                latitude; long, lon, lng or longitude); a zip code column is used when present. A city's 311 export or \
                address-point file usually works as it is. Rows without coordinates, with placeholder coordinates or \
                repeating an address are left out and counted.
                """)

        @Argument(help: "The CSV file.")
        var file: String

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let file = file
            try await withStores(options) { configuration, stores, _ in
                let result = try AddressImport.read(URL(fileURLWithPath: file))
                guard !result.points.isEmpty else {
                    throw CivitasError.invalid("no_addresses", "\(file) has no usable address points; nothing was changed.")
                }
                let stored = try await stores.addresses.replaceAll(result.points, jurisdictionID: configuration.jurisdiction.id)
                print("Imported \(stored) address points.")
                for (reason, count) in result.skipped.sorted(by: { $0.key < $1.key }) {
                    print("  left out \(count): \(reason)")
                }
            }
        }
    }
}

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey", abstract: "Manage API keys for Open311 clients.", subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key and print it (it is shown only once).")

        @Option(help: "Who or what the key is for, e.g. \"FixMyStreet\".")
        var name: String

        @Option(help: "Who answers for the key: a person or organisation to contact, e.g. an email address.")
        var owner: String?

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (name, owner) = (name, owner)
            try await withStores(options) { configuration, stores, _ in
                let (_, key) = try await stores.apiKeys.create(name: name, owner: owner, jurisdictionID: configuration.jurisdiction.id)
                print(key)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys (never the keys themselves).")
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            try await withStores(options) { configuration, stores, _ in
                print("id\tname\towner\tcreated\tstate")
                for key in try await stores.apiKeys.list(jurisdictionID: configuration.jurisdiction.id) {
                    print("\(key.id)\t\(key.name)\t\(key.owner ?? "-")\t\(rfc3339(key.createdAt))\t\(key.revoked ? "revoked" : "active")")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: it stops working at once.")
        @Argument(help: "The key's id, from `civitas apikey list`.") var id: Int64
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let id = id
            try await withStores(options) { configuration, stores, _ in
                try await stores.apiKeys.revoke(id: id, jurisdictionID: configuration.jurisdiction.id, actor: "cli")
                print("Revoked API key \(id).")
            }
        }
    }
}

struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with service requests.", subcommands: [Update.self])

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a request's status, priority or assignee, with a public or internal note.",
            discussion: "The same change, checks and audit entry as PATCH /api/v1/service-requests/{id}.")

        @Argument(help: "The service request id.")
        var id: String

        @Option(help: "open or closed.")
        var status: String?

        @Option(help: "low, normal, high or urgent.")
        var priority: String?

        @Option(help: "A staff id of the request's department (see `civitas users list`), or none to unassign.")
        var assignee: String?

        @Option(help: "A note; public (shown to the resident as status_notes) unless --internal.")
        var note: String?

        @Flag(help: "Keep the note to staff.")
        var `internal` = false

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (id, status, priority, assignee, note, isInternal) = (id, status, priority, assignee, note, `internal`)
            try await withStores(options) { configuration, stores, _ in
                let request = try await Commands.updateRequest(
                    id: id, status: status, priority: priority, assignee: assignee, note: note, internalNote: isInternal,
                    stores: stores, jurisdictionID: configuration.jurisdiction.id, actor: "cli")
                let assigned = request.assigneeID.map { "assigned to staff \($0)" } ?? "unassigned"
                print("Request \(request.id) is now \(request.status.rawValue), \(request.priority.rawValue) priority, \(assigned).")
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
                FileHandle.standardError.write(Data("civitas: the plan found is not feasible: \(violations.map(\.description).joined(separator: "; "))\n".utf8))
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
