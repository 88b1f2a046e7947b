import CivitasCore
import Foundation
import Logging
import SQLKit

/// One numbered, forward-only change to the schema, written once for both databases.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    let apply: @Sendable (any SQLDatabase, Database.Engine) async throws -> Void
}

/// Applies the migrations a database has not seen yet, each in its own transaction, and records them.
public struct Migrator: Sendable {
    public static let all: [Migration] = [
        Migration0001Foundation.migration,
        Migration0002RequestIndexes.migration,
        Migration0003Identity.migration,
        Migration0004Reporting.migration,
        Migration0005Crews.migration,
        Migration0006CrewActions.migration,
        Migration0007PlanPins.migration,
        Migration0008Appointments.migration,
        Migration0009Cases.migration,
        Migration0010CaseLanguage.migration,
        Migration0011ServiceSearchWords.migration,
        Migration0012ServiceTranslations.migration,
        Migration0013SitePages.migration,
        Migration0014MergeRecords.migration,
        Migration0015ResponseTranslations.migration,
    ]

    let database: Database
    let migrations: [Migration]

    public init(database: Database, migrations: [Migration] = Migrator.all) {
        self.database = database
        self.migrations = migrations
    }

    /// Applies what is missing and returns the versions applied now (empty when the schema was current).
    @discardableResult
    public func migrate() async throws -> [Migration] {
        let engine = database.engine
        try await database.transaction { sql in
            if engine == .postgres { try await sql.raw("SELECT pg_advisory_xact_lock(731101)").run() }
            try await sql.create(table: "civitas_migrations").ifNotExists()
                .column("version", type: .bigint, .primaryKey(autoIncrement: false))
                .column("name", type: .text, .notNull)
                .column("applied_at", type: .bigint, .notNull)
                .run()
        }
        var applied: [Migration] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            let didApply = try await database.transaction { sql in
                if database.engine == .postgres {
                    // Several processes may start at once against one PostgreSQL: one applies, the others wait.
                    try await sql.raw("SELECT pg_advisory_xact_lock(731101)").run()
                }
                let done = try await sql.select().column("version").from("civitas_migrations")
                    .where("version", .equal, migration.version).first()
                guard done == nil else { return false }
                try await migration.apply(sql, database.engine)
                try await sql.insert(into: "civitas_migrations").columns("version", "name", "applied_at")
                    .values(SQLBind(migration.version), SQLBind(migration.name), SQLBind(Clock.millis(Date())))
                    .run()
                return true
            }
            if didApply {
                database.logger.info(
                    "migration applied", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                applied.append(migration)
            }
        }
        return applied
    }

    /// Versions recorded as applied, in order.
    public func appliedVersions() async throws -> [Int] {
        try await database.read { sql in
            try await sql.select().column("version").from("civitas_migrations").orderBy("version").all()
                .map { try $0.decode(column: "version", as: Int.self) }
        }
    }
}

/// Times are stored as milliseconds since 1970 (UTC) in BIGINT columns: the same on both databases,
/// ordered and compared as integers, with all date arithmetic done in Swift.
enum Clock {
    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: TimeInterval(millis) / 1000) }
}
