import CivitasCore
import CivitasStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Who someone is to a case's workflow, from who they are to Civitas.

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
                [
                    "key": state.key, "label": state.label, "final": state.final, "waiting_on_applicant": state.waitingOnApplicant,
                    "sla": state.serviceLevel.map(\.description) ?? NSNull(),
                ]
            },
            "transitions": type.transitions.map { transition -> [String: Any] in
                [
                    "key": transition.key, "label": transition.label, "from": transition.from, "to": transition.to,
                    "by": transition.by.map(\.name).sorted(), "reason_required": transition.reasonRequired,
                    "asks_for_documents": transition.asksForDocuments,
                ]
            },
            "rules": type.rules.map { ["id": $0.id, "version": $0.version, "label": $0.label, "when": $0.condition.source] },
        ]
    }

    func caseObject(_ found: CaseRecord, type: CaseType?, full: Bool, staffView: Bool) async throws -> [String: Any] {
        var object: [String: Any] = [
            "id": found.id, "type": found.typeKey, "type_version": found.typeVersion, "department": found.department, "state": found.state,
            "language": found.language.rawValue,
            "state_label": type?.state(found.state)?.label ?? found.state, "queue": found.queue,
            "assignee_id": found.assigneeID ?? NSNull(), "created_at": rfc3339(found.createdAt), "updated_at": rfc3339(found.updatedAt),
            "submitted_at": found.submittedAt.map(rfc3339) ?? NSNull(), "due_at": found.dueAt.map(rfc3339) ?? NSNull(),
            "closed_at": found.closedAt.map(rfc3339) ?? NSNull(),
        ]
        guard full else { return object }
        object["data"] = JSONValue.object(found.data).foundation
        object["documents"] = try await stores.cases.documents(of: found.id).map { document -> [String: Any] in
            [
                "id": document.id, "type": document.type, "version": document.version, "filename": document.filename,
                "content_type": document.contentType, "size": document.size, "uploaded_at": rfc3339(document.at),
            ]
        }
        object["tasks"] = try await stores.cases.tasks(of: found.id).filter { staffView || $0.assignee == "applicant" }.map { task -> [String: Any] in
            [
                "id": task.id, "title": task.title, "assignee": task.assignee, "document_type": task.documentType ?? NSNull(),
                "due_at": task.dueAt.map(rfc3339) ?? NSNull(), "done_at": task.doneAt.map(rfc3339) ?? NSNull(),
            ]
        }
        object["decisions"] = try await stores.cases.decisions(of: found.id).map { decision -> [String: Any] in
            [
                "rule": decision.ruleID, "rule_version": decision.ruleVersion, "passed": decision.passed, "values": decision.input,
                "explanation": decision.explanation, "decided_at": rfc3339(decision.at),
            ]
        }
        object["timeline"] = try await stores.cases.events(of: found.id, includeInternal: staffView).map { event -> [String: Any] in
            [
                "kind": event.kind, "actor": event.actor, "visibility": event.visibility.rawValue, "from": event.fromState ?? NSNull(),
                "to": event.toState ?? NSNull(), "transition": event.transition ?? NSNull(), "body": event.body ?? NSNull(), "at": rfc3339(event.at),
            ]
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
        let purpose = request.query.get("purpose") ?? request.headers[.civitasPurpose]
        if let purpose, purpose.count > 200 {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "purpose has at most 200 characters.", field: "purpose")
        }
        try await stores.audit.append(
            AuditEvent(
                actor: identity.actor.auditName, action: "case.read_personal", subject: "case:\(found.id)",
                person: found.applicantID.map { "user:\($0)" },
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
        return json([
            "items": types.map {
                ["key": $0.key, "name": $0.name, "description": $0.description, "department": $0.department, "version": $0.version]
            }
        ])
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
        guard let code = request.query.get("lang") else { return .english }
        return try language(code, field: "lang", code: "invalid_parameter")
    }

    /// A language Civitas speaks, by its code; anything else is refused naming `field`.
    static func language(_ text: String?, field: String, code: String) throws -> Language {
        guard let language = text.flatMap(Language.init(rawValue:)) else {
            throw Problem(
                .badRequest, code: code, detail: "\(field) is one of \(Language.allCases.map(\.rawValue).joined(separator: ", ")).", field: field)
        }
        return language
    }
}
