import CivitasCore
import Foundation
import SQLKit

/// A photo attached to a request.
public struct Media: Sendable, Equatable {
    public var id: String
    public var contentType: String
    public var bytes: [UInt8]
}

/// A photo on its way in, stored in the same transaction as the request it belongs to.
public struct MediaUpload: Sendable {
    public var id: String
    public var contentType: String
    public var bytes: [UInt8]

    public init(contentType: String, bytes: [UInt8]) {
        id = SecureRandom.token(bytes: 16)
        self.contentType = contentType
        self.bytes = bytes
    }
}

/// Photos uploaded with requests, kept in the database so every instance can serve them.
public struct MediaStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    static func insert(_ upload: MediaUpload, jurisdictionID: String, now: Date, sql: any SQLDatabase) async throws {
        try await sql.insert(into: "media").columns("id", "jurisdiction_id", "content_type", "bytes", "created_at")
            .values(
                SQLBind(upload.id), SQLBind(jurisdictionID), SQLBind(upload.contentType), SQLBind(Data(upload.bytes)),
                SQLBind(Clock.millis(now))
            )
            .run()
    }

    /// Stores an upload on its own (a photo added to a report in progress), to be linked to its request later.
    public func store(_ upload: MediaUpload, jurisdictionID: String, now: Date = Date()) async throws {
        try await database.transaction { sql in try await Self.insert(upload, jurisdictionID: jurisdictionID, now: now, sql: sql) }
    }

    public func find(id: String) async throws -> Media? {
        try await database.read { sql in
            try await sql.select().columns("id", "content_type", "bytes").from("media").where("id", .equal, id).first()
                .map { row in
                    Media(
                        id: try row.decode(column: "id", as: String.self),
                        contentType: try row.decode(column: "content_type", as: String.self),
                        bytes: [UInt8](try row.decode(column: "bytes", as: Data.self)))
                }
        }
    }

    /// A photo for anyone to see: never a case's document, which is served only to those who may read its case.
    public func findPublic(id: String) async throws -> Media? {
        let privateDocument = try await database.read { sql in
            try await sql.select().column("id").from("case_documents").where("media_id", .equal, id).first() != nil
        }
        return privateDocument ? nil : try await find(id: id)
    }
}
