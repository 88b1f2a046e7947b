import SQLKit

/// Residents' reporting: address points for matching as you type, per-service duplicate and visibility settings,
/// followers of a request (the reporter, and everyone who said "me too"), photos of a request, reports in progress,
/// merged duplicates, staff response templates and saved queue views.
enum Migration0004Reporting {
    static let migration = Migration(version: 4, name: "reporting") { sql, _ in
        let double = SQLDataType.custom(SQLRaw("DOUBLE PRECISION"))

        try await sql.create(table: "address_points")
            .column("id", type: .bigint, .primaryKey(autoIncrement: true))
            .column("jurisdiction_id", type: .text, .notNull, .references("jurisdictions", "id"))
            .column("address", type: .text, .notNull)
            // Upper case, accents folded, punctuation as single spaces: what typed text is matched against.
            .column("search", type: .text, .notNull)
            .column("zipcode", type: .text)
            .column("latitude", type: double, .notNull)
            .column("longitude", type: double, .notNull)
            .run()
        try await sql.create(index: "address_points_by_search").on("address_points").column("jurisdiction_id").column("search").run()
        try await sql.create(index: "address_points_by_place").on("address_points")
            .column("jurisdiction_id").column("latitude").column("longitude").run()

        try await sql.create(table: "service_settings")
            .column("jurisdiction_id", type: .text, .notNull, .references("jurisdictions", "id"))
            .column("service_code", type: .text, .notNull)
            .column("duplicate_radius_m", type: double, .notNull)
            .column("duplicate_window_hours", type: .int, .notNull)
            // public | blurred | hidden: how the service shows on the public map and list.
            .column("visibility", type: .text, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .primaryKey("jurisdiction_id", "service_code")
            .run()

        try await sql.create(table: "request_followers")
            .column("id", type: .bigint, .primaryKey(autoIncrement: true))
            .column("jurisdiction_id", type: .text, .notNull)
            .column("service_request_id", type: .bigint, .notNull, .references("service_requests", "id"))
            // Personal data: who follows.
            .column("email", type: .text, .notNull)
            .column("user_id", type: .bigint)
            // reporter | follower
            .column("kind", type: .text, .notNull)
            .column("language", type: .text, .notNull)
            // Random; only lets its holder stop these mails, so it is kept as is to put in each mail.
            .column("unsubscribe_token", type: .text, .notNull, .unique)
            .column("created_at", type: .bigint, .notNull)
            .column("unsubscribed_at", type: .bigint)
            .run()
        try await sql.create(index: "request_followers_once").unique().on("request_followers")
            .column("service_request_id").column("email").run()
        try await sql.create(index: "request_followers_by_user").on("request_followers").column("jurisdiction_id").column("user_id").run()

        try await sql.create(table: "request_photos")
            .column("jurisdiction_id", type: .text, .notNull)
            .column("service_request_id", type: .bigint, .notNull, .references("service_requests", "id"))
            .column("position", type: .int, .notNull)
            .column("media_id", type: .text, .notNull, .references("media", "id"))
            .primaryKey("service_request_id", "position")
            .run()

        try await sql.create(table: "report_drafts")
            .column("id_hash", type: .text, .primaryKey(autoIncrement: false))
            .column("jurisdiction_id", type: .text, .notNull)
            .column("data", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("expires_at", type: .bigint, .notNull)
            .run()
        try await sql.create(index: "report_drafts_by_expiry").on("report_drafts").column("expires_at").run()

        try await sql.create(table: "response_templates")
            .column("id", type: .bigint, .primaryKey(autoIncrement: true))
            .column("jurisdiction_id", type: .text, .notNull)
            .column("service_code", type: .text)
            .column("title", type: .text, .notNull)
            .column("body", type: .text, .notNull)
            .column("status", type: .text)
            .column("created_at", type: .bigint, .notNull)
            .run()

        try await sql.create(table: "saved_views")
            .column("id", type: .bigint, .primaryKey(autoIncrement: true))
            .column("jurisdiction_id", type: .text, .notNull)
            .column("user_id", type: .bigint, .notNull, .references("users", "id"))
            .column("name", type: .text, .notNull)
            .column("query", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .run()

        // The request a duplicate was merged into, and when.
        try await sql.alter(table: "service_requests").column("parent_id", type: .bigint).run()
        try await sql.alter(table: "service_requests").column("merged_at", type: .bigint).run()
        try await sql.create(index: "service_requests_by_parent").on("service_requests").column("jurisdiction_id").column("parent_id").run()
    }
}
