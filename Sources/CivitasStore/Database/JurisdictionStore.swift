import CivitasCore
import Foundation
import SQLKit

/// A government that runs Civitas; every row of data belongs to exactly one.
public struct Jurisdiction: Sendable, Equatable {
    public var id: String
    public var name: String
    public var timeZone: TimeZone

    public init(id: String, name: String, timeZone: TimeZone) {
        self.id = id
        self.name = name
        self.timeZone = timeZone
    }
}

/// Reads and records jurisdictions.
public struct JurisdictionStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// Creates the jurisdiction if it is new, otherwise updates its name and time zone.
    public func ensure(_ jurisdiction: Jurisdiction, now: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.insert(into: "jurisdictions").columns("id", "name", "time_zone", "created_at")
                .values(
                    SQLBind(jurisdiction.id), SQLBind(jurisdiction.name), SQLBind(jurisdiction.timeZone.identifier),
                    SQLBind(Clock.millis(now))
                )
                .onConflict(with: ["id"]) { $0.set(excludedValueOf: "name").set(excludedValueOf: "time_zone") }
                .run()
        }
    }

    public func all() async throws -> [Jurisdiction] {
        try await database.read { sql in
            try await sql.select().columns("id", "name", "time_zone").from("jurisdictions").orderBy("id").all()
                .map { row in
                    Jurisdiction(
                        id: try row.decode(column: "id", as: String.self), name: try row.decode(column: "name", as: String.self),
                        timeZone: TimeZone(identifier: try row.decode(column: "time_zone", as: String.self)) ?? .gmt)
                }
        }
    }
}
