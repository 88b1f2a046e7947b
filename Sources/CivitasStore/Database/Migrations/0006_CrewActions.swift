import SQLKit

/// What crews did in the street, each under the idempotency key their device chose, so an action sent twice (a retry
/// after a lost connection, a queue replayed after being offline) is applied once.
enum Migration0006CrewActions {
    static let migration = Migration(version: 6, name: "crew_actions") { sql, _ in
        try await sql.create(table: "crew_actions")
            .column("idempotency_key", type: .text, .primaryKey(autoIncrement: false))
            .column("jurisdiction_id", type: .text, .notNull)
            .column("user_id", type: .bigint, .notNull)
            .column("service_request_id", type: .bigint, .notNull)
            .column("action", type: .text, .notNull)
            // applied | conflict
            .column("outcome", type: .text, .notNull)
            .column("message", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .run()
    }
}
