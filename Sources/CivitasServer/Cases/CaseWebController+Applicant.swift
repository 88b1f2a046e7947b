import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The resident's side: applying question by question, checking answers, and following an application.
extension CaseWebController {
    /// The signed-in resident; anyone else is sent to sign in.
    func resident(_ request: Request) async throws -> (Identity, Int64)? {
        guard let identity = try await web.pageIdentity(request), case .resident(let id, _) = identity.actor else { return nil }
        return (identity, id)
    }

    /// The resident's own case and its type, or 404.
    func ownCase(_ request: Request, _ context: CivitasRequestContext, userID: Int64) async throws -> (CaseRecord, CaseType) {
        guard let id = context.parameters.get("id").flatMap(Int64.init),
            let found = try await stores.cases.find(id: id, jurisdictionID: jurisdiction),
            found.applicantID == userID,
            let type = try await stores.cases.type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdiction)
        else { throw failure(request, .notFound, "cases_not_found") }
        return (found, type.localized(Catalog.language(of: request)))
    }

    func catalogPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await web.pageIdentity(request)
        // Types for the agency's own staff (an HR request) are not offered on the public site.
        let types = try await stores.cases.types(jurisdictionID: jurisdiction).filter { $0.audience == .public }
            .map { $0.localized(Catalog.language(of: request)) }
        return web.page(
            "cases/cases", title: t(request, "cases_title"), request: request, identity: identity,
            values: [
                "types": types.map { ["key": $0.key, "name": $0.name, "description": $0.description, "department": $0.department] },
                "none": types.isEmpty,
            ])
    }

    /// The start page of one kind of application: who can apply, how long it takes, what may be asked for, and the
    /// way in (start now, or sign in first and come back here).
    func startPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await web.pageIdentity(request)
        guard let key = context.parameters.get("type"), let stored = try await stores.cases.type(key, jurisdictionID: jurisdiction),
            stored.audience == .public
        else { throw failure(request, .notFound, "cases_not_found") }
        let type = stored.localized(Catalog.language(of: request))
        let resident: Bool
        if case .resident? = identity?.actor { resident = true } else { resident = false }
        return web.page(
            "cases/start", title: type.name, request: request, identity: identity,
            values: [
                "key": type.key, "name": type.name, "description": type.description, "who": type.whoCanApply, "time": type.timeNeeded,
                "documents": type.documents.map(\.label), "hasDocuments": !type.documents.isEmpty, "questions": String(type.fields.count),
                "department": type.department, "canStart": resident, "next": Web.formEncode("/cases/\(type.key)"),
            ])
    }

    func start(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.signInFirst(request) }
        let form = try await web.checkedForm(request, session: identity.session)
        guard let key = context.parameters.get("type"), let type = try await stores.cases.type(key, jurisdictionID: jurisdiction),
            type.audience == .public
        else {
            throw failure(request, .notFound, "cases_not_found")
        }
        let created = try await stores.cases.create(
            typeKey: type.key, data: [:], by: CaseCaller(actor: .applicant, name: identity.actor.auditName, userID: userID), applicantID: userID,
            language: Catalog.language(of: request), jurisdictionID: jurisdiction)
        return web.redirect("/my/cases/\(created.id)/questions/\(type.fields[0].key)")
    }

    func myCases(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.signInFirst(request) }
        var query = CaseStore.Query(jurisdictionID: jurisdiction)
        query.applicantID = userID
        var items: [[String: Any]] = []
        for found in try await stores.cases.list(query) {
            guard
                let type = try await stores.cases.type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdiction)?
                    .localized(Catalog.language(of: request))
            else { continue }
            let needed = try await stores.cases.tasks(of: found.id).filter { $0.assignee == "applicant" && $0.doneAt == nil }
            items.append([
                "id": found.id, "name": type.name, "status": type.state(found.state)?.applicantText ?? found.state,
                "draft": found.state == type.initialState.key,
                "needed": needed.map { ["title": type.taskTitle($0.title, documentType: $0.documentType), "due": date($0.dueAt, request)] },
                "hasNeeded": !needed.isEmpty, "updated": date(found.updatedAt, request),
            ])
        }
        return web.page(
            "cases/my-cases", title: t(request, "my_cases_title"), request: request, identity: identity,
            values: ["items": items, "none": items.isEmpty])
    }

    func myCase(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.signInFirst(request) }
        let (found, type) = try await ownCase(request, context, userID: userID)
        return try await caseView(request, identity: identity, found: found, type: type)
    }

    func caseView(
        _ request: Request, identity: Identity, found: CaseRecord, type: CaseType, errors: [FieldError] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let state = type.state(found.state)
        let tasks = try await stores.cases.tasks(of: found.id).filter { $0.assignee == "applicant" }
        let documents = try await stores.cases.documents(of: found.id)
        let open = tasks.filter { $0.doneAt == nil }
        let requested = Set(open.compactMap(\.documentType))
        let isDraft = found.state == type.initialState.key
        // The steps the applicant may take now (other than sending a draft, which the check page does).
        let steps = type.transitions(from: found.state).filter { $0.by.contains(.applicant) && !(isDraft && $0.key == "submit") }
        let decisions = try await stores.cases.decisions(of: found.id).reversed().reduce(into: [[String: Any]]()) { list, decision in
            // The latest decision of each rule, as the applicant reads it.
            if !list.contains(where: { ($0["rule"] as? String) == decision.ruleID }) {
                let text = type.explain(ruleID: decision.ruleID, passed: decision.passed, values: decision.input, kept: decision.explanation)
                list.append(["rule": decision.ruleID, "passed": decision.passed, "text": text, "when": date(decision.at, request)])
            }
        }.reversed().map { $0 }
        let parties = try await stores.cases.parties(of: found.id)
        let events = try await stores.cases.events(of: found.id, includeInternal: false)
        let decided = decided(found, type: type, events: events)
        let reason = reasonForState(found, events: events)
        return web.page(
            "cases/my-case", title: t(request, "my_case_title", ["id": String(found.id), "name": type.name]), request: request, identity: identity,
            values: [
                "id": found.id, "caseID": found.id, "name": type.name, "status": state?.applicantText ?? found.state, "draft": isDraft,
                "closed": found.closedAt != nil,
                "continueURL": continueURL(found, type: type, documents: Set(documents.map(\.type))), "submitted": date(found.submittedAt, request),
                "waiting": state?.waitingOnApplicant == true, "due": state?.waitingOnApplicant == true ? date(found.dueAt, request) : "",
                "needed": open.map { ["title": type.taskTitle($0.title, documentType: $0.documentType), "due": date($0.dueAt, request)] },
                "hasNeeded": !open.isEmpty || state?.waitingOnApplicant == true, "hasTasks": !open.isEmpty,
                "reason": state?.waitingOnApplicant == true ? reason ?? "" : "",
                "decided": decided, "decisionReason": decided ? reason ?? "" : "", "notice": doneNotice(request, type: type) ?? "",
                "decisions": decided ? decisions : [], "hasDecisions": decided && !decisions.isEmpty, "hasSteps": !steps.isEmpty,
                "documents": documents.map {
                    ["id": $0.id, "label": type.document($0.type)?.label ?? $0.type, "version": $0.version, "when": date($0.at, request)]
                },
                "uploadable": type.documents.filter { requested.contains($0.key) || found.closedAt == nil && !isDraft }.map {
                    ["key": $0.key, "label": $0.label, "requested": requested.contains($0.key)]
                },
                "canUpload": found.closedAt == nil && !isDraft && !type.documents.isEmpty,
                "steps": steps.map {
                    let ends = endsApplication($0, type: type)
                    return ["key": $0.key, "label": ends && isDraft ? t(request, "cases_cancel_button") : $0.label, "secondary": ends]
                },
                "timeline": events.reversed().map {
                    [
                        "when": date($0.at, request),
                        "body": type.historyLine(kind: $0.kind, transition: $0.transition, to: $0.toState, kept: $0.body ?? ""),
                        "mine": $0.actor == identity.actor.auditName, "message": $0.kind == "message",
                    ]
                },
                "canMessage": found.closedAt == nil && !isDraft,
                "parties": parties.map { ["name": $0.name, "role": $0.role] }, "hasParties": !parties.isEmpty,
            ],
            status: status, errors: errors)
    }

    /// Where a saved application goes on: the first question still unanswered (or wrongly answered), else the check page.
    func continueURL(_ found: CaseRecord, type: CaseType, documents: Set<String>) -> String {
        let open = askedFields(type, found, documents: documents).first { field in
            field.type == .document
                ? !documents.contains(field.key) && field.required
                : type.problem(with: found.data[field.key], for: field, documents: documents) != nil
        }
        return open.map { "/my/cases/\(found.id)/questions/\($0.key)" } ?? "/my/cases/\(found.id)/check"
    }

    /// The fields still asked, given the answers so far, in the file's order.
    func askedFields(_ type: CaseType, _ found: CaseRecord, documents: Set<String>) -> [CaseField] {
        type.fields.filter { type.applies($0, data: found.data, documents: documents, now: Date()) }
    }

    func question(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.signInFirst(request) }
        let (found, type) = try await ownCase(request, context, userID: userID)
        guard let field = context.parameters.get("field").flatMap(type.field) else { throw failure(request, .notFound, "cases_not_found") }
        return try await questionView(
            request, identity: identity, found: found, type: type, field: field, value: found.data[field.key],
            returnToCheck: request.query["return"] == "check")
    }

    func questionView(
        _ request: Request, identity: Identity, found: CaseRecord, type: CaseType, field: CaseField, value: JSONValue?, error: String? = nil,
        status: HTTPResponse.Status = .ok, returnToCheck: Bool = false
    ) async throws -> Response {
        let documents = try await stores.cases.documents(of: found.id)
        let asked = askedFields(type, found, documents: Set(documents.map(\.type)))
        let position = (asked.firstIndex { $0.key == field.key } ?? 0)
        let current: String =
            value.map { value -> String in
                if case .string(let text) = value { return text }
                if case .bool(let flag) = value { return flag ? "yes" : "no" }
                return CaseType.plain(value)
            } ?? ""
        var values: [String: Any] = [
            "id": found.id, "name": type.name, "key": field.key, "label": field.label, "hint": field.hint ?? "", "value": current,
            "step": t(request, "cases_step", ["n": String(position + 1), "total": String(asked.count)]),
            "optional": !field.required,
            "back": returnToCheck
                ? "/my/cases/\(found.id)/check"
                : position > 0 ? "/my/cases/\(found.id)/questions/\(asked[position - 1].key)" : "/my/cases/\(found.id)",
            "error": error ?? "", "currency": type.currency, "returnToCheck": returnToCheck,
        ]
        if field.type == .date {
            values["dateParts"] = dateParts(current, field: field, language: type.language, request: request)
            if field.hint == nil { values["hint"] = t(request, "cases_date_hint") }
        }
        values["is_" + field.type.rawValue] = true
        values["choices"] = field.choices.map { ["key": $0.key, "label": $0.label, "checked": current == $0.key] }
        values["yes"] = current == "yes"
        values["no"] = current == "no"
        if field.type == .document {
            values["document"] = type.document(field.key)?.label ?? field.label
            values["accept"] = type.document(field.key)?.contentTypes.joined(separator: ",") ?? ""
            values["uploaded"] = documents.filter { $0.type == field.key }.map { ["version": $0.version, "filename": $0.filename] }
            values["hasUploaded"] = documents.contains { $0.type == field.key }
        }
        values["editable"] = found.state == type.initialState.key || type.state(found.state)?.waitingOnApplicant == true
        return web.page(
            "cases/case-question", title: field.label, request: request, identity: identity, values: values, status: status,
            errors: error.map { [FieldError(field: "answer", message: $0)] } ?? [])
    }

    /// Saves one answer (a file for a document question) and goes on to the next question that applies, or to the
    /// check page after the last.
    func answer(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.signInFirst(request) }
        let (found, type) = try await ownCase(request, context, userID: userID)
        guard let field = context.parameters.get("field").flatMap(type.field) else { throw failure(request, .notFound, "cases_not_found") }
        let (form, upload) = try await readForm(request, limit: (type.document(field.key)?.maximumBytes ?? 64 * 1024) + 64 * 1024)
        try web.checkCSRF(form, request: request, session: identity.session)
        let caller = CaseCaller(actor: .applicant, name: identity.actor.auditName, userID: userID)
        let returnToCheck = form["return"] == "check"
        do {
            if field.type == .document {
                if let upload, !upload.bytes.isEmpty {
                    try await stores.cases.addDocument(
                        found.id, type: field.key, filename: upload.filename, contentType: upload.contentType ?? "", bytes: upload.bytes, by: caller,
                        jurisdictionID: jurisdiction)
                } else if field.required, try await stores.cases.documents(of: found.id).allSatisfy({ $0.type != field.key }) {
                    return try await questionView(
                        request, identity: identity, found: found, type: type, field: field, value: nil,
                        error: t(request, "cases_upload_needed", ["document": type.document(field.key)?.label ?? field.label]), status: .badRequest,
                        returnToCheck: returnToCheck)
                }
            } else {
                var raw = (form["answer"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                var missing: String?
                if field.type == .date { (raw, missing) = dateAnswer(form, field: field, request: request) }
                let value = Self.value(raw, for: field, currency: type.currency)
                if value == .null, field.required {
                    return try await questionView(
                        request, identity: identity, found: found, type: type, field: field, value: nil,
                        error: t(request, "cases_answer_needed"), status: .badRequest, returnToCheck: returnToCheck)
                }
                if let problem = missing ?? type.problem(with: value, for: field) {
                    return try await questionView(
                        request, identity: identity, found: found, type: type, field: field, value: .string(raw), error: problem, status: .badRequest,
                        returnToCheck: returnToCheck)
                }
                _ = try await stores.cases.update(found.id, data: [field.key: value], by: caller, jurisdictionID: jurisdiction)
            }
        } catch let error as CivitasError {
            return try await questionView(
                request, identity: identity, found: found, type: type, field: field, value: found.data[field.key], error: error.message,
                status: error.kind == .conflict ? .conflict : .badRequest, returnToCheck: returnToCheck)
        }
        if form["save"] != nil { return web.redirect("/my/cases/\(found.id)?saved=1") }
        guard let updated = try await stores.cases.find(id: found.id, jurisdictionID: jurisdiction) else {
            throw failure(request, .notFound, "cases_not_found")
        }
        let documents = Set(try await stores.cases.documents(of: found.id).map(\.type))
        if returnToCheck {
            // Back to the check page, unless the changed answer opened a question not yet answered.
            let next = continueURL(updated, type: type, documents: documents)
            return web.redirect(next.hasSuffix("/check") ? next : next + "?return=check")
        }
        let asked = askedFields(type, updated, documents: documents)
        if let index = asked.firstIndex(where: { $0.key == field.key }), index + 1 < asked.count {
            return web.redirect("/my/cases/\(found.id)/questions/\(asked[index + 1].key)")
        }
        return web.redirect("/my/cases/\(found.id)/check")
    }

    func check(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.signInFirst(request) }
        let (found, type) = try await ownCase(request, context, userID: userID)
        return try await checkView(request, identity: identity, found: found, type: type)
    }

    func checkView(
        _ request: Request, identity: Identity, found: CaseRecord, type: CaseType, errors: [FieldError] = [], status: HTTPResponse.Status = .ok
    )
        async throws -> Response
    {
        let documents = Set(try await stores.cases.documents(of: found.id).map(\.type))
        let problems = Dictionary(
            type.problems(found.data, documents: documents, now: Date()).map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
        let rows = askedFields(type, found, documents: documents).map { field -> [String: Any] in
            [
                "label": field.label,
                "value": field.type == .document
                    ? type.display(documents.contains(field.key) ? .bool(true) : nil, of: field)
                    : type.display(found.data[field.key], of: field),
                "change": "/my/cases/\(found.id)/questions/\(field.key)?return=check", "problem": problems[field.key] ?? "",
            ]
        }
        return web.page(
            "cases/case-check", title: t(request, "cases_check_title"), request: request, identity: identity,
            values: ["id": found.id, "name": type.name, "rows": rows, "ready": problems.isEmpty, "draft": found.state == type.initialState.key],
            status: status, errors: errors)
    }

    func applicantStep(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.signInFirst(request) }
        let (found, type) = try await ownCase(request, context, userID: userID)
        let form = try await web.checkedForm(request, session: identity.session)
        let key = form["step"] ?? ""
        if let step = type.transition(key), endsApplication(step, type: type), step.by.contains(.applicant), form["confirmed"] != "1" {
            return stepConfirmView(request, identity: identity, found: found, type: type, step: step)
        }
        do {
            try await stores.cases.transition(
                found.id, key, by: CaseCaller(actor: .applicant, name: identity.actor.auditName, userID: userID), reason: form["reason"],
                jurisdictionID: jurisdiction)
        } catch let error as CivitasError {
            var message = error.message
            // A refused step, told again in the applicant's language (the store's words are English).
            if error.kind == .conflict, type.language != .english, let step = type.transition(key) {
                let documents = Set(try await stores.cases.documents(of: found.id).map(\.type))
                let check = type.check(
                    step, from: found.state, by: .applicant, data: found.data, documents: documents, reason: form["reason"], now: Date())
                if !check.problems.isEmpty { message = check.problems.joined(separator: " ") }
            }
            let errors = [FieldError(field: "steps", message: message)]
            if key == "submit" {
                return try await checkView(request, identity: identity, found: found, type: type, errors: errors, status: .conflict)
            }
            return try await caseView(request, identity: identity, found: found, type: type, errors: errors, status: .conflict)
        }
        if key == "submit" { return web.redirect("/my/cases/\(found.id)/sent") }
        let wasDraft = found.state == type.initialState.key
        return web.redirect("/my/cases/\(found.id)?done=\(wasDraft ? "cancelled" : Web.formEncode(key))")
    }

    /// A form that may carry one file (multipart), or a plain one.
    func readForm(_ request: Request, limit: Int) async throws -> ([String: String], UploadedFile?) {
        try await web.readFormWithFile(request, upTo: limit, tooLarge: t(request, "cases_file_too_large"))
    }

    func applicantUpload(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.signInFirst(request) }
        let (found, type) = try await ownCase(request, context, userID: userID)
        let (form, upload) = try await readForm(request, limit: (type.documents.map(\.maximumBytes).max() ?? 0) + 64 * 1024)
        try web.checkCSRF(form, request: request, session: identity.session)
        guard let upload, !upload.bytes.isEmpty else {
            return try await caseView(
                request, identity: identity, found: found, type: type, errors: [FieldError(field: "file", message: t(request, "cases_choose_file"))],
                status: .badRequest)
        }
        do {
            try await stores.cases.addDocument(
                found.id, type: form["type"] ?? "", filename: upload.filename, contentType: upload.contentType ?? "", bytes: upload.bytes,
                by: CaseCaller(actor: .applicant, name: identity.actor.auditName, userID: userID), jurisdictionID: jurisdiction)
        } catch let error as CivitasError {
            return try await caseView(
                request, identity: identity, found: found, type: type, errors: [FieldError(field: "file", message: error.message)],
                status: .badRequest)
        }
        return web.redirect("/my/cases/\(found.id)?uploaded=1")
    }

    func applicantMessage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.signInFirst(request) }
        let (found, type) = try await ownCase(request, context, userID: userID)
        let form = try await web.checkedForm(request, session: identity.session)
        do {
            try await stores.cases.addNote(
                found.id, body: form["message"] ?? "", visibility: .applicant,
                by: CaseCaller(actor: .applicant, name: identity.actor.auditName, userID: userID), jurisdictionID: jurisdiction)
        } catch let error as CivitasError {
            return try await caseView(
                request, identity: identity, found: found, type: type, errors: [FieldError(field: "message", message: error.message)],
                status: .badRequest)
        }
        return web.redirect("/my/cases/\(found.id)#messages")
    }

    func applicantDocument(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (_, userID) = try await resident(request) else { return web.signInFirst(request) }
        let (found, _) = try await ownCase(request, context, userID: userID)
        guard let file = try await CaseAccess.documentFile(found, documentID: context.parameters.get("document"), stores: stores, reader: nil) else {
            throw failure(request, .notFound, "cases_not_found")
        }
        return file
    }
}
