import SQLKit

/// A time agreed with the resident for the crew's visit (a bulky-item pickup at 10–12, say): planning keeps the
/// stop inside it.
enum Migration0008Appointments {
    static let migration = Migration(version: 8, name: "appointments") { sql, _ in
        try await sql.create(table: "appointments")
            .column("service_request_id", type: .bigint, .primaryKey(autoIncrement: false), .references("service_requests", "id"))
            .column("jurisdiction_id", type: .text, .notNull)
            .column("starts_at", type: .bigint, .notNull)
            .column("ends_at", type: .bigint, .notNull)
            .column("set_by", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .run()
        try await sql.create(index: "appointments_by_time").on("appointments").column("jurisdiction_id").column("starts_at").run()
    }
}
