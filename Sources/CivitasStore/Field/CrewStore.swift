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
