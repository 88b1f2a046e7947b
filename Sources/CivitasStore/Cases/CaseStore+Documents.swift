import CivitasCore
import Foundation
import SQLKit

/// A case's documents (each upload a new version, checked by its first bytes), notes and messages.
extension CaseStore {
    public func documents(of caseID: Int64) async throws -> [CaseDocument] {
        try await database.read { sql in
            try await sql.select().columns(
                "id", "document_type", "version", "filename", "content_type", "media_id", "size", "uploaded_by", "created_at"
            )
            .from("case_documents").where("case_id", .equal, caseID).orderBy("document_type").orderBy("version").all().map { row in
                CaseDocument(
                    id: try row.decode(column: "id", as: Int64.self), type: try row.decode(column: "document_type", as: String.self),
                    version: try row.decode(column: "version", as: Int.self), filename: try row.decode(column: "filename", as: String.self),
                    contentType: try row.decode(column: "content_type", as: String.self),
                    mediaID: try row.decode(column: "media_id", as: String.self),
                    size: Int(try row.decode(column: "size", as: Int64.self)), uploadedBy: try row.decode(column: "uploaded_by", as: String.self),
                    at: Clock.date(try row.decode(column: "created_at", as: Int64.self)))
            }
        }
    }

    static func documentTypes(_ caseID: Int64, sql: any SQLDatabase) async throws -> Set<String> {
        Set(
            try await sql.select().distinct().column("document_type").from("case_documents").where("case_id", .equal, caseID).all()
                .map { try $0.decode(column: "document_type", as: String.self) })
    }

    /// Uploads a new version of one of the case's documents; tasks asking for it are done.
    @discardableResult
    public func addDocument(
        _ caseID: Int64, type documentType: String, filename: String, contentType: String, bytes: [UInt8], by caller: CaseCaller,
        jurisdictionID: String,
        now: Date = Date()
    ) async throws -> CaseDocument {
        guard let found = try await find(id: caseID, jurisdictionID: jurisdictionID),
            let type = try await type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdictionID)
        else { throw CivitasError.notFound("case_not_found", "There is no case \(caseID).") }
        guard let document = type.document(documentType) else {
            throw CivitasError.invalid("document_unknown", "\(type.name) takes no document \u{201C}\(documentType)\u{201D}.", field: "type")
        }
        guard !bytes.isEmpty, bytes.count <= document.maximumBytes else {
            throw CivitasError.invalid(
                "document_size", "\(document.label): the file must be at most \(document.maximumBytes / 1_048_576) MB.", field: "file")
        }
        guard let sniffed = FileSignature.contentType(of: bytes), document.contentTypes.contains(sniffed) else {
            let allowed = document.contentTypes.map { $0.split(separator: "/").last.map { $0.uppercased() } ?? $0 }.joined(separator: ", ")
            throw CivitasError.invalid("document_type", "\(document.label): the file must be \(allowed).", field: "file")
        }
        _ = contentType
        let cleanName = String(filename.filter { !$0.isNewline && $0 != "/" && $0 != "\\" }.prefix(200))
        return try await database.transaction { [self] sql in
            let current = try await lock(caseID, jurisdictionID: jurisdictionID, sql: sql)
            guard current.closedAt == nil else { throw CivitasError(.conflict, code: "case_closed", message: "Case \(caseID) is closed.") }
            let last = try await sql.select().column(SQLFunction("MAX", args: SQLColumn("version")), as: "v").from("case_documents")
                .where("case_id", .equal, caseID).where("document_type", .equal, documentType).first()?.decode(column: "v", as: Int?.self)
            let upload = MediaUpload(contentType: sniffed, bytes: bytes)
            try await MediaStore.insert(upload, jurisdictionID: jurisdictionID, now: now, sql: sql)
            let version = (last ?? 0) + 1
            let row = try await sql.insert(into: "case_documents")
                .columns("case_id", "document_type", "version", "filename", "content_type", "media_id", "size", "uploaded_by", "created_at")
                .values(
                    SQLBind(caseID), SQLBind(documentType), SQLBind(version), SQLBind(cleanName.isEmpty ? documentType : cleanName), SQLBind(sniffed),
                    SQLBind(upload.id), SQLBind(bytes.count), SQLBind(caller.name), SQLBind(Clock.millis(now))
                ).returning("id").first()
            try await sql.update("case_tasks").set("done_at", to: SQLBind(Clock.millis(now))).where("case_id", .equal, caseID)
                .where("document_type", .equal, documentType).where("done_at", .is, SQLLiteral.null).run()
            try await event(
                caseID, kind: "document", actor: caller.name, visibility: .applicant, body: "\(document.label) uploaded (version \(version)).",
                now: now, sql: sql)
            try await sql.update("cases").set("updated_at", to: SQLBind(Clock.millis(now))).where("id", .equal, caseID).run()
            try await webhook(
                "case.document_added", caseID: caseID, type: type, state: current.state,
                extra: ["document_type": .string(documentType), "version": .integer(Int64(version))], jurisdictionID: jurisdictionID, now: now,
                sql: sql)
            return CaseDocument(
                id: try row?.decode(column: "id", as: Int64.self) ?? 0, type: documentType, version: version, filename: cleanName,
                contentType: sniffed,
                mediaID: upload.id, size: bytes.count, uploadedBy: caller.name, at: now)
        }
    }

    /// A note (`internal`, staff only) or a message to or from the applicant (`applicant`).
    public func addNote(
        _ caseID: Int64, body: String, visibility: CaseEvent.Visibility, by caller: CaseCaller, jurisdictionID: String, now: Date = Date()
    )
        async throws
    {
        let text = body.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty, text.unicodeScalars.count <= 5000 else {
            throw CivitasError.invalid("note_invalid", "Write a message of 1 to 5000 characters.", field: "body")
        }
        guard let found = try await find(id: caseID, jurisdictionID: jurisdictionID),
            let type = try await type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdictionID)
        else { throw CivitasError.notFound("case_not_found", "There is no case \(caseID).") }
        try await database.transaction { [self] sql in
            let kind = caller.actor == .applicant ? "message" : visibility == .internal ? "note" : "message"
            try await event(
                caseID, kind: kind, actor: caller.name, visibility: caller.actor == .applicant ? .applicant : visibility, body: text, now: now,
                sql: sql)
            if caller.actor != .applicant, visibility == .applicant {
                try await mailApplicant(found, type: type, lines: [CaseNotice.messageFromUs(found.language), text], now: now, sql: sql)
            }
            if visibility == .applicant {
                try await webhook(
                    "case.message", caseID: caseID, type: type, state: found.state, extra: [:], jurisdictionID: jurisdictionID, now: now, sql: sql)
            }
        }
    }
}
