import SQLKit

/// Lists filtered by service and status together (a dispatcher's "open potholes") read only matching rows,
/// instead of every open request.
enum Migration0002RequestIndexes {
    static let migration = Migration(version: 2, name: "request_indexes") { sql, _ in
        try await sql.create(index: "service_requests_by_service_status").on("service_requests")
            .column("jurisdiction_id").column("service_code").column("status").column("requested_at").run()
    }
}
