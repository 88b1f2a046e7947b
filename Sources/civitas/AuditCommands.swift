import ArgumentParser
import CivitasCore
import CivitasServer
import CivitasStore
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check and read the tamper-evident audit chain.", subcommands: [Verify.self, Export.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the chain; name the first entry that was edited, deleted or reordered (exit 1 if any).")
        @Flag(help: "Check every jurisdiction's chain, not only the configured one.") var all = false
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let all = all
            let ok = try await withStores(options) { configuration, stores, _ in
                let (ok, report) = try await Commands.verifyAudit(
                    stores: stores, jurisdictionID: all ? nil : configuration.jurisdiction.id)
                for line in report { print(line) }
                return ok
            }
            if !ok { throw ExitCode.failure }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every access to one person's data, one JSON object per line, oldest first.")
        @Option(help: "The person: a user id, user:ID, an email address, or email:ADDRESS.") var person: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let person = person
            try await withStores(options) { configuration, stores, _ in
                for line in try await Commands.exportAudit(person: person, stores: stores, jurisdictionID: configuration.jurisdiction.id) {
                    print(line)
                }
            }
        }
    }
}
