import SQLKit

/// Field crews and their day plans: crews (depot, vehicle capacity, shift, skills, services), their members, the
/// work each service takes, and saved, versioned plans with their stops and what could not be planned.
enum Migration0005Crews {
    static let migration = Migration(version: 5, name: "crews") { sql, _ in
        let double = SQLDataType.custom(SQLRaw("DOUBLE PRECISION"))
        try await sql.create(table: "crews")
            .column("id", type: .bigint, .primaryKey(autoIncrement: true))
            .column("jurisdiction_id", type: .text, .notNull, .references("jurisdictions", "id"))
            .column("department", type: .text, .notNull)
            .column("name", type: .text, .notNull)
            .column("depot_name", type: .text, .notNull)
            .column("depot_latitude", type: double, .notNull)
            .column("depot_longitude", type: double, .notNull)
            .column("vehicle", type: .text, .notNull)
            .column("capacity", type: double, .notNull)
            // Newline-separated lists; `*` in services means every service of the department.
            .column("skills", type: .text, .notNull)
            .column("services", type: .text, .notNull)
            // ISO weekdays (1 = Monday) the crew works, e.g. "1,2,3,4,5", and its hours in minutes after midnight.
            .column("shift_days", type: .text, .notNull)
            .column("shift_start", type: .int, .notNull)
            .column("shift_end", type: .int, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("retired_at", type: .bigint)
            .run()
        try await sql.create(index: "crews_by_department").on("crews").column("jurisdiction_id").column("department").run()

        try await sql.create(table: "crew_members")
            .column("crew_id", type: .bigint, .notNull, .references("crews", "id"))
            .column("user_id", type: .bigint, .notNull, .references("users", "id"))
            .primaryKey("crew_id", "user_id")
            .run()

        try await sql.create(table: "service_work")
            .column("jurisdiction_id", type: .text, .notNull, .references("jurisdictions", "id"))
            .column("service_code", type: .text, .notNull)
            .column("minutes", type: .int, .notNull)
            .column("load", type: double, .notNull)
            .column("skill", type: .text)
            .primaryKey("jurisdiction_id", "service_code")
            .run()

        try await sql.create(table: "plans")
            .column("id", type: .bigint, .primaryKey(autoIncrement: true))
            .column("jurisdiction_id", type: .text, .notNull, .references("jurisdictions", "id"))
            .column("department", type: .text, .notNull)
            .column("day", type: .text, .notNull)
            .column("version", type: .int, .notNull)
            .column("created_by", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("distance_m", type: double, .notNull)
            .run()
        try await sql.create(index: "plans_version").unique().on("plans")
            .column("jurisdiction_id").column("department").column("day").column("version").run()

        try await sql.create(table: "plan_stops")
            .column("plan_id", type: .bigint, .notNull, .references("plans", "id"))
            .column("crew_id", type: .bigint, .notNull)
            .column("position", type: .int, .notNull)
            .column("service_request_id", type: .bigint, .notNull)
            .column("arrives_at", type: .bigint, .notNull)
            .column("starts_at", type: .bigint, .notNull)
            .column("ends_at", type: .bigint, .notNull)
            .column("locked", type: .int, .notNull)
            .column("reason", type: .text, .notNull)
            .primaryKey("plan_id", "crew_id", "position")
            .run()

        try await sql.create(table: "plan_unplanned")
            .column("plan_id", type: .bigint, .notNull, .references("plans", "id"))
            .column("service_request_id", type: .bigint, .notNull)
            .column("reason", type: .text, .notNull)
            .primaryKey("plan_id", "service_request_id")
            .run()
    }
}
