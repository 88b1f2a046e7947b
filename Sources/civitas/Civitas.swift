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
        logger.logLevel =
            ProcessInfo.processInfo.environment["LOG_LEVEL"] == nil
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
