import CivitasCore
import Foundation
import SQLKit

/// Undoing a merge, from what the merge wrote down (`request_merges`, `request_merge_followers`).
extension ServiceRequestStore {
    /// Writes down one duplicate's merge, in the merge's transaction; returns its id for the followers it moves.
    static func recordMerge(
        child: Int64, parent: Int64, priorStatus: String, jurisdictionID: String, by origin: ChangeOrigin, stamp: Int64, sql: any SQLDatabase
    ) async throws -> Int64 {
        let row = try await sql.insert(into: "request_merges")
            .columns("jurisdiction_id", "child_id", "parent_id", "prior_status", "merged_at", "merged_by")
            .values(SQLBind(jurisdictionID), SQLBind(child), SQLBind(parent), SQLBind(priorStatus), SQLBind(stamp), SQLBind(origin.actor))
            .returning("id").first()
        guard let id = try row?.decode(column: "id", as: Int64.self) else {
            throw CivitasError(.unavailable, code: "insert_failed", message: "The merge could not be stored.")
        }
        return id
    }

    /// Writes down a follower row of the surviving request that a merge added (`before` is nil) or changed (`before`
    /// is the row as it was).
    static func recordMovedFollower(
        _ followerID: Int64, before: (any SQLRow)?, merge: Int64, jurisdictionID: String, sql: any SQLDatabase
    ) async throws {
        try await sql.insert(into: "request_merge_followers")
            .columns("merge_id", "jurisdiction_id", "follower_id", "added", "prior_unsubscribed_at", "prior_user_id", "prior_language")
            .values(
                SQLBind(merge), SQLBind(jurisdictionID), SQLBind(followerID), SQLBind(before == nil ? 1 : 0),
                SQLBind(try before?.decode(column: "unsubscribed_at", as: Int64?.self)),
                SQLBind(try before?.decode(column: "user_id", as: Int64?.self)),
                SQLBind(try before?.decode(column: "language", as: String?.self))
            ).run()
    }

    /// The duplicates among `ids` whose merge was written down and can be offered for undoing.
    public func undoableMerges(_ ids: [Int64], jurisdictionID: String) async throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        return try await database.read { sql in
            Set(
                try await sql.select().columns("child_id").from("request_merges").where("jurisdiction_id", .equal, jurisdictionID)
                    .where("child_id", .in, ids).where("undone_at", .is, SQLLiteral.null).all()
                    .map { try $0.decode(column: "child_id", as: Int64.self) })
        }
    }

    /// Undoes the merge of `childID` into `parentID`, in one transaction: the duplicate gets back the status it had and
    /// stands on its own again; the follower rows the merge added to the surviving request are removed (and the ones it
    /// changed are put back), unless another duplicate still merged there brought the same person; both requests get a
    /// public note; the duplicate's followers are told; the audit chain records `request.unmerge`.
    ///
    /// Refused (409) when undoing would not restore what the merge changed: the duplicate is not merged into this
    /// request (any more), the surviving request has itself been merged since (the followers moved on with it), the
    /// duplicate's status was changed after the merge (undoing would overwrite that decision), or the merge was made
    /// before merges were written down.
    @discardableResult
    public func unmerge(
        _ childID: Int64, from parentID: Int64, jurisdictionID: String, departments: DepartmentScope = .all, by origin: ChangeOrigin,
        now: Date = Date()
    ) async throws -> (request: ServiceRequest, restored: RequestStatus) {
        let stamp = Clock.millis(now)
        let restored: RequestStatus = try await database.transaction { sql in
            let rows = try await sql.select().columns("id", "status", "parent_id", "agency_responsible", "service_code").from("service_requests")
                .where("jurisdiction_id", .equal, jurisdictionID).where("id", .in, [childID, parentID]).all()
            var found: [Int64: (status: String, parent: Int64?, department: String?, service: String)] = [:]
            for row in rows {
                found[try row.decode(column: "id", as: Int64.self)] = (
                    try row.decode(column: "status", as: String.self), try row.decode(column: "parent_id", as: Int64?.self),
                    try row.decode(column: "agency_responsible", as: String?.self), try row.decode(column: "service_code", as: String.self)
                )
            }
            guard let parent = found[parentID], departments.contains(parent.department) else {
                throw CivitasError.notFound("request_not_found", "There is no service request \(parentID).")
            }
            guard let child = found[childID], childID != parentID, departments.contains(child.department) else {
                throw CivitasError(
                    .conflict, code: "unmerge_unknown", message: "There is no service request \(childID) you can separate.", field: "duplicate")
            }
            guard child.parent == parentID else {
                let now = child.parent.map { " It is merged into request \($0) now." } ?? ""
                throw CivitasError(
                    .conflict, code: "unmerge_not_merged", message: "Request \(childID) is not merged into request \(parentID).\(now)",
                    field: "duplicate")
            }
            if let grandparent = parent.parent {
                throw CivitasError(
                    .conflict, code: "unmerge_parent_merged",
                    message:
                        "Request \(parentID) has since been merged into request \(grandparent), and the people who followed \(childID) moved with it. Undo that merge first.",
                    field: "duplicate")
            }
            guard
                let record = try await sql.select().columns("id", "prior_status").from("request_merges")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("child_id", .equal, childID).where("parent_id", .equal, parentID)
                    .where("undone_at", .is, SQLLiteral.null)
                    .orderBy(SQLOrderBy(expression: SQLColumn("id"), direction: SQLDirection.descending)).first()
            else {
                throw CivitasError(
                    .conflict, code: "unmerge_unrecorded",
                    message:
                        "Request \(childID) was merged before Civitas kept a record of what a merge moves, so the merge cannot be undone. Reopen it and add a note instead.",
                    field: "duplicate")
            }
            let mergeID = try record.decode(column: "id", as: Int64.self)
            // History rows are numbered in order: a status change numbered after the merge's own line came after it.
            let mergeLine =
                try await sql.select().column("id").from("request_updates").where("jurisdiction_id", .equal, jurisdictionID)
                .where("service_request_id", .equal, childID).where("kind", .equal, "merge")
                .orderBy(SQLOrderBy(expression: SQLColumn("id"), direction: SQLDirection.descending)).first()?
                .decode(column: "id", as: Int64.self) ?? 0
            let changedSince = try await sql.select().column("id").from("request_updates").where("jurisdiction_id", .equal, jurisdictionID)
                .where("service_request_id", .equal, childID).where("kind", .equal, "status").where("id", .greaterThan, mergeLine).first()
            guard changedSince == nil else {
                throw CivitasError(
                    .conflict, code: "unmerge_changed",
                    message:
                        "The status of request \(childID) was changed after the merge, so undoing the merge could overwrite that change. Change the request by hand instead.",
                    field: "duplicate")
            }
            let status = RequestStatus(rawValue: try record.decode(column: "prior_status", as: String.self)) ?? .open
            try await Self.giveBackFollowers(merge: mergeID, parentID: parentID, jurisdictionID: jurisdictionID, sql: sql)

            let childNote = "Separated from request \(parentID): it is not the same problem after all, so it is handled on its own again."
            try await sql.update("service_requests").set("status", to: status.rawValue).set("status_notes", to: childNote)
                .set("parent_id", to: SQLLiteral.null).set("merged_at", to: SQLLiteral.null).set("updated_at", to: stamp)
                .where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, childID).run()
            try await sql.update("service_requests").set("updated_at", to: stamp).where("jurisdiction_id", .equal, jurisdictionID)
                .where("id", .equal, parentID).run()
            let parentNote = "Request \(childID) was separated from this one: it is a different problem."
            for (id, noteStatus, note) in [
                (childID, status.rawValue, childNote), (parentID, parent.status, parentNote),
            ] {
                try await sql.insert(into: "request_updates")
                    .columns("jurisdiction_id", "service_request_id", "status", "note", "actor", "created_at", "visibility", "kind")
                    .values(
                        SQLBind(jurisdictionID), SQLBind(id), SQLBind(noteStatus), SQLBind(note), SQLBind(origin.actor), SQLBind(stamp),
                        SQLBind(NoteVisibility.public.rawValue), SQLBind("unmerge")
                    ).run()
            }
            try await sql.update("request_merges").set("undone_at", to: stamp).set("undone_by", to: origin.actor)
                .where("id", .equal, mergeID).run()
            try await AuditStore.append(
                AuditEvent(
                    actor: origin.actor, action: "request.unmerge", subject: "service_request:\(childID)", fields: ["status", "parent_id"],
                    purpose: "separated from \(parentID)", source: origin.source),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
            // The duplicate's own followers (its reporter among them) were told of the merge; they are told of this too.
            if let notices {
                try await Self.enqueueStatusNotices(
                    requestID: childID, jurisdictionID: jurisdictionID,
                    serviceNames: try await Self.serviceNames(code: child.service, jurisdictionID: jurisdictionID, sql: sql), status: status,
                    note: childNote, settings: notices, now: now, sql: sql)
            }
            return status
        }
        await announce([parentID, childID], jurisdictionID: jurisdictionID)
        guard let child = try await find(id: childID, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("request_not_found", "There is no service request \(childID).")
        }
        return (child, restored)
    }

    /// Puts the surviving request's follower rows back as they were before merge `merge`. A row that another duplicate
    /// still merged there also brought stays, and that duplicate's record takes over what to do with it on its own undo.
    static func giveBackFollowers(merge: Int64, parentID: Int64, jurisdictionID: String, sql: any SQLDatabase) async throws {
        let others = try await sql.select().column("id").from("request_merges").where("jurisdiction_id", .equal, jurisdictionID)
            .where("parent_id", .equal, parentID).where("undone_at", .is, SQLLiteral.null).where("id", .notEqual, merge).all()
            .map { try $0.decode(column: "id", as: Int64.self) }
        let moved = try await sql.select().columns("follower_id", "added", "prior_unsubscribed_at", "prior_user_id", "prior_language")
            .from("request_merge_followers").where("merge_id", .equal, merge).all()
        for row in moved {
            let followerID = try row.decode(column: "follower_id", as: Int64.self)
            let added = try row.decode(column: "added", as: Int.self)
            let priorUnsubscribed = try row.decode(column: "prior_unsubscribed_at", as: Int64?.self)
            let priorUser = try row.decode(column: "prior_user_id", as: Int64?.self)
            let priorLanguage = try row.decode(column: "prior_language", as: String?.self)
            if !others.isEmpty,
                let heir = try await sql.select().column("merge_id").from("request_merge_followers").where("merge_id", .in, others)
                    .where("follower_id", .equal, followerID).orderBy("merge_id").first()
            {
                try await sql.update("request_merge_followers").set("added", to: added)
                    .set("prior_unsubscribed_at", to: SQLBind(priorUnsubscribed)).set("prior_user_id", to: SQLBind(priorUser))
                    .set("prior_language", to: SQLBind(priorLanguage))
                    .where("merge_id", .equal, try heir.decode(column: "merge_id", as: Int64.self)).where("follower_id", .equal, followerID)
                    .run()
                continue
            }
            if added == 1 {
                try await sql.delete(from: "request_followers").where("id", .equal, followerID).where("service_request_id", .equal, parentID).run()
                continue
            }
            let restore = sql.update("request_followers").set("user_id", to: SQLBind(priorUser))
            if let priorLanguage { restore.set("language", to: priorLanguage) }
            try await restore.where("id", .equal, followerID).run()
            // The merge signed up again someone who had stopped following; unless they stopped again since, they stop.
            if let priorUnsubscribed {
                try await sql.update("request_followers").set("unsubscribed_at", to: priorUnsubscribed).where("id", .equal, followerID)
                    .where("unsubscribed_at", .is, SQLLiteral.null).run()
            }
        }
    }
}
