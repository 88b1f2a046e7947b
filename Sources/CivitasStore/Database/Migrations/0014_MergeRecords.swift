import SQLKit

/// What each merge moved, so it can be undone exactly: the duplicate's status before, and each follower row of the
/// surviving request that the merge added or changed (with what it was before).
enum Migration0014MergeRecords {
    static let migration = Migration(version: 14, name: "merge records") { sql, _ in
        try await sql.create(table: "request_merges")
            .column("id", type: .bigint, .primaryKey(autoIncrement: true))
            .column("jurisdiction_id", type: .text, .notNull)
            .column("child_id", type: .bigint, .notNull, .references("service_requests", "id"))
            .column("parent_id", type: .bigint, .notNull, .references("service_requests", "id"))
            .column("prior_status", type: .text, .notNull)
            .column("merged_at", type: .bigint, .notNull)
            .column("merged_by", type: .text, .notNull)
            .column("undone_at", type: .bigint)
            .column("undone_by", type: .text)
            .run()
        try await sql.create(index: "request_merges_by_child").on("request_merges").column("jurisdiction_id").column("child_id").run()
        try await sql.create(index: "request_merges_by_parent").on("request_merges").column("jurisdiction_id").column("parent_id").run()
        // No foreign key to request_followers: undoing a merge deletes the rows it added.
        try await sql.create(table: "request_merge_followers")
            .column("merge_id", type: .bigint, .notNull, .references("request_merges", "id"))
            .column("jurisdiction_id", type: .text, .notNull)
            .column("follower_id", type: .bigint, .notNull)
            .column("added", type: .int, .notNull)
            .column("prior_unsubscribed_at", type: .bigint)
            .column("prior_user_id", type: .bigint)
            .column("prior_language", type: .text)
            .run()
        try await sql.create(index: "request_merge_followers_by_merge").on("request_merge_followers").column("merge_id").run()
        try await sql.create(index: "request_merge_followers_by_follower").on("request_merge_followers").column("follower_id").run()
    }
}
