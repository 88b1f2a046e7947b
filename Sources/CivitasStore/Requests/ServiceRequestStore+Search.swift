import CivitasCore
import Foundation
import SQLKit

/// Reading requests: searching with filters and a cursor, and a request's history.
extension ServiceRequestStore {
    /// Requests matching `query`, newest first.
    public func search(_ query: ServiceRequestQuery) async throws -> [ServiceRequest] {
        try await database.read { sql in
            let columns = (query.includePrivate ? Self.columns + Self.privateColumns : Self.columns) + Self.staffColumns
            let select = sql.select().columns(columns.map { SQLColumn($0, table: "r") })
                .column(SQLColumn("service_name", table: "s"))
                .from(SQLAlias(SQLIdentifier("service_requests"), as: SQLIdentifier("r")))
                .join(
                    SQLAlias(SQLIdentifier("services"), as: SQLIdentifier("s")), method: SQLJoinMethod.inner,
                    on: SQLBinaryExpression(
                        SQLBinaryExpression(
                            SQLColumn("jurisdiction_id", table: "s"), .equal, SQLColumn("jurisdiction_id", table: "r")),
                        .and,
                        SQLBinaryExpression(
                            SQLColumn("service_code", table: "s"), .equal, SQLColumn("service_code", table: "r")))
                )
                .where(SQLColumn("jurisdiction_id", table: "r"), .equal, SQLBind(query.jurisdictionID))
            if let ids = query.ids {
                guard !ids.isEmpty else { return [] }
                select.where(SQLColumn("id", table: "r"), .in, SQLBind.group(ids))
            } else {
                if !query.serviceCodes.isEmpty {
                    select.where(SQLColumn("service_code", table: "r"), .in, SQLBind.group(query.serviceCodes))
                }
                if !query.statuses.isEmpty {
                    select.where(SQLColumn("status", table: "r"), .in, SQLBind.group(query.statuses.map(\.rawValue)))
                }
                if let from = query.requestedFrom {
                    select.where(SQLColumn("requested_at", table: "r"), .greaterThanOrEqual, SQLBind(Clock.millis(from)))
                }
                if let to = query.requestedTo {
                    select.where(SQLColumn("requested_at", table: "r"), .lessThanOrEqual, SQLBind(Clock.millis(to)))
                }
                if let department = query.department {
                    select.where(SQLColumn("agency_responsible", table: "r"), .equal, SQLBind(department))
                }
                if let assignee = query.assigneeID {
                    if let assignee {
                        select.where(SQLColumn("assignee_id", table: "r"), .equal, SQLBind(assignee))
                    } else {
                        select.where(SQLColumn("assignee_id", table: "r"), .is, SQLLiteral.null)
                    }
                }
                if let area = query.area {
                    select.where(SQLColumn("longitude", table: "r"), .greaterThanOrEqual, SQLBind(area.minLongitude))
                        .where(SQLColumn("longitude", table: "r"), .lessThanOrEqual, SQLBind(area.maxLongitude))
                        .where(SQLColumn("latitude", table: "r"), .greaterThanOrEqual, SQLBind(area.minLatitude))
                        .where(SQLColumn("latitude", table: "r"), .lessThanOrEqual, SQLBind(area.maxLatitude))
                }
                if let text = query.text?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                    for word in text.lowercased().split(separator: " ").prefix(8) {
                        let escaped = word.replacingOccurrences(of: "\\", with: "\\\\")
                            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
                        select.where(
                            SQLBinaryExpression(
                                SQLFunction("LOWER", args: SQLColumn("description", table: "r")), .like,
                                SQLList([SQLBind("%" + escaped + "%"), SQLRaw("ESCAPE '\\'")], separator: SQLRaw(" "))))
                    }
                }
                if let after = query.after {
                    select.where { group in
                        group.where(SQLColumn("requested_at", table: "r"), .lessThan, SQLBind(after.requestedAtMillis))
                            .orWhere { inner in
                                inner.where(SQLColumn("requested_at", table: "r"), .equal, SQLBind(after.requestedAtMillis))
                                    .where(SQLColumn("id", table: "r"), .lessThan, SQLBind(after.id))
                            }
                    }
                }
            }
            if let resident = query.residentID {
                select.where(SQLColumn("resident_id", table: "r"), .equal, SQLBind(resident))
            }
            if let since = query.changedSince {
                select.where(SQLColumn("updated_at", table: "r"), .greaterThanOrEqual, SQLBind(Clock.millis(since)))
                    .orderBy(SQLOrderBy(expression: SQLColumn("updated_at", table: "r"), direction: SQLDirection.ascending))
            }
            if case .only(let names) = query.departments {
                guard !names.isEmpty else { return [] }
                select.where(SQLColumn("agency_responsible", table: "r"), .in, SQLBind.group(names.sorted()))
            }
            select.orderBy(SQLOrderBy(expression: SQLColumn("requested_at", table: "r"), direction: SQLDirection.descending))
                .orderBy(SQLOrderBy(expression: SQLColumn("id", table: "r"), direction: SQLDirection.descending))
            if let ids = query.ids {
                select.limit(ids.count)
            } else {
                select.limit(max(0, query.limit)).offset(max(0, query.offset))
            }
            let includePrivate = query.includePrivate
            return try await select.all().map { try Self.decode($0, includePrivate: includePrivate) }
        }
    }

    /// The history of a request, oldest first: its opening, then every change.
    public func updates(id: Int64, jurisdictionID: String) async throws -> [RequestUpdate] {
        try await database.read { sql in
            guard
                let opened = try await sql.select().columns("requested_at", "source").from("service_requests")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, id).first()
            else { return [] }
            let changes = try await sql.select().columns("status", "note", "actor", "created_at").from("request_updates")
                .where("jurisdiction_id", .equal, jurisdictionID).where("service_request_id", .equal, id)
                .orderBy("created_at").orderBy("id").all()
                .map { row in
                    RequestUpdate(
                        status: RequestStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
                        note: try row.decode(column: "note", as: String?.self),
                        actor: try row.decode(column: "actor", as: String.self),
                        createdAt: Clock.date(try row.decode(column: "created_at", as: Int64.self)))
                }
            let first = RequestUpdate(
                status: .open, note: nil, actor: try opened.decode(column: "source", as: String.self),
                createdAt: Clock.date(try opened.decode(column: "requested_at", as: Int64.self)))
            return [first] + changes
        }
    }

    static let columns = [
        "id", "jurisdiction_id", "service_code", "status", "status_notes", "description", "agency_responsible",
        "service_notice", "requested_at", "updated_at", "expected_at", "address", "address_id", "zipcode", "latitude",
        "longitude", "media_url",
    ]
    static let privateColumns = ["attributes", "email", "device_id", "account_id", "first_name", "last_name", "phone"]
    static let staffColumns = ["priority", "assignee_id", "resident_id"]
}
