import ArgumentParser
import CivitasCore
import CivitasRouting
import CivitasServer
import CivitasStore
import Configuration
import Foundation
import Hummingbird
import Logging

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
                try await Commands.requireService(code, stores: stores, jurisdictionID: jurisdiction)
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

        @Option(help: "Words residents use for this service that its name and keywords lack, comma-separated (\"sofa, couch\"); \"\" clears them.")
        var searchWords: String?

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (code, radius, window, visibility, words) = (code, duplicateRadius, duplicateWindowHours, visibility, searchWords)
            try await withStores(options) { configuration, stores, _ in
                let jurisdiction = configuration.jurisdiction.id
                try await Commands.requireService(code, stores: stores, jurisdictionID: jurisdiction)
                var settings = try await stores.serviceSettings.settings(for: code, jurisdictionID: jurisdiction)
                if let radius { settings.duplicates.radiusMetres = radius }
                if let window { settings.duplicates.window = TimeInterval(window) * 3600 }
                if let visibility {
                    guard let chosen = ServiceVisibility(rawValue: visibility) else {
                        throw CivitasError.invalid("visibility_invalid", "--visibility must be public, blurred or hidden, not \"\(visibility)\".")
                    }
                    settings.visibility = chosen
                }
                if let words { settings.searchWords = ServiceSettings.searchWords(words) }
                if radius != nil || window != nil || visibility != nil || words != nil {
                    try await stores.serviceSettings.set(settings, for: code, jurisdictionID: jurisdiction, actor: "cli")
                }
                print(
                    "\(code): duplicates within \(Int(settings.duplicates.radiusMetres)) m and \(Int(settings.duplicates.window / 3600)) h; \(settings.visibility.rawValue) on the public map and list"
                )
                print("\(code): search words: \(settings.searchWords.isEmpty ? "none" : settings.searchWords.joined(separator: ", "))")
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
                print(
                    "Imported \(result.created.count + result.updated.count) services: \(result.created.count) new, \(result.updated.count) updated.")
            }
        }
    }
}
