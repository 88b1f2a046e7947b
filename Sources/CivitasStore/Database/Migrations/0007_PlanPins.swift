import SQLKit

/// Stops a dispatcher keeps with a crew (locked where they are, or moved to another crew): re-planning the rest of
/// the day keeps them there.
enum Migration0007PlanPins {
    static let migration = Migration(version: 7, name: "plan_pins") { sql, _ in
        try await sql.create(table: "plan_pins")
            .column("jurisdiction_id", type: .text, .notNull)
            .column("department", type: .text, .notNull)
            .column("day", type: .text, .notNull)
            .column("service_request_id", type: .bigint, .notNull)
            .column("crew_id", type: .bigint, .notNull)
            .column("pinned_by", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .primaryKey("jurisdiction_id", "department", "day", "service_request_id")
            .run()
    }
}
