import CivitasCore
import Foundation
import SQLKit

/// One of the site's own pages as the agency wrote it in one language.
public struct SitePageText: Sendable, Equatable {
    public var page: SitePage
    public var language: Language
    public var body: String
    public var updatedBy: String
    public var updatedAt: Date
}

/// The agency's own texts for its contact page, accessibility statement and privacy notice. A page not written yet
/// in a language is shown from the text Civitas ships; every save is in the audit chain.
public struct SitePageStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    public func find(_ page: SitePage, language: Language, jurisdictionID: String) async throws -> SitePageText? {
        try await database.read { sql in
            try await sql.select().columns("body", "updated_by", "updated_at").from("site_pages")
                .where("jurisdiction_id", .equal, jurisdictionID).where("page", .equal, page.rawValue)
                .where("language", .equal, language.rawValue)
                .first()
                .map { row in
                    SitePageText(
                        page: page, language: language, body: try row.decode(column: "body", as: String.self),
                        updatedBy: try row.decode(column: "updated_by", as: String.self),
                        updatedAt: Clock.date(try row.decode(column: "updated_at", as: Int64.self)))
                }
        }
    }

    /// Saves a page's text in one language, replacing what was there; refused, with the reason, when it is empty, too
    /// long or holds a NUL.
    public func save(_ page: SitePage, language: Language, body: String, actor: String, jurisdictionID: String, now: Date = Date())
        async throws
    {
        if let problem = SiteText.problem(in: body) { throw CivitasError.invalid("page_invalid", problem) }
        try await database.transaction { sql in
            try await sql.delete(from: "site_pages").where("jurisdiction_id", .equal, jurisdictionID).where("page", .equal, page.rawValue)
                .where("language", .equal, language.rawValue).run()
            try await sql.insert(into: "site_pages").columns("jurisdiction_id", "page", "language", "body", "updated_by", "updated_at")
                .values(
                    SQLBind(jurisdictionID), SQLBind(page.rawValue), SQLBind(language.rawValue), SQLBind(body), SQLBind(actor),
                    SQLBind(Clock.millis(now))
                ).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "site.page_saved", subject: "page:\(page.rawValue):\(language.rawValue)"),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }
}
