import CivitasCore
import Foundation
import SQLKit

/// A saved day plan: each crew's stops in order with times and the reason for each, and what could not be planned.
public struct SavedPlan: Sendable, Equatable {
    public struct Stop: Sendable, Equatable {
        public var crewID: Int64
        public var requestID: Int64
        public var arrives: Date
        public var starts: Date
        public var ends: Date
        public var locked: Bool
        public var reason: String

        public init(crewID: Int64, requestID: Int64, arrives: Date, starts: Date, ends: Date, locked: Bool, reason: String) {
            self.crewID = crewID
            self.requestID = requestID
            self.arrives = arrives
            self.starts = starts
            self.ends = ends
            self.locked = locked
            self.reason = reason
        }
    }

    public var id: Int64
    public var department: String
    public var day: String
    public var version: Int
    public var createdBy: String
    public var distance: Double
    public var stops: [Stop]
    public var unplanned: [(requestID: Int64, reason: String)]

    public static func == (lhs: SavedPlan, rhs: SavedPlan) -> Bool {
        lhs.id == rhs.id && lhs.version == rhs.version && lhs.stops == rhs.stops
            && lhs.unplanned.map(\.requestID) == rhs.unplanned.map(\.requestID)
    }
}

public struct PlanStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// Keeps a request with a crew for a day's plans (locks it there, or moves it); `crewID` nil lets it go again.
    public func pin(
        requestID: Int64, to crewID: Int64?, department: String, day: String, jurisdictionID: String, actor: String, now: Date = Date()
    ) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "plan_pins").where("jurisdiction_id", .equal, jurisdictionID).where("department", .equal, department)
                .where("day", .equal, day).where("service_request_id", .equal, requestID).run()
            if let crewID {
                guard
                    try await sql.select().column("id").from("crews").where("jurisdiction_id", .equal, jurisdictionID)
                        .where("department", .equal, department).where("id", .equal, crewID).first() != nil
                else { throw CivitasError.invalid("crew_unknown", "There is no crew \(crewID) in \(department).", field: "crew") }
                try await sql.insert(into: "plan_pins")
                    .columns("jurisdiction_id", "department", "day", "service_request_id", "crew_id", "pinned_by", "created_at")
                    .values(
                        SQLBind(jurisdictionID), SQLBind(department), SQLBind(day), SQLBind(requestID), SQLBind(crewID), SQLBind(actor),
                        SQLBind(Clock.millis(now))
                    ).run()
            }
            try await AuditStore.append(
                AuditEvent(
                    actor: actor, action: crewID == nil ? "plan.unpin" : "plan.pin", subject: "service_request:\(requestID)", fields: ["crew"],
                    purpose: "\(department) \(day)"),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }

    /// The requests kept with a crew for a day: request id → crew id.
    public func pins(department: String, day: String, jurisdictionID: String) async throws -> [Int64: Int64] {
        try await database.read { sql in
            try await sql.select().columns("service_request_id", "crew_id").from("plan_pins").where("jurisdiction_id", .equal, jurisdictionID)
                .where("department", .equal, department).where("day", .equal, day).all()
                .reduce(into: [Int64: Int64]()) {
                    $0[try $1.decode(column: "service_request_id", as: Int64.self)] = try $1.decode(column: "crew_id", as: Int64.self)
                }
        }
    }

    /// Saves a plan as the next version for its department and day, in one transaction; returns it with its id.
    public func save(
        department: String, day: String, stops: [SavedPlan.Stop], unplanned: [(requestID: Int64, reason: String)], distance: Double,
        createdBy: String, jurisdictionID: String, now: Date = Date()
    ) async throws -> SavedPlan {
        try await database.transaction { sql in
            let last =
                try await sql.select().column(SQLFunction("MAX", args: SQLColumn("version")), as: "v").from("plans")
                .where("jurisdiction_id", .equal, jurisdictionID).where("department", .equal, department).where("day", .equal, day)
                .first()?.decode(column: "v", as: Int?.self) ?? 0
            let version = last + 1
            let row = try await sql.insert(into: "plans")
                .columns("jurisdiction_id", "department", "day", "version", "created_by", "created_at", "distance_m")
                .values(
                    SQLBind(jurisdictionID), SQLBind(department), SQLBind(day), SQLBind(version), SQLBind(createdBy), SQLBind(Clock.millis(now)),
                    SQLBind(distance)
                ).returning("id").first()
            guard let id = try row?.decode(column: "id", as: Int64.self) else {
                throw CivitasError(.unavailable, code: "insert_failed", message: "The plan could not be stored.")
            }
            var positions: [Int64: Int] = [:]
            for stop in stops {
                let position = positions[stop.crewID, default: 0]
                positions[stop.crewID] = position + 1
                try await sql.insert(into: "plan_stops")
                    .columns("plan_id", "crew_id", "position", "service_request_id", "arrives_at", "starts_at", "ends_at", "locked", "reason")
                    .values(
                        SQLBind(id), SQLBind(stop.crewID), SQLBind(position), SQLBind(stop.requestID), SQLBind(Clock.millis(stop.arrives)),
                        SQLBind(Clock.millis(stop.starts)), SQLBind(Clock.millis(stop.ends)), SQLBind(stop.locked ? 1 : 0), SQLBind(stop.reason)
                    ).run()
            }
            for item in unplanned {
                try await sql.insert(into: "plan_unplanned").columns("plan_id", "service_request_id", "reason")
                    .values(SQLBind(id), SQLBind(item.requestID), SQLBind(item.reason)).run()
            }
            try await AuditStore.append(
                AuditEvent(
                    actor: createdBy, action: "plan.save", subject: "plan:\(id)", fields: ["stops"], purpose: "\(department) \(day) v\(version)"),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
            return SavedPlan(
                id: id, department: department, day: day, version: version, createdBy: createdBy, distance: distance, stops: stops,
                unplanned: unplanned)
        }
    }

    /// The latest version of a department's plan for a day.
    public func latest(department: String, day: String, jurisdictionID: String) async throws -> SavedPlan? {
        try await database.read { sql in
            guard
                let row = try await sql.select().columns("id", "version", "created_by", "distance_m").from("plans")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("department", .equal, department).where("day", .equal, day)
                    .orderBy(SQLOrderBy(expression: SQLColumn("version"), direction: SQLDirection.descending)).first()
            else { return nil }
            let id = try row.decode(column: "id", as: Int64.self)
            let stops = try await sql.select().column("*").from("plan_stops").where("plan_id", .equal, id)
                .orderBy("crew_id").orderBy("position").all().map { stop in
                    SavedPlan.Stop(
                        crewID: try stop.decode(column: "crew_id", as: Int64.self),
                        requestID: try stop.decode(column: "service_request_id", as: Int64.self),
                        arrives: Clock.date(try stop.decode(column: "arrives_at", as: Int64.self)),
                        starts: Clock.date(try stop.decode(column: "starts_at", as: Int64.self)),
                        ends: Clock.date(try stop.decode(column: "ends_at", as: Int64.self)),
                        locked: try stop.decode(column: "locked", as: Int.self) == 1,
                        reason: try stop.decode(column: "reason", as: String.self))
                }
            let unplanned = try await sql.select().columns("service_request_id", "reason").from("plan_unplanned").where("plan_id", .equal, id)
                .orderBy("service_request_id").all().map {
                    (requestID: try $0.decode(column: "service_request_id", as: Int64.self), reason: try $0.decode(column: "reason", as: String.self))
                }
            return SavedPlan(
                id: id, department: department, day: day, version: try row.decode(column: "version", as: Int.self),
                createdBy: try row.decode(column: "created_by", as: String.self), distance: try row.decode(column: "distance_m", as: Double.self),
                stops: stops, unplanned: unplanned)
        }
    }
}
