import SQLKit

/// A service's texts in other languages, as the agency supplies them in the catalog: JSON, by language code.
enum Migration0012ServiceTranslations {
    static let migration = Migration(version: 12, name: "service translations") { sql, _ in
        try await sql.alter(table: "services").column("translations", type: .text, .notNull, .default(SQLLiteral.string("{}"))).run()
    }
}
