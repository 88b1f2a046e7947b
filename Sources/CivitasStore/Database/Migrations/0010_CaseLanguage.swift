import SQLKit

/// The language an applicant applied in (`en`, `es`): the mail about their case is written in it.
enum Migration0010CaseLanguage {
    static let migration = Migration(version: 10, name: "case language") { sql, _ in
        try await sql.alter(table: "cases").column("language", type: .text, .notNull, .default(SQLLiteral.string("en"))).run()
    }
}
