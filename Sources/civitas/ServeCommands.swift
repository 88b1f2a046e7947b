import ArgumentParser
import CivitasCore
import CivitasRouting
import CivitasServer
import CivitasStore
import Configuration
import Foundation
import Hummingbird
import Logging

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
            configuration.jurisdiction =
                try await stores.jurisdictions.all()
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
