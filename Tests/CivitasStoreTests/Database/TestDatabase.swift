import CivitasCore
import Foundation
import Logging
import SQLKit
import Testing

@testable import CivitasStore

/// The two databases every storage test runs on.
enum Engine: String, CustomTestStringConvertible, CaseIterable, Sendable {
    case sqlite
    case postgres
    var testDescription: String { rawValue }
}

/// A fresh, migrated database for one test: a new SQLite file, or a new PostgreSQL database on the server
/// named by CIVITAS_TEST_POSTGRES_URL (scripts/test starts one). Missing PostgreSQL is a failure, not a skip.
struct TestDatabase {
    let database: Database
    let jurisdiction = "test.city"
    private let cleanup: @Sendable () async -> Void

    static func withFresh<R>(_ engine: Engine, _ body: (TestDatabase) async throws -> R) async throws -> R {
        let test = try await make(engine)
        do {
            let result = try await body(test)
            await test.cleanup()
            return result
        } catch {
            await test.cleanup()
            throw error
        }
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }

    private static func make(_ engine: Engine) async throws -> TestDatabase {
        switch engine {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("civitas-test-\(UUID().uuidString)")
            let database = try Database.open(.sqlite(path: folder.appendingPathComponent("test.sqlite").path), logger: logger)
            return try await prepared(database) {
                await database.shutdown()
                try? FileManager.default.removeItem(at: folder)
            }
        case .postgres:
            guard let admin = ProcessInfo.processInfo.environment["CIVITAS_TEST_POSTGRES_URL"] else {
                throw TestSetupError(
                    "CIVITAS_TEST_POSTGRES_URL is not set. Run scripts/test, which starts PostgreSQL for the storage suite.")
            }
            let name = "civitas_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased())"
            let adminDatabase = try Database.open(.postgres(url: admin), logger: logger)
            try await adminDatabase.read { sql in try await sql.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
            guard var components = URLComponents(string: admin) else { throw TestSetupError("bad URL") }
            components.path = "/" + name
            let database = try Database.open(.postgres(url: components.string!), logger: logger)
            return try await prepared(database) {
                await database.shutdown()
                try? await adminDatabase.read { sql in try await sql.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name)").run() }
                await adminDatabase.shutdown()
            }
        }
    }

    private static func prepared(_ database: Database, cleanup: @escaping @Sendable () async -> Void) async throws -> TestDatabase {
        try await Migrator(database: database).migrate()
        let test = TestDatabase(database: database, cleanup: cleanup)
        try await JurisdictionStore(database: database).ensure(Jurisdiction(id: test.jurisdiction, name: "Test City", timeZone: .gmt))
        return test
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
