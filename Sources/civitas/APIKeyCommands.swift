import ArgumentParser
import CivitasCore
import CivitasRouting
import CivitasServer
import CivitasStore
import Configuration
import Foundation
import Hummingbird
import Logging

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
