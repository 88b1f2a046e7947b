import ArgumentParser
import CivitasCore
import CivitasRouting
import CivitasServer
import CivitasStore
import Configuration
import Foundation
import Hummingbird
import Logging

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
