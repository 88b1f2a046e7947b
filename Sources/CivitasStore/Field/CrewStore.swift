import CivitasCore
import Foundation
import SQLKit

/// Field crews and the work each service takes.
public struct CrewStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// Adds a crew and its members (staff of the jurisdiction); audited.
    @discardableResult
    public func create(
        department: String, name: String, depotName: String, depot: Coordinate, vehicle: String, capacity: Double, skills: Set<String>,
        services: Set<String>?, shift: Shift, members: [Int64], jurisdictionID: String, actor: String, now: Date = Date()
    ) async throws -> Crew {
        let name = name.trimmingCharacters(in: .whitespaces)
        guard (1...100).contains(name.count) else {
            throw CivitasError.invalid("name_invalid", "Give the crew a name of 1 to 100 characters.", field: "name")
        }
        guard capacity > 0, capacity.isFinite else {
            throw CivitasError.invalid("capacity_invalid", "The vehicle's capacity must be a number above 0.", field: "capacity")
        }
        guard (-90...90).contains(depot.latitude), (-180...180).contains(depot.longitude) else {
            throw CivitasError.invalid("depot_invalid", "The depot must be a latitude and longitude, like 39.29,-76.61.", field: "depot")
        }
        guard !shift.days.isEmpty, shift.start < shift.end else {
            throw CivitasError.invalid("shift_invalid", "The shift needs at least one day and an end after its start.", field: "shift")
        }
        return try await database.transaction { sql in
            let row = try await sql.insert(into: "crews")
                .columns(
                    "jurisdiction_id", "department", "name", "depot_name", "depot_latitude", "depot_longitude", "vehicle", "capacity",
                    "skills", "services", "shift_days", "shift_start", "shift_end", "created_at"
                )
                .values(
                    SQLBind(jurisdictionID), SQLBind(department), SQLBind(name), SQLBind(depotName), SQLBind(depot.latitude),
                    SQLBind(depot.longitude), SQLBind(vehicle), SQLBind(capacity), SQLBind(skills.sorted().joined(separator: "\n")),
                    SQLBind(services.map { $0.sorted().joined(separator: "\n") } ?? "*"),
                    SQLBind(shift.days.sorted().map(String.init).joined(separator: ",")), SQLBind(shift.start), SQLBind(shift.end),
                    SQLBind(Clock.millis(now))
                ).returning("id").first()
            guard let id = try row?.decode(column: "id", as: Int64.self) else {
                throw CivitasError(.unavailable, code: "insert_failed", message: "The crew could not be stored.")
            }
            for member in Set(members) {
                guard
                    try await sql.select().column("id").from("users").where("id", .equal, member)
                        .where("jurisdiction_id", .equal, jurisdictionID).where("kind", .equal, "staff").first() != nil
                else { throw CivitasError.invalid("member_unknown", "There is no staff member \(member).", field: "member") }
                try await sql.insert(into: "crew_members").columns("crew_id", "user_id").values(SQLBind(id), SQLBind(member)).run()
            }
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "crew.create", subject: "crew:\(id)", fields: ["name", "members"]),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
            return Crew(
                id: id, department: department, name: name, depotName: depotName, depot: depot, vehicle: vehicle, capacity: capacity,
                skills: skills, services: services, shift: shift, members: members)
        }
    }

    /// The crews of a department (all departments when nil), by name.
    public func list(department: String?, jurisdictionID: String) async throws -> [Crew] {
        try await database.read { sql in
            let select = sql.select().column("*").from("crews").where("jurisdiction_id", .equal, jurisdictionID)
                .where("retired_at", .is, SQLLiteral.null)
            if let department { select.where("department", .equal, department) }
            let rows = try await select.orderBy("name").all()
            let members = try await sql.select().columns("crew_id", "user_id").from("crew_members").all()
                .reduce(into: [Int64: [Int64]]()) {
                    $0[try $1.decode(column: "crew_id", as: Int64.self), default: []].append(try $1.decode(column: "user_id", as: Int64.self))
                }
            return try rows.map { row in
                let id = try row.decode(column: "id", as: Int64.self)
                let services = try row.decode(column: "services", as: String.self)
                return Crew(
                    id: id, department: try row.decode(column: "department", as: String.self), name: try row.decode(column: "name", as: String.self),
                    depotName: try row.decode(column: "depot_name", as: String.self),
                    depot: Coordinate(
                        latitude: try row.decode(column: "depot_latitude", as: Double.self),
                        longitude: try row.decode(column: "depot_longitude", as: Double.self)),
                    vehicle: try row.decode(column: "vehicle", as: String.self), capacity: try row.decode(column: "capacity", as: Double.self),
                    skills: Set(try row.decode(column: "skills", as: String.self).split(separator: "\n").map(String.init)),
                    services: services == "*" ? nil : Set(services.split(separator: "\n").map(String.init)),
                    shift: Shift(
                        days: Set(try row.decode(column: "shift_days", as: String.self).split(separator: ",").compactMap { Int($0) }),
                        start: try row.decode(column: "shift_start", as: Int.self), end: try row.decode(column: "shift_end", as: Int.self)),
                    members: (members[id] ?? []).sorted())
            }
        }
    }

    /// What each service takes; services not set take `ServiceWork.standard`.
    public func work(jurisdictionID: String) async throws -> [String: ServiceWork] {
        try await database.read { sql in
            try await sql.select().columns("service_code", "minutes", "load", "skill").from("service_work")
                .where("jurisdiction_id", .equal, jurisdictionID).all()
                .reduce(into: [String: ServiceWork]()) { out, row in
                    out[try row.decode(column: "service_code", as: String.self)] = ServiceWork(
                        minutes: try row.decode(column: "minutes", as: Int.self), load: try row.decode(column: "load", as: Double.self),
                        skill: try row.decode(column: "skill", as: String?.self))
                }
        }
    }

    public func setWork(_ work: ServiceWork, for serviceCode: String, jurisdictionID: String, actor: String, now: Date = Date()) async throws {
        guard (1...24 * 60).contains(work.minutes), work.load >= 0, work.load.isFinite else {
            throw CivitasError.invalid("work_invalid", "Work takes 1 to 1440 minutes and a load of 0 or more.")
        }
        try await database.transaction { sql in
            try await sql.delete(from: "service_work").where("jurisdiction_id", .equal, jurisdictionID).where("service_code", .equal, serviceCode)
                .run()
            try await sql.insert(into: "service_work").columns("jurisdiction_id", "service_code", "minutes", "load", "skill")
                .values(SQLBind(jurisdictionID), SQLBind(serviceCode), SQLBind(work.minutes), SQLBind(work.load), SQLBind(work.skill)).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "service.work", subject: "service:\(serviceCode)", fields: ["minutes", "load", "skill"]),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }
}

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
