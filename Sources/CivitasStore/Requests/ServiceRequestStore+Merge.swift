import CivitasCore
import Foundation
import SQLKit

extension ServiceRequestStore {
    /// Joins duplicates into `parentID`, all in one transaction: each child is closed as a duplicate with a public note
    /// naming the parent, remembers its parent, and its reporter and followers now follow the parent (and are told
    /// so); the parent's history says what was joined into it. Every child must be of the same jurisdiction, not the
    /// parent, not already merged, and (when `departments` is limited) in the caller's departments.
    @discardableResult
    public func merge(
        _ childIDs: [Int64], into parentID: Int64, jurisdictionID: String, departments: DepartmentScope = .all, by origin: ChangeOrigin,
        now: Date = Date()
    ) async throws -> ServiceRequest {
        let children = Array(Set(childIDs)).sorted()
        guard !children.isEmpty else {
            throw CivitasError.invalid("merge_empty", "Choose at least one duplicate to merge.", field: "duplicates")
        }
        guard !children.contains(parentID) else {
            throw CivitasError(.conflict, code: "merge_self", message: "A request cannot be merged into itself.", field: "duplicates")
        }
        let stamp = Clock.millis(now)
        try await database.transaction { sql in
            let rows = try await sql.select().columns("id", "status", "parent_id", "agency_responsible", "service_code").from("service_requests")
                .where("jurisdiction_id", .equal, jurisdictionID).where("id", .in, children + [parentID]).all()
            var found: [Int64: (status: String, parent: Int64?, department: String?, service: String)] = [:]
            for row in rows {
                found[try row.decode(column: "id", as: Int64.self)] = (
                    try row.decode(column: "status", as: String.self), try row.decode(column: "parent_id", as: Int64?.self),
                    try row.decode(column: "agency_responsible", as: String?.self), try row.decode(column: "service_code", as: String.self)
                )
            }
            for id in [parentID] + children {
                guard let item = found[id], departments.contains(item.department) else {
                    // The request merged into is the one asked about (404); a duplicate named in the body that is not
                    // there, or not the caller's, makes the merge impossible as asked (409).
                    if id == parentID { throw CivitasError.notFound("request_not_found", "There is no service request \(id).") }
                    throw CivitasError(
                        .conflict, code: "merge_unknown", message: "There is no service request \(id) you can merge.", field: "duplicates")
                }
                if item.parent != nil {
                    throw CivitasError(
                        .conflict, code: "merge_merged", message: "Request \(id) is already merged into request \(item.parent!).",
                        field: "duplicates")
                }
            }
            let names = try await sql.select().columns("service_code", "service_name").from("services")
                .where("jurisdiction_id", .equal, jurisdictionID).all()
                .reduce(into: [String: String]()) {
                    $0[try $1.decode(column: "service_code", as: String.self)] = try $1.decode(column: "service_name", as: String.self)
                }
            for child in children {
                // What this merge changes is written down, so that undoing it restores exactly that.
                let mergeID = try await Self.recordMerge(
                    child: child, parent: parentID, priorStatus: found[child]!.status, jurisdictionID: jurisdictionID, by: origin,
                    stamp: stamp, sql: sql)
                let note = "Closed as a duplicate of request \(parentID), where the work continues."
                try await sql.update("service_requests").set("status", to: RequestStatus.closed.rawValue).set("status_notes", to: note)
                    .set("parent_id", to: parentID).set("merged_at", to: stamp).set("updated_at", to: stamp)
                    .where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, child).run()
                try await sql.insert(into: "request_updates")
                    .columns("jurisdiction_id", "service_request_id", "status", "note", "actor", "created_at", "visibility", "kind")
                    .values(
                        SQLBind(jurisdictionID), SQLBind(child), SQLBind(RequestStatus.closed.rawValue), SQLBind(note), SQLBind(origin.actor),
                        SQLBind(stamp), SQLBind(NoteVisibility.public.rawValue), SQLBind("merge")
                    ).run()
                // Everyone who heard about the child now hears about the parent, and is told why.
                let followers = try await sql.select().columns(Self.followerColumns).from("request_followers")
                    .where("service_request_id", .equal, child).where("unsubscribed_at", .is, SQLLiteral.null).all().map(Self.follower)
                for follower in followers {
                    let before = try await sql.select().columns("id", "unsubscribed_at", "user_id", "language").from("request_followers")
                        .where("service_request_id", .equal, parentID).where("email", .equal, follower.email).first()
                    let moved = try await Self.addFollower(
                        requestID: parentID, jurisdictionID: jurisdictionID, email: follower.email, userID: follower.userID,
                        kind: .follower, language: follower.language, now: now, sql: sql)
                    try await Self.recordMovedFollower(moved.id, before: before, merge: mergeID, jurisdictionID: jurisdictionID, sql: sql)
                    if let notices {
                        let unsubscribe = "\(notices.publicURL)/unsubscribe/\(moved.unsubscribeToken)"
                        let mail = RequestNotice.merged(
                            site: notices.site, requestID: child, parentID: parentID,
                            serviceName: try await Self.serviceNames(code: found[child]!.service, jurisdictionID: jurisdictionID, sql: sql)[
                                follower.language] ?? names[found[child]!.service] ?? found[child]!.service,
                            link: "\(notices.publicURL)/requests/\(parentID)", unsubscribe: unsubscribe, language: follower.language)
                        try await MailOutboxStore.enqueue(
                            to: follower.email, subject: mail.subject, body: mail.body, unsubscribeURL: unsubscribe,
                            jurisdictionID: jurisdictionID, now: now, sql: sql)
                    }
                }
                try await AuditStore.append(
                    AuditEvent(
                        actor: origin.actor, action: "request.merge", subject: "service_request:\(child)", fields: ["status", "parent_id"],
                        purpose: "duplicate of \(parentID)", source: origin.source),
                    jurisdictionID: jurisdictionID, at: now, sql: sql)
            }
            let list = children.map { "\($0)" }.joined(separator: ", ")
            let parentStatus = RequestStatus(rawValue: found[parentID]!.status) ?? .open
            try await sql.update("service_requests").set("updated_at", to: stamp).where("jurisdiction_id", .equal, jurisdictionID)
                .where("id", .equal, parentID).run()
            try await sql.insert(into: "request_updates")
                .columns("jurisdiction_id", "service_request_id", "status", "note", "actor", "created_at", "visibility", "kind")
                .values(
                    SQLBind(jurisdictionID), SQLBind(parentID), SQLBind(parentStatus.rawValue),
                    SQLBind("Joined with \(children.count == 1 ? "request" : "requests") \(list), about the same problem."),
                    SQLBind(origin.actor), SQLBind(stamp), SQLBind(NoteVisibility.public.rawValue), SQLBind("merge")
                ).run()
        }
        await announce([parentID] + children, jurisdictionID: jurisdictionID)
        guard let parent = try await find(id: parentID, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("request_not_found", "There is no service request \(parentID).")
        }
        return parent
    }

    /// How many duplicates were merged into each request that has any.
    public func childCounts(jurisdictionID: String) async throws -> [Int64: Int] {
        try await database.read { sql in
            try await sql.select().column("parent_id").column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("service_requests")
                .where("jurisdiction_id", .equal, jurisdictionID).where("parent_id", .isNot, SQLLiteral.null).groupBy("parent_id").all()
                .reduce(into: [Int64: Int]()) { $0[try $1.decode(column: "parent_id", as: Int64.self)] = try $1.decode(column: "n", as: Int.self) }
        }
    }

    /// Requests merged into `id`.
    public func children(of id: Int64, jurisdictionID: String) async throws -> [Int64] {
        try await database.read { sql in
            try await sql.select().column("id").from("service_requests").where("jurisdiction_id", .equal, jurisdictionID)
                .where("parent_id", .equal, id).orderBy("id").all().map { try $0.decode(column: "id", as: Int64.self) }
        }
    }

    /// Who read a request's personal data, newest first (its audit entries), for the staff timeline.
    public func views(of id: Int64, jurisdictionID: String, limit: Int = 50) async throws -> [(actor: String, purpose: String?, at: Date)] {
        try await database.read { sql in
            try await sql.select().columns("actor", "purpose", "at").from("audit_log")
                .where("jurisdiction_id", .equal, jurisdictionID).where("subject", .equal, "service_request:\(id)")
                .where("action", .equal, "request.read_personal")
                .orderBy(SQLOrderBy(expression: SQLColumn("seq"), direction: SQLDirection.descending)).limit(limit).all()
                .map {
                    (
                        try $0.decode(column: "actor", as: String.self), try $0.decode(column: "purpose", as: String?.self),
                        Clock.date(try $0.decode(column: "at", as: Int64.self))
                    )
                }
        }
    }
}
