import SQLKit

/// Words residents use for a service that its name and keywords do not have ("sofa" for bulky items), added by an
/// admin; comma-separated.
enum Migration0011ServiceSearchWords {
    static let migration = Migration(version: 11, name: "service search words") { sql, _ in
        try await sql.alter(table: "service_settings").column("search_words", type: .text, .notNull, .default(SQLLiteral.string("")))
            .run()
    }
}
