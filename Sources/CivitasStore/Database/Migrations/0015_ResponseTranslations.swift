import SQLKit

/// Prepared responses in the residents' other languages, and the translations a public note was sent with, so each
/// reader sees it, and each follower is mailed it, in their language (JSON: `{"es": "..."}`).
enum Migration0015ResponseTranslations {
    static let migration = Migration(version: 15, name: "response translations") { sql, _ in
        try await sql.alter(table: "response_templates").column("translations", type: .text, .notNull, .default(SQLLiteral.string("{}")))
            .run()
        try await sql.alter(table: "request_updates").column("note_translations", type: .text, .notNull, .default(SQLLiteral.string("{}")))
            .run()
    }
}
