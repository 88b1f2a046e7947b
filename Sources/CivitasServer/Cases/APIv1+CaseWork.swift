import CivitasCore
import CivitasStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1/cases/{id}/...`: a case's documents, notes, tasks and the people on it.
extension APIv1Controller {
    func addCaseDocument(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let buffer = try await body(request, upTo: 36_000_000)
        let body = try jsonObject(request, buffer: buffer)
        try rejectUnknown(body, allowed: ["type", "filename", "content_base64"])
        guard case .string(let documentType)? = body["type"] else {
            throw Problem(.badRequest, code: "invalid_field", detail: "type must name one of the case type's documents.", field: "type")
        }
        guard case .string(let encoded)? = body["content_base64"], let bytes = Data(base64Encoded: encoded) else {
            throw Problem(.badRequest, code: "invalid_field", detail: "content_base64 must be the file in base64.", field: "content_base64")
        }
        var given = documentType
        if case .string(let name)? = body["filename"] { given = name }
        let filename = given
        try requireCaseWrite(identity, found)
        let caller = try caller(identity)
        let stores = self.stores
        let add: @Sendable () async throws -> CaseDocument = {
            try await stores.cases.addDocument(
                found.id, type: documentType, filename: filename, contentType: "", bytes: [UInt8](bytes), by: caller,
                jurisdictionID: found.jurisdictionID)
        }
        @Sendable func object(_ document: CaseDocument) -> [String: Any] {
            [
                "id": document.id, "type": document.type, "version": document.version, "filename": document.filename,
                "content_type": document.contentType, "size": document.size, "uploaded_at": rfc3339(document.at),
            ]
        }
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else { return json(object(try await add()), status: .created) }
        let fingerprint = Self.fingerprint(body)
        // The upload joins the transaction that keeps the key: both are kept, or neither.
        let outcome = try await stores.cases.idempotent(
            caller: identity.actor.auditName, key: key, fingerprint: "doc-\(found.id)-" + fingerprint, jurisdictionID: found.jurisdictionID
        ) { _ in
            let document = try await add()
            return (201, String(decoding: try JSONSerialization.data(withJSONObject: object(document), options: [.sortedKeys]), as: UTF8.self))
        }
        var response = Response(
            status: .created, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: outcome.body)))
        if outcome.replayed { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return response
    }

    /// One version of a document, for those who may read the case; the read is audited.
    func caseDocument(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let reader =
            isResident(identity)
            ? nil : (identity.actor.auditName, request.query.get("purpose"), origin(identity, request, context).source)
        guard let file = try await CaseAccess.documentFile(found, documentID: context.parameters.get("document"), stores: stores, reader: reader)
        else { throw Problem.notFound("document") }
        return file
    }

    func addCaseNote(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["body", "visibility"])
        guard case .string(let text)? = body["body"] else {
            throw Problem(.badRequest, code: "invalid_field", detail: "body must be text.", field: "body")
        }
        var visibility = CaseEvent.Visibility.internal
        switch body["visibility"] {
        case nil: visibility = isResident(identity) ? .applicant : .internal
        case .string(let raw)?:
            guard let parsed = CaseEvent.Visibility(rawValue: raw) else {
                throw Problem(.badRequest, code: "invalid_field", detail: "visibility is internal or applicant.", field: "visibility")
            }
            visibility = parsed
        default: throw Problem(.badRequest, code: "invalid_field", detail: "visibility is internal or applicant.", field: "visibility")
        }
        try requireCaseWrite(identity, found)
        try await stores.cases.addNote(found.id, body: text, visibility: visibility, by: try caller(identity), jurisdictionID: found.jurisdictionID)
        return json(["case_id": found.id, "visibility": isResident(identity) ? "applicant" : visibility.rawValue], status: .created)
    }

    /// A task on the case, for a staff member (their id) or the applicant, with an optional due time.
    func addCaseTask(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["title", "assignee", "due"])
        guard case .string(let title)? = body["title"] else {
            throw Problem(.badRequest, code: "invalid_field", detail: "title must be text.", field: "title")
        }
        var assignee = "applicant"
        switch body["assignee"] {
        case nil: break
        case .string(let text)? where text == "applicant": assignee = text
        case .integer(let id)?:
            guard let user = try await stores.users.find(id: id), user.kind == .staff, user.jurisdictionID == found.jurisdictionID else {
                throw Problem(.badRequest, code: "assignee_unknown", detail: "There is no staff member \(id).", field: "assignee")
            }
            assignee = String(id)
        default: throw Problem(.badRequest, code: "invalid_field", detail: "assignee is \"applicant\" or a staff member's id.", field: "assignee")
        }
        var due: Date?
        switch body["due"] {
        case nil: break
        case .string(let text)?:
            guard let date = W3CDateTime.parse(text, defaultZone: configuration.jurisdiction.timeZone) else {
                throw Problem(.badRequest, code: "invalid_field", detail: "due must be a date and time like 2026-11-30T17:00:00-05:00.", field: "due")
            }
            due = date
        default: throw Problem(.badRequest, code: "invalid_field", detail: "due must be a date and time.", field: "due")
        }
        guard !isResident(identity) else { throw Problem.forbidden("applicants do not set tasks") }
        try requireCaseWrite(identity, found)
        let id = try await stores.cases.addTask(
            found.id, title: title, assignee: assignee, due: due, by: try caller(identity), jurisdictionID: found.jurisdictionID)
        return json(["id": id, "title": title, "assignee": assignee, "due_at": due.map(rfc3339) ?? NSNull()], status: .created)
    }

    func completeCaseTask(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        guard let task = context.parameters.get("task").flatMap(Int64.init), task >= 1 else {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "The task id must be a positive whole number.", field: "task")
        }
        guard !isResident(identity) else { throw Problem.forbidden("applicants complete their tasks by doing them (uploading what is asked)") }
        try requireCaseWrite(identity, found)
        try await stores.cases.completeTask(task, caseID: found.id, by: try caller(identity), jurisdictionID: found.jurisdictionID)
        return Response(status: .noContent)
    }

    /// What makes two requests under one Idempotency-Key the same: their JSON, whatever the order of its keys or its
    /// spacing (a client that retries may serialise the same object afresh).
    static func fingerprint(_ body: [String: JSONValue]) -> String {
        SHA256.hash(data: Data(JSONValue.object(body).jsonText.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    func partyObject(_ party: CaseParty) -> [String: Any] {
        ["id": party.id, "role": party.role, "name": party.name, "email": party.email ?? NSNull()]
    }

    /// Someone else on the case (a household member, an authorised representative, a lender); the applicant sees it.
    func addCaseParty(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["role", "name", "email"])
        var text: [String: String] = [:]
        for field in ["role", "name", "email"] {
            switch body[field] {
            case .string(let value)?: text[field] = value
            case nil where field == "email": break
            default: throw Problem(.badRequest, code: "invalid_field", detail: "\(field) must be text.", field: field)
            }
        }
        try requireCaseWrite(identity, found)
        let party = try await stores.cases.addParty(
            found.id, role: text["role"] ?? "", name: text["name"] ?? "", email: text["email"], by: try caller(identity),
            jurisdictionID: found.jurisdictionID)
        return json(partyObject(party), status: .created)
    }

    func removeCaseParty(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        guard let party = context.parameters.get("party").flatMap(Int64.init), party >= 1 else {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "The party id must be a positive whole number.", field: "party")
        }
        try requireCaseWrite(identity, found)
        try await stores.cases.removeParty(party, caseID: found.id, by: try caller(identity), jurisdictionID: found.jurisdictionID)
        return Response(status: .noContent)
    }
}
