import CivitasCore
import Foundation
import SQLKit

/// A prepared answer staff pick when they change a status (managed per service, or for all services).
public struct ResponseTemplate: Sendable, Equatable {
    public var id: Int64
    public var serviceCode: String?
    public var title: String
    public var body: String
    public var status: RequestStatus?
    /// The text in the residents' other languages (Spanish), used for readers and followers of that language.
    public var translations: [Language: String] = [:]
}

public struct ResponseTemplateStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    /// The templates for a service (and those for every service), by title.
    public func list(serviceCode: String?, jurisdictionID: String) async throws -> [ResponseTemplate] {
        try await database.read { sql in
            let select = sql.select().columns("id", "service_code", "title", "body", "status", "translations").from("response_templates")
                .where("jurisdiction_id", .equal, jurisdictionID)
            if let serviceCode {
                select.where { $0.where("service_code", .equal, serviceCode).orWhere("service_code", .is, SQLLiteral.null) }
            }
            return try await select.orderBy("title").all().map { row in
                ResponseTemplate(
                    id: try row.decode(column: "id", as: Int64.self), serviceCode: try row.decode(column: "service_code", as: String?.self),
                    title: try row.decode(column: "title", as: String.self), body: try row.decode(column: "body", as: String.self),
                    status: try row.decode(column: "status", as: String?.self).flatMap(RequestStatus.init(rawValue:)),
                    translations: NoteTranslations.decode(try row.decode(column: "translations", as: String.self)))
            }
        }
    }

    @discardableResult
    public func create(
        serviceCode: String?, title: String, body: String, status: RequestStatus?, translations: [Language: String] = [:], jurisdictionID: String,
        actor: String, now: Date = Date()
    ) async throws -> Int64 {
        let title = title.trimmingCharacters(in: .whitespacesAndNewlines)
        let body = body.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...100).contains(title.unicodeScalars.count) else {
            throw CivitasError.invalid("title_invalid", "Give the template a title of 1 to 100 characters.", field: "title")
        }
        guard (1...5000).contains(body.unicodeScalars.count) else {
            throw CivitasError.invalid("body_invalid", "Write the template's text: 1 to 5000 characters.", field: "body")
        }
        for (language, text) in translations where text.unicodeScalars.count > 5000 {
            throw CivitasError.invalid(
                "body_invalid", "The template's text in \(language.rawValue) is longer than 5000 characters.", field: "body-\(language.rawValue)")
        }
        return try await database.transaction { sql in
            let row = try await sql.insert(into: "response_templates")
                .columns("jurisdiction_id", "service_code", "title", "body", "status", "created_at", "translations")
                .values(
                    SQLBind(jurisdictionID), SQLBind(serviceCode), SQLBind(title), SQLBind(body), SQLBind(status?.rawValue),
                    SQLBind(Clock.millis(now)),
                    SQLBind(NoteTranslations.encode(translations.mapValues { $0.trimmingCharacters(in: .whitespacesAndNewlines) }))
                )
                .returning("id").first()
            let id = try row?.decode(column: "id", as: Int64.self) ?? 0
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "template.create", subject: "response_template:\(id)", fields: ["title", "body"]),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
            return id
        }
    }

    public func delete(id: Int64, jurisdictionID: String, actor: String, now: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "response_templates").where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, id).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "template.delete", subject: "response_template:\(id)"),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }
}
