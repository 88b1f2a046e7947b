import CivitasCore
import CivitasStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1/cases`: listing, opening, reading and changing cases, and taking their steps.
extension APIv1Controller {
    func listCases(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        try require(identity, .readCases, on: .jurisdiction(jurisdiction))
        var query = CaseStore.Query(jurisdictionID: jurisdiction)
        let parameters = try Self.query(request)
        switch identity.actor {
        case .resident(let id, _): query.applicantID = id
        default: query.departments = CaseAccess.departments(identity.actor)
        }
        for name in parameters.keys where !["state", "queue", "assignee_id", "open", "limit"].contains(name) {
            throw Problem(
                .badRequest, code: "invalid_parameter",
                detail: "Unknown parameter \u{201C}\(name)\u{201D}; use state, queue, assignee_id, open or limit.", field: name.isEmpty ? nil : name)
        }
        query.state = parameters["state"]
        query.queue = parameters["queue"]
        if let text = parameters["assignee_id"] {
            guard let id = Int64(text) else {
                throw Problem(.badRequest, code: "invalid_parameter", detail: "assignee_id must be a number.", field: "assignee_id")
            }
            query.assigneeID = id
        }
        if let text = parameters["open"] {
            guard ["true", "false"].contains(text) else {
                throw Problem(.badRequest, code: "invalid_parameter", detail: "open is true or false.", field: "open")
            }
            query.openOnly = text == "true"
        }
        if let text = parameters["limit"] {
            guard let limit = Int(text), (1...1000).contains(limit) else {
                throw Problem(.badRequest, code: "invalid_parameter", detail: "limit is 1 to 1000.", field: "limit")
            }
            query.limit = limit
        }
        var items: [[String: Any]] = []
        for found in try await stores.cases.list(query) { items.append(try await caseObject(found, type: nil, full: false, staffView: false)) }
        return json(["items": items])
    }

    /// Opens a case. With an `Idempotency-Key`, sending the same request again returns the first answer and opens
    /// nothing more (a retry after a timeout never makes a second case).
    func createCase(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        // Whoever may create no case at all (a partner without the cases scope) is told so before anything else.
        try require(identity, .createCase, on: .jurisdiction(jurisdiction))
        let buffer = try await body(request, upTo: 1_000_000)
        let body = try jsonObject(request, buffer: buffer)
        try rejectUnknown(body, allowed: ["type", "data", "submit", "parties", "language"])
        guard case .string(let typeKey)? = body["type"] else {
            throw Problem(.badRequest, code: "invalid_field", detail: "type must name a case type.", field: "type")
        }
        let data = try dataObject(body["data"])
        var submit = false
        switch body["submit"] {
        case nil: break
        case .bool(let flag)?: submit = flag
        default: throw Problem(.badRequest, code: "invalid_field", detail: "submit must be true or false.", field: "submit")
        }
        // The language of the mail about the case: as given, else a resident's browser's, else English.
        var language = isResident(identity) ? Language.preferred(request.headers[.acceptLanguage]) : .english
        if let given = body["language"] {
            let text: String? = if case .string(let code) = given { code } else { nil }
            language = try Self.language(text, field: "language", code: "invalid_field")
        }
        var parties: [(role: String, name: String, email: String?)] = []
        switch body["parties"] {
        case nil: break
        case .array(let items)?:
            for (index, item) in items.enumerated() {
                guard case .object(let party) = item, case .string(let role)? = party["role"], case .string(let name)? = party["name"] else {
                    throw Problem(
                        .badRequest, code: "invalid_field", detail: "Each party has a role and a name, as text.", field: "parties[\(index)]")
                }
                if let unknown = party.keys.sorted().first(where: { !["role", "name", "email"].contains($0) }) {
                    throw Problem(
                        .badRequest, code: "unknown_field", detail: "A party has a role, a name and an email only.",
                        field: "parties[\(index)].\(unknown)")
                }
                var email: String?
                switch party["email"] {
                case nil: break
                case .string(let text)?: email = text
                default: throw Problem(.badRequest, code: "invalid_field", detail: "email must be text.", field: "parties[\(index)].email")
                }
                parties.append((role, name, email))
            }
        default: throw Problem(.badRequest, code: "invalid_field", detail: "parties must be a list.", field: "parties")
        }
        guard let type = try await stores.cases.type(typeKey, jurisdictionID: jurisdiction) else {
            throw Problem(.badRequest, code: "case_type_not_found", detail: "There is no case type \(typeKey).", field: "type")
        }
        let target = PermissionTarget.record(
            jurisdictionID: jurisdiction, department: type.department,
            residentID: {
                if case .resident(let id, _) = identity.actor { return id }
                return nil
            }())
        try require(identity, .createCase, on: target)
        let caller = try caller(identity)
        let applicant: Int64? = {
            if case .resident(let id, _) = identity.actor { return id }
            return nil
        }()
        let stores = self.stores
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else {
            let created = try await stores.cases.create(
                typeKey: typeKey, data: data, by: caller, applicantID: applicant, parties: parties, submit: submit, language: language,
                jurisdictionID: jurisdiction)
            return json(try await caseObject(created, type: type, full: true, staffView: true), status: .created)
        }
        let fingerprint = Self.fingerprint(body)
        let (partiesToAdd, submitNow, languageOfMail) = (parties, submit, language)
        let outcome = try await stores.cases.idempotent(
            caller: identity.actor.auditName, key: key, fingerprint: fingerprint, jurisdictionID: jurisdiction
        ) { sql in
            let created = try await stores.cases.create(
                typeKey: typeKey, data: data, by: caller, applicantID: applicant, parties: partiesToAdd, submit: submitNow, language: languageOfMail,
                jurisdictionID: jurisdiction, sql: sql)
            return (201, "{\"id\":\(created.id)}")
        }
        guard case .object(let stored)? = try? JSONValue.parse(Data(outcome.body.utf8)), case .integer(let id)? = stored["id"],
            let created = try await stores.cases.find(id: id, jurisdictionID: jurisdiction)
        else { throw Problem(.internalServerError, code: "idempotency_record_unreadable", detail: "The first answer to this key could not be read.") }
        var response = json(try await caseObject(created, type: type, full: true, staffView: true), status: HTTPResponse.Status(code: outcome.status))
        if outcome.replayed { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return response
    }

    func showCase(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let type = try await stores.cases.type(found.typeKey, version: found.typeVersion, jurisdictionID: found.jurisdictionID)
        try await auditCaseRead(found, type: type, identity: identity, request: request, context: context)
        let staffView = Permissions.decide(identity.actor, .workCases, on: CaseAccess.target(found)).allowed
        return json(try await caseObject(found, type: type, full: true, staffView: staffView))
    }

    func updateCase(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["data"])
        let data = try dataObject(body["data"])
        guard !data.isEmpty else { throw Problem(.badRequest, code: "invalid_field", detail: "data must change at least one answer.", field: "data") }
        try requireCaseWrite(identity, found)
        let updated = try await stores.cases.update(found.id, data: data, by: try caller(identity), jurisdictionID: found.jurisdictionID)
        let type = try await stores.cases.type(found.typeKey, version: found.typeVersion, jurisdictionID: found.jurisdictionID)
        return json(try await caseObject(updated, type: type, full: true, staffView: !isResident(identity)))
    }

    func isResident(_ identity: Identity) -> Bool {
        if case .resident = identity.actor { return true }
        return false
    }

    func transitionCase(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["transition", "reason", "documents"])
        guard case .string(let key)? = body["transition"], !key.isEmpty else {
            throw Problem(.badRequest, code: "invalid_field", detail: "transition must name a step of the case's workflow.", field: "transition")
        }
        var reason: String?
        switch body["reason"] {
        case nil: break
        case .string(let text)?: reason = text
        default: throw Problem(.badRequest, code: "invalid_field", detail: "reason must be text.", field: "reason")
        }
        var documents: [String] = []
        switch body["documents"] {
        case nil: break
        case .array(let items)?:
            for item in items {
                guard case .string(let name) = item else {
                    throw Problem(.badRequest, code: "invalid_field", detail: "documents lists document keys.", field: "documents")
                }
                documents.append(name)
            }
        default: throw Problem(.badRequest, code: "invalid_field", detail: "documents lists document keys.", field: "documents")
        }
        try requireCaseWrite(identity, found)
        let moved = try await stores.cases.transition(
            found.id, key, by: try caller(identity), reason: reason, documents: documents, jurisdictionID: found.jurisdictionID)
        let type = try await stores.cases.type(found.typeKey, version: found.typeVersion, jurisdictionID: found.jurisdictionID)
        return json(try await caseObject(moved, type: type, full: true, staffView: !isResident(identity)))
    }

    /// Uploads a document as base64 JSON (`{"type", "filename", "content_base64"}`); with an `Idempotency-Key`, a
    /// retried upload adds no second version.
}
