import ArgumentParser
import CivitasCore
import CivitasServer
import CivitasStore
import Foundation

struct CaseTypes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "casetypes", abstract: "Manage the kinds of cases (defined in YAML or JSON files).", subcommands: [Import.self, List.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a case type file as the next version of its type; every mistake is listed with its line and field.")
        @Argument(help: "The definition file (YAML or JSON).") var file: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let file = file
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                FileHandle.standardError.write(Data("civitas: cannot read \(file)\n".utf8))
                throw ExitCode.failure
            }
            try await withStores(options) { configuration, stores, _ in
                let type = try await stores.cases.importType(text, createdBy: "cli", jurisdictionID: configuration.jurisdiction.id)
                say(
                    "Imported \(type.key) version \(type.version): \(type.name) (\(type.department)), \(type.fields.count) questions, "
                        + "\(type.states.count) states, \(type.transitions.count) steps, \(type.rules.count) rules, \(type.automations.count) automations."
                )
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List case types (latest versions).")
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            try await withStores(options) { configuration, stores, _ in
                for type in try await stores.cases.types(jurisdictionID: configuration.jurisdiction.id) {
                    say("\(type.key)\tv\(type.version)\t\(type.department)\t\(type.name)")
                }
            }
        }
    }
}

struct Cases: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Work with cases.", subcommands: [Sweep.self, Skills.self])

    struct Sweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the timer automations that are due now (the server does this every CASES_SWEEP_SECONDS).")
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            try await withStores(options) { configuration, stores, _ in
                let fired = try await stores.cases.sweep(jurisdictionID: configuration.jurisdiction.id)
                say("\(fired) timer automation\(fired == 1 ? "" : "s") fired.")
            }
        }
    }

    struct Skills: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a staff member's skills: they pull only from queues whose skills they all have.")
        @Argument(help: "The staff member's id or email.") var user: String
        @Option(help: "Comma-separated skills, e.g. ui,adjudication (empty to clear).") var skills: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (text, list) = (user, Set(skills.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }))
            try await withStores(options) { configuration, stores, _ in
                let user = try await Commands.findUser(text, stores: stores, jurisdictionID: configuration.jurisdiction.id)
                guard user.kind == .staff else { throw CivitasError.invalid("not_staff", "\(user.email) is not a staff member.") }
                try await stores.cases.setSkills(userID: user.id, skills: list)
                say("\(user.email) now has the skills: \(list.isEmpty ? "none" : list.sorted().joined(separator: ", ")).")
            }
        }
    }
}
