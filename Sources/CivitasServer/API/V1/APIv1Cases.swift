import CivitasCore
import CivitasStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Who someone is to a case's workflow, from who they are to Civitas.
enum CaseAccess {
    static func caller(_ actor: Actor) -> CaseCaller? {
        switch actor {
        case .anonymous: nil
        case .resident(let id, _): CaseCaller(actor: .applicant, name: actor.auditName, userID: id)
        case .staff(let id, _, let role, _, _): CaseCaller(actor: .role(role.rawValue), name: actor.auditName, userID: id)
        case .partner: CaseCaller(actor: .partner, name: actor.auditName)
        }
    }

    static func target(_ found: CaseRecord) -> PermissionTarget {
        .record(jurisdictionID: found.jurisdictionID, department: found.department, residentID: found.applicantID)
    }

    /// One version of a case's document as a download, or nil when the case has no such document. A read by staff
    /// or a partner (`reader`) is written to the audit chain first, with the document's type.
    static func documentFile(
        _ found: CaseRecord, documentID: String?, stores: Stores, reader: (actor: String, purpose: String?, source: String?)?
    ) async throws -> Response? {
        guard let documentID = documentID.flatMap(Int64.init),
            let document = try await stores.cases.documents(of: found.id).first(where: { $0.id == documentID }),
            let media = try await stores.media.find(id: document.mediaID)
        else { return nil }
        if let reader {
            try await stores.audit.append(
                AuditEvent(
                    actor: reader.actor, action: "case.read_document", subject: "case:\(found.id)", person: found.applicantID.map { "user:\($0)" },
                    fields: [document.type], purpose: reader.purpose, source: reader.source),
                jurisdictionID: found.jurisdictionID)
        }
        let suffix = media.contentType == "application/pdf" ? "pdf" : media.contentType == "image/png" ? "png" : "jpg"
        return Response(
            status: .ok,
            headers: [
                .contentType: media.contentType, .cacheControl: "private, no-store",
                .contentDisposition: "attachment; filename=\"\(document.type)-v\(document.version).\(suffix)\"",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: media.bytes)))
    }

    static func departments(_ actor: Actor) -> [String] {
        switch actor {
        case .staff(_, _, _, let departments, _), .partner(_, _, _, let departments):
            if case .only(let names) = departments { return names.sorted() }
            return ["*"]
        default: return []
        }
    }
}

/// `/api/v1` for cases: types, cases and their steps, documents, notes, queues, and partners' webhooks.
extension APIv1Controller {
    func addCaseRoutes(to api: RouterGroup<CivitasRequestContext>) {
        api.get("case-types", use: caseTypes)
        api.get("case-types/:key", use: caseType)
        api.get("cases", use: listCases)
        api.post("cases", use: createCase)
        api.get("cases/:id", use: showCase)
        api.patch("cases/:id", use: updateCase)
        api.post("cases/:id/transitions", use: transitionCase)
        api.post("cases/:id/documents", use: addCaseDocument)
        api.get("cases/:id/documents/:document", use: caseDocument)
        api.post("cases/:id/notes", use: addCaseNote)
        api.post("cases/:id/tasks", use: addCaseTask)
        api.post("cases/:id/tasks/:task/done", use: completeCaseTask)
        api.post("cases/:id/parties", use: addCaseParty)
        api.delete("cases/:id/parties/:party", use: removeCaseParty)
        api.post("case-queues/pull", use: pullCase)
        api.get("case-queues", use: queueHealth)
        api.post("cases/assign", use: assignCases)
        api.get("webhooks", use: listWebhooks)
        api.post("webhooks", use: createWebhook)
        api.delete("webhooks/:id", use: deleteWebhook)
        api.get("webhooks/deliveries", use: webhookDeliveries)
    }

    // MARK: helpers

    func caseID(_ context: CivitasRequestContext) throws -> Int64 {
        guard let id = context.parameters.get("id").flatMap(Int64.init), id >= 1 else {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "The case id must be a positive whole number.", field: "id")
        }
        return id
    }

    /// The case named in the path, if the caller may read it; otherwise 404.
    func readableCase(_ context: CivitasRequestContext, identity: Identity) async throws -> CaseRecord {
        let id = try caseID(context)
        guard let jurisdiction = identity.actor.jurisdictionID, let found = try await stores.cases.find(id: id, jurisdictionID: jurisdiction),
            Permissions.decide(identity.actor, .readCases, on: CaseAccess.target(found)).allowed
        else { throw Problem.notFound("case \(id)") }
        return found
    }

    func caller(_ identity: Identity) throws -> CaseCaller {
        guard let caller = CaseAccess.caller(identity.actor) else { throw Problem.unauthenticated(nil) }
        return caller
    }

    /// Applicants act on their own cases; staff and partners need `cases.work` (scope `cases:write`) on it.
    func requireCaseWrite(_ identity: Identity, _ found: CaseRecord) throws {
        if case .resident = identity.actor { return }  // readable means it is theirs
        try require(identity, .workCases, on: CaseAccess.target(found))
    }

    func typeObject(_ type: CaseType) -> [String: Any] {
        [
            "key": type.key, "name": type.name, "description": type.description, "department": type.department, "version": type.version,
            "fields": type.fields.map { field -> [String: Any] in
                var object: [String: Any] = ["key": field.key, "label": field.label, "type": field.type.rawValue, "required": field.required]
                if let hint = field.hint { object["hint"] = hint }
                if let when = field.when { object["when"] = when.source }
                if !field.choices.isEmpty { object["choices"] = field.choices.map { ["key": $0.key, "label": $0.label] } }
                return object
            },
            "documents": type.documents.map { ["key": $0.key, "label": $0.label, "types": $0.contentTypes, "max_bytes": $0.maximumBytes] },
            "states": type.states.map { state -> [String: Any] in
                ["key": state.key, "label": state.label, "final": state.final, "waiting_on_applicant": state.waitingOnApplicant,
                 "sla": state.serviceLevel.map(\.description) ?? NSNull()]
            },
            "transitions": type.transitions.map { transition -> [String: Any] in
                ["key": transition.key, "label": transition.label, "from": transition.from, "to": transition.to,
                 "by": transition.by.map(\.name).sorted(), "reason_required": transition.reasonRequired,
                 "asks_for_documents": transition.asksForDocuments]
            },
            "rules": type.rules.map { ["id": $0.id, "version": $0.version, "label": $0.label, "when": $0.condition.source] },
        ]
    }

    func caseObject(_ found: CaseRecord, type: CaseType?, full: Bool, staffView: Bool) async throws -> [String: Any] {
        var object: [String: Any] = [
            "id": found.id, "type": found.typeKey, "type_version": found.typeVersion, "department": found.department, "state": found.state, "language": found.language.rawValue,
            "state_label": type?.state(found.state)?.label ?? found.state, "queue": found.queue,
            "assignee_id": found.assigneeID ?? NSNull(), "created_at": rfc3339(found.createdAt), "updated_at": rfc3339(found.updatedAt),
            "submitted_at": found.submittedAt.map(rfc3339) ?? NSNull(), "due_at": found.dueAt.map(rfc3339) ?? NSNull(),
            "closed_at": found.closedAt.map(rfc3339) ?? NSNull(),
        ]
        guard full else { return object }
        object["data"] = JSONValue.object(found.data).foundation
        object["documents"] = try await stores.cases.documents(of: found.id).map { document -> [String: Any] in
            ["id": document.id, "type": document.type, "version": document.version, "filename": document.filename,
             "content_type": document.contentType, "size": document.size, "uploaded_at": rfc3339(document.at)]
        }
        object["tasks"] = try await stores.cases.tasks(of: found.id).filter { staffView || $0.assignee == "applicant" }.map { task -> [String: Any] in
            ["id": task.id, "title": task.title, "assignee": task.assignee, "document_type": task.documentType ?? NSNull(),
             "due_at": task.dueAt.map(rfc3339) ?? NSNull(), "done_at": task.doneAt.map(rfc3339) ?? NSNull()]
        }
        object["decisions"] = try await stores.cases.decisions(of: found.id).map { decision -> [String: Any] in
            ["rule": decision.ruleID, "rule_version": decision.ruleVersion, "passed": decision.passed, "values": decision.input,
             "explanation": decision.explanation, "decided_at": rfc3339(decision.at)]
        }
        object["timeline"] = try await stores.cases.events(of: found.id, includeInternal: staffView).map { event -> [String: Any] in
            ["kind": event.kind, "actor": event.actor, "visibility": event.visibility.rawValue, "from": event.fromState ?? NSNull(),
             "to": event.toState ?? NSNull(), "transition": event.transition ?? NSNull(), "body": event.body ?? NSNull(), "at": rfc3339(event.at)]
        }
        object["parties"] = try await stores.cases.parties(of: found.id).map(partyObject)
        if let type {
            object["next_steps"] = type.transitions(from: found.state).map { ["key": $0.key, "label": $0.label, "by": $0.by.map(\.name).sorted()] }
        }
        return object
    }

    /// A read of a case's answers by staff or a partner, in the audit chain with its purpose.
    func auditCaseRead(_ found: CaseRecord, type: CaseType?, identity: Identity, request: Request, context: CivitasRequestContext) async throws {
        if case .resident = identity.actor { return }
        let personal = found.data.keys.filter { type?.field($0)?.personal ?? true }.sorted()
        let purpose = request.uri.queryParameters.get("purpose") ?? request.headers[.civitasPurpose]
        if let purpose, purpose.count > 200 {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "purpose has at most 200 characters.", field: "purpose")
        }
        try await stores.audit.append(
            AuditEvent(
                actor: identity.actor.auditName, action: "case.read_personal", subject: "case:\(found.id)", person: found.applicantID.map { "user:\($0)" },
                fields: personal, purpose: purpose, source: origin(identity, request, context).source),
            jurisdictionID: found.jurisdictionID)
    }

    func dataObject(_ value: JSONValue?) throws -> [String: JSONValue] {
        switch value {
        case nil: return [:]
        case .object(let object)?: return object
        default: throw Problem(.badRequest, code: "invalid_field", detail: "data must be an object of answers by question key.", field: "data")
        }
    }

    // MARK: types

    func caseTypes(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        try require(identity, .readCases, on: .jurisdiction(jurisdiction))
        let language = try Self.language(request)
        let types = try await stores.cases.types(jurisdictionID: jurisdiction).map { $0.localized(language) }
        return json(["items": types.map { ["key": $0.key, "name": $0.name, "description": $0.description, "department": $0.department, "version": $0.version] }])
    }

    func caseType(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        try require(identity, .readCases, on: .jurisdiction(jurisdiction))
        guard let key = context.parameters.get("key"), let type = try await stores.cases.type(key, jurisdictionID: jurisdiction) else {
            throw Problem.notFound("case type")
        }
        return json(typeObject(type.localized(try Self.language(request))))
    }

    /// `lang` asks for a case type's texts in that language (its translation where it has one; English otherwise),
    /// for partners who show the questions themselves: a chatbot, a kiosk, an app.
    static func language(_ request: Request) throws -> Language {
        guard let code = request.uri.queryParameters.get("lang") else { return .english }
        return try language(code, field: "lang", code: "invalid_parameter")
    }

    /// A language Civitas speaks, by its code; anything else is refused naming `field`.
    static func language(_ text: String?, field: String, code: String) throws -> Language {
        guard let language = text.flatMap(Language.init(rawValue:)) else {
            throw Problem(.badRequest, code: code, detail: "\(field) is one of \(Language.allCases.map(\.rawValue).joined(separator: ", ")).", field: field)
        }
        return language
    }

    // MARK: cases

    func listCases(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        try require(identity, .readCases, on: .jurisdiction(jurisdiction))
        var query = CaseStore.Query(jurisdictionID: jurisdiction)
        let parameters = Self.query(request)
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
            guard let id = Int64(text) else { throw Problem(.badRequest, code: "invalid_parameter", detail: "assignee_id must be a number.", field: "assignee_id") }
            query.assigneeID = id
        }
        if let text = parameters["open"] {
            guard ["true", "false"].contains(text) else { throw Problem(.badRequest, code: "invalid_parameter", detail: "open is true or false.", field: "open") }
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
        let buffer = try await request.body.collect(upTo: 1_000_000)
        let body = try await jsonBody(request: request, buffer: buffer)
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
                    throw Problem(.badRequest, code: "invalid_field", detail: "Each party has a role and a name, as text.", field: "parties[\(index)]")
                }
                if let unknown = party.keys.sorted().first(where: { !["role", "name", "email"].contains($0) }) {
                    throw Problem(.badRequest, code: "unknown_field", detail: "A party has a role, a name and an email only.", field: "parties[\(index)].\(unknown)")
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
            jurisdictionID: jurisdiction, department: type.department, residentID: { if case .resident(let id, _) = identity.actor { return id }; return nil }())
        try require(identity, .createCase, on: target)
        let caller = try caller(identity)
        let applicant: Int64? = { if case .resident(let id, _) = identity.actor { return id }; return nil }()
        let stores = self.stores
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else {
            let created = try await stores.cases.create(
                typeKey: typeKey, data: data, by: caller, applicantID: applicant, parties: parties, submit: submit, language: language,
                jurisdictionID: jurisdiction)
            return json(try await caseObject(created, type: type, full: true, staffView: true), status: .created)
        }
        let fingerprint = Self.fingerprint(body)
        let (partiesToAdd, submitNow, languageOfMail) = (parties, submit, language)
        let outcome = try await stores.cases.idempotent(caller: identity.actor.auditName, key: key, fingerprint: fingerprint, jurisdictionID: jurisdiction) { sql in
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

    func jsonBody(request: Request, buffer: ByteBuffer) async throws -> [String: JSONValue] {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw Problem(.unsupportedMediaType, code: "unsupported_media_type", detail: "Send the body as application/json.")
        }
        guard case .object(let object)? = try? JSONValue.parse(Data(buffer.readableBytesView)) else {
            throw Problem(.badRequest, code: "invalid_json", detail: "The body must be a JSON object.")
        }
        return object
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
    func addCaseDocument(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let buffer = try await request.body.collect(upTo: 36_000_000)
        let body = try await jsonBody(request: request, buffer: buffer)
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
                found.id, type: documentType, filename: filename, contentType: "", bytes: [UInt8](bytes), by: caller, jurisdictionID: found.jurisdictionID)
        }
        @Sendable func object(_ document: CaseDocument) -> [String: Any] {
            ["id": document.id, "type": document.type, "version": document.version, "filename": document.filename,
             "content_type": document.contentType, "size": document.size, "uploaded_at": rfc3339(document.at)]
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
            status: .created, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: ResponseBody(byteBuffer: ByteBuffer(string: outcome.body)))
        if outcome.replayed { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return response
    }

    /// One version of a document, for those who may read the case; the read is audited.
    func caseDocument(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let reader = isResident(identity)
            ? nil : (identity.actor.auditName, request.uri.queryParameters.get("purpose"), origin(identity, request, context).source)
        guard let file = try await CaseAccess.documentFile(found, documentID: context.parameters.get("document"), stores: stores, reader: reader)
        else { throw Problem.notFound("document") }
        return file
    }

    func addCaseNote(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readableCase(context, identity: identity)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["body", "visibility"])
        guard case .string(let text)? = body["body"] else { throw Problem(.badRequest, code: "invalid_field", detail: "body must be text.", field: "body") }
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
        guard case .string(let title)? = body["title"] else { throw Problem(.badRequest, code: "invalid_field", detail: "title must be text.", field: "title") }
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
        let id = try await stores.cases.addTask(found.id, title: title, assignee: assignee, due: due, by: try caller(identity), jurisdictionID: found.jurisdictionID)
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
            found.id, role: text["role"] ?? "", name: text["name"] ?? "", email: text["email"], by: try caller(identity), jurisdictionID: found.jurisdictionID)
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

    // MARK: queues

    func pullCase(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["queue"])
        var queue: String?
        switch body["queue"] {
        case nil: break
        case .string(let name)?: queue = name
        default: throw Problem(.badRequest, code: "invalid_field", detail: "queue must be a queue's name.", field: "queue")
        }
        try require(identity, .workCases, on: .jurisdiction(jurisdiction))
        guard case .staff(let userID, _, _, _, _) = identity.actor else { throw Problem.forbidden("only staff pull cases from queues") }
        let skills = try await stores.cases.skills(userID: userID)
        guard
            let pulled = try await stores.cases.pull(
                userID: userID, departments: CaseAccess.departments(identity.actor), skills: skills, queue: queue, jurisdictionID: jurisdiction)
        else { return Response(status: .noContent) }
        let type = try await stores.cases.type(pulled.typeKey, version: pulled.typeVersion, jurisdictionID: jurisdiction)
        return json(try await caseObject(pulled, type: type, full: false, staffView: true))
    }

    func queueHealth(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        try require(identity, .superviseCases, on: .jurisdiction(jurisdiction))
        guard case .staff = identity.actor else { throw Problem.forbidden("queues are supervised by staff, not partner systems") }
        let health = try await stores.cases.health(departments: CaseAccess.departments(identity.actor), jurisdictionID: jurisdiction)
        return json([
            "items": health.map { queue -> [String: Any] in
                ["name": queue.name, "department": queue.department, "skills": queue.skills, "waiting": queue.waiting, "unassigned": queue.unassigned,
                 "oldest": queue.oldest.map(rfc3339) ?? NSNull(), "at_risk": queue.atRisk, "overdue": queue.overdue]
            }
        ])
    }

    func assignCases(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["ids", "assignee_id"])
        guard case .array(let items)? = body["ids"], !items.isEmpty, items.count <= 1000 else {
            throw Problem(.badRequest, code: "invalid_field", detail: "ids lists 1 to 1000 case ids.", field: "ids")
        }
        let ids = try items.map { item -> Int64 in
            guard case .integer(let id) = item else { throw Problem(.badRequest, code: "invalid_field", detail: "ids lists case ids.", field: "ids") }
            return id
        }
        var assignee: Int64?
        switch body["assignee_id"] {
        case .null?: assignee = nil
        case .integer(let id)?: assignee = id
        default: throw Problem(.badRequest, code: "invalid_field", detail: "assignee_id is a staff member's id, or null to return the cases to their queue.", field: "assignee_id")
        }
        try require(identity, .superviseCases, on: .jurisdiction(jurisdiction))
        guard case .staff = identity.actor else { throw Problem.forbidden("cases are reassigned by staff, not partner systems") }
        for id in ids {
            guard let found = try await stores.cases.find(id: id, jurisdictionID: jurisdiction),
                Permissions.decide(identity.actor, .superviseCases, on: CaseAccess.target(found)).allowed
            else { throw Problem.notFound("case \(id)") }
        }
        if let assignee {
            guard let user = try await stores.users.find(id: assignee), user.kind == .staff, user.jurisdictionID == jurisdiction else {
                throw Problem(.badRequest, code: "assignee_unknown", detail: "There is no staff member \(assignee).", field: "assignee_id")
            }
        }
        try await stores.cases.assign(ids, to: assignee, by: try caller(identity), jurisdictionID: jurisdiction)
        return json(["assigned": ids.count, "assignee_id": assignee.map { $0 as Any } ?? NSNull()])
    }

    // MARK: webhooks

    func partnerClient(_ identity: Identity) throws -> (String, [String]) {
        guard case .partner(let client, _, let scopes, _) = identity.actor else { throw Problem.forbidden("webhooks are for partner systems") }
        guard scopes.contains(.casesRead) else { throw Problem.forbidden("the token lacks the cases:read scope") }
        return (client, CaseAccess.departments(identity.actor))
    }

    func listWebhooks(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let (client, _) = try partnerClient(identity)
        let hooks = try await stores.cases.webhooks(clientID: client, jurisdictionID: identity.actor.jurisdictionID ?? "")
        return json(["items": hooks.map { ["id": $0.id, "url": $0.url, "events": $0.events, "active": $0.active] }])
    }

    /// Subscribes the calling partner to case events. The secret is shown once: deliveries carry
    /// `Civitas-Signature: t=UNIX,v1=HEX` where HEX is HMAC-SHA256 of "UNIX.BODY" with it.
    func createWebhook(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["url", "events"])
        guard case .string(let url)? = body["url"] else { throw Problem(.badRequest, code: "invalid_field", detail: "url is required.", field: "url") }
        var events: [String] = []
        switch body["events"] {
        case nil: break
        case .array(let items)?:
            events = try items.map { item in
                guard case .string(let name) = item else { throw Problem(.badRequest, code: "invalid_field", detail: "events lists event types.", field: "events") }
                return name
            }
        default: throw Problem(.badRequest, code: "invalid_field", detail: "events lists event types.", field: "events")
        }
        let (client, departments) = try partnerClient(identity)
        let (hook, secret) = try await stores.cases.subscribe(
            clientID: client, url: url, events: events, departments: departments, jurisdictionID: identity.actor.jurisdictionID ?? "",
            allowPrivate: configuration.webhookAllowPrivate)
        return json(["id": hook.id, "url": hook.url, "events": hook.events, "active": true, "secret": secret], status: .created)
    }

    func deleteWebhook(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        guard let id = context.parameters.get("id").flatMap(Int64.init), id >= 1 else {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "The webhook id must be a positive whole number.", field: "id")
        }
        let (client, _) = try partnerClient(identity)
        try await stores.cases.unsubscribe(id, clientID: client, jurisdictionID: identity.actor.jurisdictionID ?? "")
        return Response(status: .noContent)
    }

    func webhookDeliveries(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let (client, _) = try partnerClient(identity)
        let log = try await stores.cases.deliveries(clientID: client, jurisdictionID: identity.actor.jurisdictionID ?? "")
        return json([
            "items": log.map { delivery -> [String: Any] in
                ["id": delivery.id, "webhook_id": delivery.webhookID, "event_id": delivery.eventID, "event_type": delivery.eventType,
                 "attempts": delivery.attempts, "delivered_at": delivery.deliveredAt.map(rfc3339) ?? NSNull(),
                 "last_status": delivery.lastStatus ?? NSNull(), "last_error": delivery.lastError ?? NSNull(),
                 "next_attempt_at": rfc3339(delivery.nextAttemptAt)]
            }
        ])
    }
}
