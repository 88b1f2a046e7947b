import SQLKit

/// The site's own pages as the agency wrote them (contact, accessibility statement, privacy notice), one text per
/// language; and an account's own contact details (the name to use, a phone number), which residents keep up to date.
enum Migration0013SitePages {
    static let migration = Migration(version: 13, name: "site pages and account details") { sql, _ in
        try await sql.create(table: "site_pages")
            .column("jurisdiction_id", type: .text, .notNull)
            .column("page", type: .text, .notNull)
            .column("language", type: .text, .notNull)
            .column("body", type: .text, .notNull)
            .column("updated_by", type: .text, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .primaryKey("jurisdiction_id", "page", "language")
            .run()
        try await sql.alter(table: "users").column("display_name", type: .text, .notNull, .default(SQLLiteral.string(""))).run()
        try await sql.alter(table: "users").column("phone", type: .text, .notNull, .default(SQLLiteral.string(""))).run()
    }
}
