import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Case pages. Residents: apply (one question per page, saved as they go, so they can come back later), check and
/// send, then follow their cases: status, what is needed from them and by when, decisions explained, documents,
/// messages. Staff: their cases and the next one from the queue, a case's answers, documents, decisions and timeline
/// with the steps they may take, queue health and bulk reassignment for supervisors, and each type as a diagram.
struct CaseWebController: Sendable {
    let staff: StaffController
    var web: WebAuthController { staff.web }
    var stores: Stores { web.stores }
    var configuration: AppConfiguration { web.configuration }
    var jurisdiction: String { configuration.jurisdiction.id }

    func addRoutes(to root: Router<CivitasRequestContext>) {
        let router = root.group().add(middleware: WebFailureMiddleware(controller: web))
        router.get("cases", use: catalogPage)
        router.post("cases/:type/start", use: start)
        router.get("my/cases", use: myCases)
        router.get("my/cases/:id", use: myCase)
        router.get("my/cases/:id/questions/:field", use: question)
        router.post("my/cases/:id/questions/:field", use: answer)
        router.get("my/cases/:id/check", use: check)
        router.post("my/cases/:id/steps", use: applicantStep)
        router.post("my/cases/:id/documents", use: applicantUpload)
        router.post("my/cases/:id/messages", use: applicantMessage)
        router.get("my/cases/:id/documents/:document", use: applicantDocument)
        router.get("staff/cases", use: staffCases)
        router.post("staff/cases/next", use: next)
        router.post("staff/cases/assign", use: bulkAssign)
        router.post("staff/cases/open", use: staffOpen)
        router.get("staff/cases/:id/answers", use: staffAnswers)
        router.post("staff/cases/:id/answers", use: staffSaveAnswers)
        router.get("staff/cases/:id", use: staffCase)
        router.post("staff/cases/:id/steps", use: staffStep)
        router.post("staff/cases/:id/notes", use: staffNote)
        router.post("staff/cases/:id/tasks", use: staffTask)
        router.post("staff/cases/:id/documents", use: staffUpload)
        router.post("staff/cases/:id/tasks/:task/done", use: staffTaskDone)
        router.post("staff/cases/:id/parties", use: staffAddParty)
        router.post("staff/cases/:id/parties/:party/remove", use: staffRemoveParty)
        router.get("staff/cases/:id/documents/:document", use: staffDocument)
        router.get("staff/casetypes", use: typesPage)
        router.post("staff/casetypes", use: importTypePage)
        router.get("staff/casetypes/:key", use: typePage)
    }

    func t(_ request: Request, _ key: String, _ values: [String: String] = [:]) -> String { web.tr(request, key, values) }

    func date(_ value: Date?, _ request: Request) -> String {
        value.map { RequestPagesController.date($0, zone: configuration.jurisdiction.timeZone, language: Catalog.language(of: request)) } ?? ""
    }

    func failure(_ request: Request, _ status: HTTPResponse.Status, _ key: String) -> WebFailure {
        WebFailure(status: status, title: t(request, "cases_title"), message: t(request, key))
    }

    // MARK: resident

    /// The signed-in resident; anyone else is sent to sign in.
    func resident(_ request: Request) async throws -> (Identity, Int64)? {
        guard let identity = try await web.pageIdentity(request), case .resident(let id, _) = identity.actor else { return nil }
        return (identity, id)
    }

    /// The resident's own case and its type, or 404.
    func ownCase(_ request: Request, _ context: CivitasRequestContext, userID: Int64) async throws -> (CaseRecord, CaseType) {
        guard let id = context.parameters.get("id").flatMap(Int64.init), let found = try await stores.cases.find(id: id, jurisdictionID: jurisdiction),
            found.applicantID == userID,
            let type = try await stores.cases.type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdiction)
        else { throw failure(request, .notFound, "cases_not_found") }
        return (found, type.localized(Catalog.language(of: request)))
    }

    func catalogPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await web.pageIdentity(request)
        let types = try await stores.cases.types(jurisdictionID: jurisdiction).map { $0.localized(Catalog.language(of: request)) }
        return web.page(
            "cases", title: t(request, "cases_title"), request: request, identity: identity,
            values: [
                "types": types.map { ["key": $0.key, "name": $0.name, "description": $0.description, "department": $0.department] },
                "none": types.isEmpty,
            ])
    }

    func start(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.redirect("/signin") }
        let form = try await web.readForm(request)
        try web.checkCSRF(form, request: request, session: identity.session)
        guard let key = context.parameters.get("type"), let type = try await stores.cases.type(key, jurisdictionID: jurisdiction) else {
            throw failure(request, .notFound, "cases_not_found")
        }
        let created = try await stores.cases.create(
            typeKey: type.key, data: [:], by: CaseCaller(actor: .applicant, name: identity.actor.auditName, userID: userID), applicantID: userID,
            language: Catalog.language(of: request), jurisdictionID: jurisdiction)
        return web.redirect("/my/cases/\(created.id)/questions/\(type.fields[0].key)")
    }

    func myCases(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.redirect("/signin") }
        var query = CaseStore.Query(jurisdictionID: jurisdiction)
        query.applicantID = userID
        var items: [[String: Any]] = []
        for found in try await stores.cases.list(query) {
            guard let type = try await stores.cases.type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdiction)?
                .localized(Catalog.language(of: request))
            else { continue }
            let needed = try await stores.cases.tasks(of: found.id).filter { $0.assignee == "applicant" && $0.doneAt == nil }
            items.append([
                "id": found.id, "name": type.name, "status": type.state(found.state)?.applicantText ?? found.state,
                "draft": found.state == type.initialState.key, "needed": needed.map { ["title": type.taskTitle($0.title, documentType: $0.documentType), "due": date($0.dueAt, request)] },
                "hasNeeded": !needed.isEmpty, "updated": date(found.updatedAt, request),
            ])
        }
        return web.page(
            "my-cases", title: t(request, "my_cases_title"), request: request, identity: identity, values: ["items": items, "none": items.isEmpty])
    }

    func myCase(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.redirect("/signin") }
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
        return web.page(
            "my-case", title: t(request, "my_case_title", ["id": String(found.id), "name": type.name]), request: request, identity: identity,
            values: [
                "id": found.id, "caseID": found.id, "name": type.name, "status": state?.applicantText ?? found.state, "draft": isDraft, "closed": found.closedAt != nil,
                "continueURL": continueURL(found, type: type, documents: Set(documents.map(\.type))), "submitted": date(found.submittedAt, request),
                "waiting": state?.waitingOnApplicant == true, "due": state?.waitingOnApplicant == true ? date(found.dueAt, request) : "",
                "needed": open.map { ["title": type.taskTitle($0.title, documentType: $0.documentType), "due": date($0.dueAt, request)] },
                "hasNeeded": !open.isEmpty,
                "decisions": decisions, "hasDecisions": !decisions.isEmpty, "hasSteps": !steps.isEmpty,
                "documents": documents.map { ["id": $0.id, "label": type.document($0.type)?.label ?? $0.type, "version": $0.version, "when": date($0.at, request)] },
                "uploadable": type.documents.filter { requested.contains($0.key) || found.closedAt == nil && !isDraft }.map {
                    ["key": $0.key, "label": $0.label, "requested": requested.contains($0.key)]
                },
                "canUpload": found.closedAt == nil && !isDraft && !type.documents.isEmpty,
                "steps": steps.map { ["key": $0.key, "label": $0.label, "secondary": $0.key == "withdraw" || $0.key == "cancel"] },
                "timeline": try await stores.cases.events(of: found.id, includeInternal: false).reversed().map {
                    [
                        "when": date($0.at, request), "body": type.historyLine(kind: $0.kind, transition: $0.transition, to: $0.toState, kept: $0.body ?? ""),
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
            field.type == .document ? !documents.contains(field.key) && field.required
                : type.problem(with: found.data[field.key], for: field, documents: documents) != nil
        }
        return open.map { "/my/cases/\(found.id)/questions/\($0.key)" } ?? "/my/cases/\(found.id)/check"
    }

    /// The fields still asked, given the answers so far, in the file's order.
    func askedFields(_ type: CaseType, _ found: CaseRecord, documents: Set<String>) -> [CaseField] {
        type.fields.filter { type.applies($0, data: found.data, documents: documents, now: Date()) }
    }

    func question(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.redirect("/signin") }
        let (found, type) = try await ownCase(request, context, userID: userID)
        guard let field = context.parameters.get("field").flatMap(type.field) else { throw failure(request, .notFound, "cases_not_found") }
        return try await questionView(request, identity: identity, found: found, type: type, field: field, value: found.data[field.key])
    }

    func questionView(
        _ request: Request, identity: Identity, found: CaseRecord, type: CaseType, field: CaseField, value: JSONValue?, error: String? = nil,
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let documents = try await stores.cases.documents(of: found.id)
        let asked = askedFields(type, found, documents: Set(documents.map(\.type)))
        let position = (asked.firstIndex { $0.key == field.key } ?? 0)
        let current: String = value.map { value -> String in
            if case .string(let text) = value { return text }
            if case .bool(let flag) = value { return flag ? "yes" : "no" }
            return CaseType.plain(value)
        } ?? ""
        var values: [String: Any] = [
            "id": found.id, "name": type.name, "key": field.key, "label": field.label, "hint": field.hint ?? "", "value": current,
            "step": t(request, "cases_step", ["n": String(position + 1), "total": String(asked.count)]),
            "optional": !field.required, "back": position > 0 ? "/my/cases/\(found.id)/questions/\(asked[position - 1].key)" : "/my/cases/\(found.id)",
            "error": error ?? "", "currency": type.currency,
        ]
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
            "case-question", title: field.label, request: request, identity: identity, values: values, status: status,
            errors: error.map { [FieldError(field: "answer", message: $0)] } ?? [])
    }

    /// Saves one answer (a file for a document question) and goes on to the next question that applies, or to the
    /// check page after the last.
    func answer(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.redirect("/signin") }
        let (found, type) = try await ownCase(request, context, userID: userID)
        guard let field = context.parameters.get("field").flatMap(type.field) else { throw failure(request, .notFound, "cases_not_found") }
        let (form, upload) = try await readForm(request, limit: (type.document(field.key)?.maximumBytes ?? 64 * 1024) + 64 * 1024)
        try web.checkCSRF(form, request: request, session: identity.session)
        let caller = CaseCaller(actor: .applicant, name: identity.actor.auditName, userID: userID)
        do {
            if field.type == .document {
                if let upload, !upload.bytes.isEmpty {
                    try await stores.cases.addDocument(
                        found.id, type: field.key, filename: upload.filename, contentType: upload.contentType ?? "", bytes: upload.bytes, by: caller,
                        jurisdictionID: jurisdiction)
                } else if field.required, try await stores.cases.documents(of: found.id).allSatisfy({ $0.type != field.key }) {
                    return try await questionView(
                        request, identity: identity, found: found, type: type, field: field, value: nil,
                        error: t(request, "cases_upload_needed", ["document": type.document(field.key)?.label ?? field.label]), status: .badRequest)
                }
            } else {
                let raw = (form["answer"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                let value = Self.value(raw, for: field, currency: type.currency)
                if value == .null, field.required {
                    return try await questionView(
                        request, identity: identity, found: found, type: type, field: field, value: nil,
                        error: t(request, "cases_answer_needed"), status: .badRequest)
                }
                if let problem = type.problem(with: value, for: field) {
                    return try await questionView(request, identity: identity, found: found, type: type, field: field, value: .string(raw), error: problem, status: .badRequest)
                }
                _ = try await stores.cases.update(found.id, data: [field.key: value], by: caller, jurisdictionID: jurisdiction)
            }
        } catch let error as CivitasError {
            return try await questionView(
                request, identity: identity, found: found, type: type, field: field, value: found.data[field.key], error: error.message,
                status: error.kind == .conflict ? .conflict : .badRequest)
        }
        if form["save"] != nil { return web.redirect("/my/cases/\(found.id)?saved=1") }
        guard let updated = try await stores.cases.find(id: found.id, jurisdictionID: jurisdiction) else { throw failure(request, .notFound, "cases_not_found") }
        let asked = askedFields(type, updated, documents: Set(try await stores.cases.documents(of: found.id).map(\.type)))
        if let index = asked.firstIndex(where: { $0.key == field.key }), index + 1 < asked.count, form["return"] != "check" {
            return web.redirect("/my/cases/\(found.id)/questions/\(asked[index + 1].key)")
        }
        return web.redirect("/my/cases/\(found.id)/check")
    }

    func check(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.redirect("/signin") }
        let (found, type) = try await ownCase(request, context, userID: userID)
        return try await checkView(request, identity: identity, found: found, type: type)
    }

    func checkView(_ request: Request, identity: Identity, found: CaseRecord, type: CaseType, errors: [FieldError] = [], status: HTTPResponse.Status = .ok)
        async throws -> Response
    {
        let documents = Set(try await stores.cases.documents(of: found.id).map(\.type))
        let problems = Dictionary(type.problems(found.data, documents: documents, now: Date()).map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
        let rows = askedFields(type, found, documents: documents).map { field -> [String: Any] in
            [
                "label": field.label, "value": field.type == .document ? type.display(documents.contains(field.key) ? .bool(true) : nil, of: field)
                    : type.display(found.data[field.key], of: field),
                "change": "/my/cases/\(found.id)/questions/\(field.key)?return=check", "problem": problems[field.key] ?? "",
            ]
        }
        return web.page(
            "case-check", title: t(request, "cases_check_title"), request: request, identity: identity,
            values: ["id": found.id, "name": type.name, "rows": rows, "ready": problems.isEmpty, "draft": found.state == type.initialState.key],
            status: status, errors: errors)
    }

    func applicantStep(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.redirect("/signin") }
        let (found, type) = try await ownCase(request, context, userID: userID)
        let form = try await web.readForm(request)
        try web.checkCSRF(form, request: request, session: identity.session)
        let key = form["step"] ?? ""
        do {
            try await stores.cases.transition(
                found.id, key, by: CaseCaller(actor: .applicant, name: identity.actor.auditName, userID: userID), reason: form["reason"],
                jurisdictionID: jurisdiction)
        } catch let error as CivitasError {
            var message = error.message
            // A refused step, told again in the applicant's language (the store's words are English).
            if error.kind == .conflict, type.language != .english, let step = type.transition(key) {
                let documents = Set(try await stores.cases.documents(of: found.id).map(\.type))
                let check = type.check(step, from: found.state, by: .applicant, data: found.data, documents: documents, reason: form["reason"], now: Date())
                if !check.problems.isEmpty { message = check.problems.joined(separator: " ") }
            }
            let errors = [FieldError(field: "steps", message: message)]
            if key == "submit" { return try await checkView(request, identity: identity, found: found, type: type, errors: errors, status: .conflict) }
            return try await caseView(request, identity: identity, found: found, type: type, errors: errors, status: .conflict)
        }
        return web.redirect("/my/cases/\(found.id)?sent=1")
    }

    /// A form that may carry one file (multipart), or a plain one.
    func readForm(_ request: Request, limit: Int) async throws -> ([String: String], UploadedFile?) {
        try await web.readFormWithFile(request, upTo: limit, tooLarge: t(request, "cases_file_too_large"))
    }

    func applicantUpload(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.redirect("/signin") }
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
                request, identity: identity, found: found, type: type, errors: [FieldError(field: "file", message: error.message)], status: .badRequest)
        }
        return web.redirect("/my/cases/\(found.id)?uploaded=1")
    }

    func applicantMessage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.redirect("/signin") }
        let (found, type) = try await ownCase(request, context, userID: userID)
        let form = try await web.readForm(request)
        try web.checkCSRF(form, request: request, session: identity.session)
        do {
            try await stores.cases.addNote(
                found.id, body: form["message"] ?? "", visibility: .applicant,
                by: CaseCaller(actor: .applicant, name: identity.actor.auditName, userID: userID), jurisdictionID: jurisdiction)
        } catch let error as CivitasError {
            return try await caseView(
                request, identity: identity, found: found, type: type, errors: [FieldError(field: "message", message: error.message)], status: .badRequest)
        }
        return web.redirect("/my/cases/\(found.id)#messages")
    }

    func applicantDocument(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (_, userID) = try await resident(request) else { return web.redirect("/signin") }
        let (found, _) = try await ownCase(request, context, userID: userID)
        guard let file = try await CaseAccess.documentFile(found, documentID: context.parameters.get("document"), stores: stores, reader: nil) else {
            throw failure(request, .notFound, "cases_not_found")
        }
        return file
    }

    // MARK: staff

    func caller(_ signedIn: StaffController.Staff) -> CaseCaller {
        CaseAccess.caller(signedIn.identity.actor) ?? CaseCaller(actor: .role("agent"), name: signedIn.identity.actor.auditName)
    }

    func staffCases(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            try await casesView(request, signedIn: signedIn, notice: request.uri.queryParameters.get("empty").map { _ in t(request, "staff_cases_empty") })
        }
    }

    func casesView(_ request: Request, signedIn: StaffController.Staff, notice: String?, errors: [FieldError] = [], status: HTTPResponse.Status = .ok)
        async throws -> Response
    {
        let actor = signedIn.identity.actor
        guard Permissions.decide(actor, .readCases, on: .jurisdiction(jurisdiction)).allowed else {
            throw failure(request, .forbidden, "staff_cases_refused")
        }
        var mine = CaseStore.Query(jurisdictionID: jurisdiction)
        mine.assigneeID = signedIn.user.id
        mine.openOnly = true
        var types: [String: CaseType] = [:]
        for type in try await stores.cases.types(jurisdictionID: jurisdiction) { types[type.key] = type }
        func row(_ found: CaseRecord) -> [String: Any] {
            [
                "id": found.id, "type": types[found.typeKey]?.name ?? found.typeKey, "state": types[found.typeKey]?.state(found.state)?.label ?? found.state,
                "queue": found.queue, "due": date(found.dueAt, request), "overdue": found.dueAt.map { $0 < Date() } ?? false,
                "assignee": found.assigneeID.map { "staff \($0)" } ?? "",
            ]
        }
        let supervise = Permissions.decide(actor, .superviseCases, on: .jurisdiction(jurisdiction)).allowed
        var values: [String: Any] = [
            "mine": try await stores.cases.list(mine).map(row), "canPull": Permissions.decide(actor, .workCases, on: .jurisdiction(jurisdiction)).allowed,
            "supervise": supervise, "notice": notice ?? "",
            "queues": try await stores.cases.queues(
                departments: CaseAccess.departments(actor), skills: try await stores.cases.skills(userID: signedIn.user.id), jurisdictionID: jurisdiction
            ).map { ["name": $0.name] },
        ]
        values["noneMine"] = (values["mine"] as? [[String: Any]])?.isEmpty ?? true
        // Kinds of case this person may open for someone (a caller on the phone, a walk-in).
        values["openable"] = types.values.sorted { $0.name < $1.name }.filter {
            Permissions.decide(actor, .createCase, on: .record(jurisdictionID: jurisdiction, department: $0.department, residentID: nil)).allowed
        }.map { ["key": $0.key, "name": $0.name] }
        values["canOpen"] = !((values["openable"] as? [[String: Any]])?.isEmpty ?? true)
        if supervise {
            let departments = CaseAccess.departments(actor)
            values["health"] = try await stores.cases.health(departments: departments, jurisdictionID: jurisdiction).map { queue -> [String: Any] in
                ["name": queue.name, "department": queue.department, "waiting": queue.waiting, "unassigned": queue.unassigned, "atRisk": queue.atRisk,
                 "overdue": queue.overdue, "oldest": date(queue.oldest, request)]
            }
            var open = CaseStore.Query(jurisdictionID: jurisdiction)
            open.departments = departments
            open.openOnly = true
            open.limit = 200
            values["open"] = try await stores.cases.list(open).filter { types[$0.typeKey]?.isWork($0.state) ?? false }.map(row)
            values["colleagues"] = try await stores.users.list(jurisdictionID: jurisdiction, kind: .staff).filter { !$0.disabled }
                .map { ["id": $0.id, "email": $0.email] }
        }
        return web.page("staff-cases", title: t(request, "staff_cases_title"), request: request, identity: signedIn.identity, values: values, status: status, errors: errors)
    }

    func next(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let form = try await web.readForm(request)
            try web.checkCSRF(form, request: request, session: signedIn.identity.session)
            guard Permissions.decide(signedIn.identity.actor, .workCases, on: .jurisdiction(jurisdiction)).allowed else {
                throw failure(request, .forbidden, "staff_cases_refused")
            }
            let queue = form["queue"].flatMap { $0.isEmpty ? nil : $0 }
            do {
                guard
                    let pulled = try await stores.cases.pull(
                        userID: signedIn.user.id, departments: CaseAccess.departments(signedIn.identity.actor),
                        skills: try await stores.cases.skills(userID: signedIn.user.id), queue: queue, jurisdictionID: jurisdiction)
                else { return web.redirect("/staff/cases?empty=1") }
                return web.redirect("/staff/cases/\(pulled.id)")
            } catch let error as CivitasError {
                return try await casesView(request, signedIn: signedIn, notice: nil, errors: [FieldError(field: "queue", message: error.message)], status: .forbidden)
            }
        }
    }

    func bulkAssign(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let pairs = try await web.readFormPairs(request)
            let form = WebAuthController.firstValues(pairs)
            try web.checkCSRF(form, request: request, session: signedIn.identity.session)
            guard Permissions.decide(signedIn.identity.actor, .superviseCases, on: .jurisdiction(jurisdiction)).allowed else {
                throw failure(request, .forbidden, "staff_cases_refused")
            }
            let ids = pairs.filter { $0.0 == "ids" }.compactMap { Int64($0.1) }
            let assignee = form["assignee"].flatMap(Int64.init)
            do {
                for id in ids {
                    guard let found = try await stores.cases.find(id: id, jurisdictionID: jurisdiction),
                        Permissions.decide(signedIn.identity.actor, .superviseCases, on: CaseAccess.target(found)).allowed
                    else { throw CivitasError.notFound("case_not_found", "There is no case \(id).") }
                }
                try await stores.cases.assign(ids, to: assignee, by: caller(signedIn), jurisdictionID: jurisdiction)
            } catch let error as CivitasError {
                return try await casesView(request, signedIn: signedIn, notice: nil, errors: [FieldError(field: "ids", message: error.message)], status: .badRequest)
            }
            return web.redirect("/staff/cases?assigned=\(ids.count)")
        }
    }

    /// Opens a case for someone, linked to their resident account when their email has one, and goes to its answers.
    func staffOpen(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let form = try await web.readForm(request)
            try web.checkCSRF(form, request: request, session: signedIn.identity.session)
            do {
                guard let type = try await stores.cases.type(form["type"] ?? "", jurisdictionID: jurisdiction) else {
                    throw CivitasError.invalid("case_type_not_found", t(request, "staff_cases_open_type"), field: "open-type")
                }
                guard Permissions.decide(
                    signedIn.identity.actor, .createCase, on: .record(jurisdictionID: jurisdiction, department: type.department, residentID: nil)
                ).allowed else {
                    throw CivitasError(.forbidden, code: "forbidden", message: t(request, "staff_cases_refused"))
                }
                var applicant: Int64?
                let email = (form["email"] ?? "").trimmingCharacters(in: .whitespaces)
                if !email.isEmpty {
                    guard let user = try await stores.users.find(email: email, jurisdictionID: jurisdiction), user.kind == .resident else {
                        throw CivitasError.invalid("applicant_unknown", t(request, "staff_cases_open_no_account"), field: "open-email")
                    }
                    applicant = user.id
                }
                let language = form["language"].flatMap(Language.init(rawValue:)) ?? .english
                let created = try await stores.cases.create(
                    typeKey: type.key, data: [:], by: caller(signedIn), applicantID: applicant, language: language, jurisdictionID: jurisdiction)
                return web.redirect("/staff/cases/\(created.id)/answers")
            } catch let error as CivitasError {
                return try await casesView(
                    request, signedIn: signedIn, notice: nil, errors: [FieldError(field: error.field ?? "open-type", message: error.message)],
                    status: error.kind == .forbidden ? .forbidden : .badRequest)
            }
        }
    }

    /// Every question of a case on one page, for staff filling it in with the person on the phone or at the desk.
    func staffAnswers(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let (found, type) = try await staffReadable(request, context, signedIn)
            return try await answersView(request, signedIn: signedIn, found: found, type: type, given: [:], errors: [])
        }
    }

    func answersView(
        _ request: Request, signedIn: StaffController.Staff, found: CaseRecord, type: CaseType, given: [String: String], errors: [FieldError],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let problems = Dictionary(errors.map { ($0.field, $0.message) }, uniquingKeysWith: { a, _ in a })
        let fields = type.fields.filter { $0.type != .document }.map { field -> [String: Any] in
            let current = given[field.key] ?? found.data[field.key].map { value -> String in
                if case .bool(let flag) = value { return flag ? "yes" : "no" }
                return CaseType.plain(value)
            } ?? ""
            var item: [String: Any] = [
                "key": field.key, "label": field.label, "hint": field.hint ?? "", "value": current, "optional": !field.required,
                "when": field.when?.source ?? "", "error": problems["answer-" + field.key] ?? "",
                "choices": field.choices.map {
                    ["key": $0.key, "label": $0.label, "selected": current == $0.key, "id": "answer-\(field.key)-\($0.key)", "name": "answer-\(field.key)"]
                },
                "yes": current == "yes", "no": current == "no",
            ]
            item["is_" + field.type.rawValue] = true
            return item
        }
        return web.page(
            "staff-case-answers", title: t(request, "staff_case_title", ["id": String(found.id), "name": type.name]), request: request,
            identity: signedIn.identity,
            values: ["id": found.id, "caseID": found.id, "name": type.name, "fields": fields, "closed": found.closedAt != nil, "currency": type.currency],
            status: status, errors: errors)
    }

    func staffSaveAnswers(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let form = try await web.readForm(request)
            try web.checkCSRF(form, request: request, session: signedIn.identity.session)
            let (found, type) = try await staffReadable(request, context, signedIn)
            guard Permissions.decide(signedIn.identity.actor, .workCases, on: CaseAccess.target(found)).allowed else {
                throw failure(request, .forbidden, "staff_cases_refused")
            }
            var data: [String: JSONValue] = [:]
            var given: [String: String] = [:]
            var errors: [FieldError] = []
            for field in type.fields where field.type != .document {
                let raw = (form["answer-" + field.key] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                given[field.key] = raw
                let value = Self.value(raw, for: field, currency: type.currency)
                if value == .null {
                    if found.data[field.key] != nil { data[field.key] = .null }
                    continue
                }
                var optional = field
                optional.required = false
                if let problem = type.problem(with: value, for: optional) {
                    errors.append(FieldError(field: "answer-" + field.key, message: problem))
                } else if value != found.data[field.key] {
                    data[field.key] = value
                }
            }
            if errors.isEmpty, !data.isEmpty {
                do {
                    _ = try await stores.cases.update(found.id, data: data, by: caller(signedIn), jurisdictionID: jurisdiction)
                } catch let error as CivitasError {
                    errors.append(FieldError(field: "answers", message: error.message))
                }
            }
            guard errors.isEmpty else {
                return try await answersView(request, signedIn: signedIn, found: found, type: type, given: given, errors: errors, status: .badRequest)
            }
            return web.redirect("/staff/cases/\(found.id)?done=1")
        }
    }

    /// A typed answer from a form field: numbers and money as numbers, yes/no as a boolean, blank as no answer.
    static func value(_ raw: String, for field: CaseField, currency: String) -> JSONValue {
        guard !raw.isEmpty else { return .null }
        switch field.type {
        case .yesno: return raw == "yes" ? .bool(true) : raw == "no" ? .bool(false) : .string(raw)
        case .number, .money:
            guard let number = Double(raw.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: currency, with: "")) else { return .string(raw) }
            return number == number.rounded() && abs(number) < 1e15 ? .integer(Int64(number)) : .number(number)
        default: return .string(raw)
        }
    }

    func staffReadable(_ request: Request, _ context: CivitasRequestContext, _ signedIn: StaffController.Staff) async throws -> (CaseRecord, CaseType) {
        guard let id = context.parameters.get("id").flatMap(Int64.init), let found = try await stores.cases.find(id: id, jurisdictionID: jurisdiction),
            Permissions.decide(signedIn.identity.actor, .readCases, on: CaseAccess.target(found)).allowed,
            let type = try await stores.cases.type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdiction)
        else { throw failure(request, .notFound, "cases_not_found") }
        return (found, type)
    }

    func staffCase(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let (found, type) = try await staffReadable(request, context, signedIn)
            try await stores.audit.append(
                AuditEvent(
                    actor: signedIn.identity.actor.auditName, action: "case.read_personal", subject: "case:\(found.id)",
                    person: found.applicantID.map { "user:\($0)" }, fields: found.data.keys.filter { type.field($0)?.personal ?? true }.sorted(),
                    purpose: "case work", source: signedIn.origin.source),
                jurisdictionID: jurisdiction)
            return try await staffCaseView(request, signedIn: signedIn, found: found, type: type, notice: request.uri.queryParameters.get("done").map { _ in t(request, "staff_done") })
        }
    }

    func staffCaseView(
        _ request: Request, signedIn: StaffController.Staff, found: CaseRecord, type: CaseType, notice: String? = nil, errors: [FieldError] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let actor = signedIn.identity.actor
        let canWork = Permissions.decide(actor, .workCases, on: CaseAccess.target(found)).allowed
        let role = caller(signedIn).actor
        let documents = try await stores.cases.documents(of: found.id)
        var assigneeName = ""
        if let assignee = found.assigneeID { assigneeName = try await stores.users.find(id: assignee)?.email ?? "staff \(assignee)" }
        let steps = type.transitions(from: found.state).filter { $0.by.contains(role) }.map { step -> [String: Any] in
            [
                "key": step.key, "label": step.label, "reason": step.reasonRequired, "asks": step.asksForDocuments,
                "documents": type.documents.map { ["docKey": $0.key, "label": $0.label, "step": step.key] },
            ]
        }
        return web.page(
            "staff-case", title: t(request, "staff_case_title", ["id": String(found.id), "name": type.name]), request: request, identity: signedIn.identity,
            values: [
                "id": found.id, "caseID": found.id, "name": type.name, "version": type.version, "typeKey": type.key, "state": type.state(found.state)?.label ?? found.state,
                "queue": found.queue, "due": date(found.dueAt, request), "assignee": assigneeName,
                "answers": type.fields.filter { type.applies($0, data: found.data, documents: Set(documents.map(\.type)), now: Date()) }.map { field in
                    ["label": field.label, "value": field.type == .document
                        ? type.display(documents.contains { $0.type == field.key } ? .bool(true) : nil, of: field) : type.display(found.data[field.key], of: field)]
                },
                "documents": documents.map { ["id": $0.id, "label": type.document($0.type)?.label ?? $0.type, "version": $0.version, "filename": $0.filename, "when": date($0.at, request)] },
                "decisions": try await stores.cases.decisions(of: found.id).map {
                    ["rule": $0.ruleID, "version": $0.ruleVersion, "passed": $0.passed, "text": $0.explanation, "when": date($0.at, request)]
                },
                "tasks": try await stores.cases.tasks(of: found.id).map {
                    ["taskID": $0.id, "title": $0.title, "who": $0.assignee == "applicant" ? t(request, "staff_cases_applicant") : "staff \($0.assignee)",
                     "due": date($0.dueAt, request), "done": $0.doneAt != nil, "mineOpen": $0.doneAt == nil && $0.assignee != "applicant" && canWork]
                },
                "timeline": try await stores.cases.events(of: found.id, includeInternal: true).reversed().map {
                    ["when": date($0.at, request), "who": $0.actor, "body": $0.body ?? "", "internal": $0.visibility == .internal]
                },
                "documentTypes": type.documents.map { ["key": $0.key, "label": $0.label] },
                "parties": try await stores.cases.parties(of: found.id).map { ["partyID": $0.id, "role": $0.role, "name": $0.name, "email": $0.email ?? ""] },
                "partyRoles": ["household member", "authorised representative", "lender", "employer", "supervisor"],
                "steps": steps, "canWork": canWork && found.closedAt == nil, "closed": found.closedAt != nil, "notice": notice ?? "",
            ],
            status: status, errors: errors)
    }

    /// Every change staff make on a case's page has one shape: the form's token, a case they may read and work, the
    /// change, then back to the case; or the page again with the refusal shown by the form it came from.
    func caseWork(
        _ request: Request, _ context: CivitasRequestContext, _ signedIn: StaffController.Staff, form: [String: String], field: String,
        namesFields: Bool = false, _ change: (CaseRecord, CaseType) async throws -> Void
    ) async throws -> Response {
        try web.checkCSRF(form, request: request, session: signedIn.identity.session)
        let (found, type) = try await staffReadable(request, context, signedIn)
        do {
            guard Permissions.decide(signedIn.identity.actor, .workCases, on: CaseAccess.target(found)).allowed else {
                throw CivitasError(.forbidden, code: "forbidden", message: t(request, "staff_cases_refused"))
            }
            try await change(found, type)
        } catch let error as CivitasError {
            let status: HTTPResponse.Status =
                switch error.kind {
                case .forbidden: .forbidden
                case .conflict: .conflict
                case .notFound: .notFound
                default: .badRequest
                }
            return try await staffCaseView(
                request, signedIn: signedIn, found: found, type: type, errors: [FieldError(field: namesFields ? error.field ?? field : field, message: error.message)], status: status)
        }
        return web.redirect("/staff/cases/\(found.id)?done=1")
    }

    /// A staff form that changes the case named in the path: signed in, the form read, then `caseWork`.
    func caseForm(
        _ request: Request, _ context: CivitasRequestContext, field: String, namesFields: Bool = false,
        _ change: @escaping ([String: String], CaseRecord, StaffController.Staff) async throws -> Void
    ) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let form = try await web.readForm(request)
            return try await caseWork(request, context, signedIn, form: form, field: field, namesFields: namesFields) { found, _ in
                try await change(form, found, signedIn)
            }
        }
    }

    func staffStep(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let pairs = try await web.readFormPairs(request)
            let form = WebAuthController.firstValues(pairs)
            let key = form["step"] ?? ""
            return try await caseWork(request, context, signedIn, form: form, field: "steps") { found, _ in
                try await stores.cases.transition(
                    found.id, key, by: caller(signedIn), reason: form["reason-\(key)"], documents: pairs.filter { $0.0 == "documents-\(key)" }.map(\.1),
                    jurisdictionID: jurisdiction)
            }
        }
    }

    func staffNote(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await caseForm(request, context, field: "note-body") { form, found, signedIn in
            try await stores.cases.addNote(
                found.id, body: form["body"] ?? "", visibility: form["visibility"] == "applicant" ? .applicant : .internal, by: caller(signedIn),
                jurisdictionID: jurisdiction)
        }
    }

    /// A task for the signed-in staff member (or the applicant), due at the end of a day.
    func staffTask(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await caseForm(request, context, field: "task-title") { form, found, signedIn in
            var due: Date?
            if let day = form["due"], !day.isEmpty {
                guard let midnight = try? DayPlanner(zone: configuration.jurisdiction.timeZone).midnight(of: day) else {
                    throw CivitasError.invalid("due_invalid", t(request, "staff_cases_task_due_invalid"), field: "task-title")
                }
                due = midnight.addingTimeInterval(17 * 3600)
            }
            try await stores.cases.addTask(
                found.id, title: form["title"] ?? "", assignee: form["for"] == "applicant" ? "applicant" : String(signedIn.user.id), due: due,
                by: caller(signedIn), jurisdictionID: jurisdiction)
        }
    }

    func staffTaskDone(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await caseForm(request, context, field: "tasks") { _, found, signedIn in
            try await stores.cases.completeTask(
                context.parameters.get("task").flatMap(Int64.init) ?? 0, caseID: found.id, by: caller(signedIn), jurisdictionID: jurisdiction)
        }
    }

    /// Someone else on the case: a household member, an authorised representative who called in, the lender.
    func staffAddParty(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await caseForm(request, context, field: "party-name", namesFields: true) { form, found, signedIn in
            try await stores.cases.addParty(
                found.id, role: form["role"] ?? "", name: form["name"] ?? "", email: form["email"], by: caller(signedIn), jurisdictionID: jurisdiction,
                field: { "party-\($0)" })
        }
    }

    func staffRemoveParty(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await caseForm(request, context, field: "parties") { _, found, signedIn in
            try await stores.cases.removeParty(
                context.parameters.get("party").flatMap(Int64.init) ?? 0, caseID: found.id, by: caller(signedIn), jurisdictionID: jurisdiction)
        }
    }

    /// Staff add a document to a case (an inspection report, a scanned letter from the applicant).
    func staffUpload(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            // The largest document any type may take (25 MB); the type's own limit is checked when it is stored.
            let (form, upload) = try await readForm(request, limit: 25 * 1_048_576 + 64 * 1024)
            return try await caseWork(request, context, signedIn, form: form, field: "staff-file") { found, _ in
                guard let upload, !upload.bytes.isEmpty else {
                    throw CivitasError.invalid("file_missing", t(request, "cases_choose_file"), field: "staff-file")
                }
                try await stores.cases.addDocument(
                    found.id, type: form["type"] ?? "", filename: upload.filename, contentType: upload.contentType ?? "", bytes: upload.bytes,
                    by: caller(signedIn), jurisdictionID: jurisdiction)
            }
        }
    }

    func staffDocument(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let (found, _) = try await staffReadable(request, context, signedIn)
            guard
                let file = try await CaseAccess.documentFile(
                    found, documentID: context.parameters.get("document"), stores: stores,
                    reader: (signedIn.identity.actor.auditName, "case work", signedIn.origin.source))
            else { throw failure(request, .notFound, "cases_not_found") }
            return file
        }
    }

    func typesPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            try await typesView(request, signedIn: signedIn, notice: request.uri.queryParameters.get("imported"))
        }
    }

    func typesView(
        _ request: Request, signedIn: StaffController.Staff, notice: String? = nil, mistakes: [String] = [], errors: [FieldError] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let types = try await stores.cases.types(jurisdictionID: jurisdiction)
        return web.page(
            "staff-casetypes", title: t(request, "staff_casetypes_title"), request: request, identity: signedIn.identity,
            values: [
                "types": types.map { ["key": $0.key, "name": $0.name, "department": $0.department, "version": $0.version] }, "none": types.isEmpty,
                "canImport": Permissions.decide(signedIn.identity.actor, .manageCaseTypes, on: .jurisdiction(jurisdiction)).allowed,
                "notice": notice.map { t(request, "staff_casetypes_imported", ["name": $0]) } ?? "", "mistakes": mistakes, "hasMistakes": !mistakes.isEmpty,
            ],
            status: status, errors: errors)
    }

    /// Admins import a case type file from the browser, as `civitas casetypes import` does; every mistake is listed.
    func importTypePage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let (form, upload) = try await readForm(request, limit: 1_100_000)
            try web.checkCSRF(form, request: request, session: signedIn.identity.session)
            guard Permissions.decide(signedIn.identity.actor, .manageCaseTypes, on: .jurisdiction(jurisdiction)).allowed else {
                throw failure(request, .forbidden, "staff_cases_refused")
            }
            guard let upload, !upload.bytes.isEmpty, let text = String(validating: upload.bytes, as: UTF8.self) else {
                return try await typesView(
                    request, signedIn: signedIn, errors: [FieldError(field: "definition", message: t(request, "staff_casetypes_choose"))], status: .badRequest)
            }
            do {
                let type = try await stores.cases.importType(text, createdBy: signedIn.identity.actor.auditName, jurisdictionID: jurisdiction)
                var components = URLComponents()
                components.queryItems = [URLQueryItem(name: "imported", value: "\(type.name) v\(type.version)")]
                return web.redirect("/staff/casetypes?" + (components.percentEncodedQuery ?? ""))
            } catch let error as CivitasError {
                let lines = error.message.split(separator: "\n").dropFirst().map(String.init)
                return try await typesView(
                    request, signedIn: signedIn, mistakes: lines.isEmpty ? [error.message] : lines,
                    errors: [FieldError(field: "definition", message: t(request, "staff_casetypes_mistakes"))], status: .badRequest)
            }
        }
    }

    /// A type as a diagram of its states and steps (drawn on the server as SVG, so it needs no script), with the
    /// same content as lists for screen readers and small screens.
    func typePage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let version = request.uri.queryParameters.get("version").flatMap(Int.init)
            guard let key = context.parameters.get("key"), let type = try await stores.cases.type(key, version: version, jurisdictionID: jurisdiction) else {
                throw failure(request, .notFound, "cases_not_found")
            }
            return web.page(
                "staff-casetype", title: type.name, request: request, identity: signedIn.identity,
                values: [
                    "name": type.name, "key": type.key, "version": type.version, "department": type.department, "description": type.description,
                    "diagram": CaseDiagram.svg(type),
                    "states": type.states.map { state -> [String: Any] in
                        ["key": state.key, "label": state.label, "sla": state.serviceLevel?.description ?? "", "final": state.final,
                         "waiting": state.waitingOnApplicant,
                         "steps": type.transitions(from: state.key).map { step -> [String: Any] in
                            ["label": step.label, "to": type.state(step.to)?.label ?? step.to, "by": step.by.map(\.name).sorted().joined(separator: ", "),
                             "guard": CaseDiagram.guardText(step, type)]
                         }]
                    },
                    "rules": type.rules.map { ["id": $0.id, "version": $0.version, "label": $0.label, "when": $0.condition.source] },
                    "automations": type.automations.map { ["name": $0.name] },
                    "questions": type.fields.map { ["label": $0.label, "type": $0.type.rawValue, "required": $0.required, "when": $0.when?.source ?? ""] },
                ])
        }
    }
}

/// Draws a case type's workflow as SVG: states in rows by their distance from the first, steps as arrows.
enum CaseDiagram {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func guardText(_ step: CaseTransition, _ type: CaseType) -> String {
        var parts: [String] = []
        if step.guarding.fieldsValid { parts.append("all answers valid") }
        parts += step.guarding.documents.map { "has " + (type.document($0)?.label ?? $0) }
        parts += step.guarding.rules.map { "rule \($0) passes" }
        if let condition = step.guarding.condition { parts.append(condition.source) }
        if step.reasonRequired { parts.append("a reason") }
        return parts.joined(separator: "; ")
    }

    static func svg(_ type: CaseType) -> String {
        // Rank each state by the fewest steps from the first (breadth first); unreachable ones go last.
        var rank: [String: Int] = [type.initialState.key: 0]
        var queue = [type.initialState.key]
        while !queue.isEmpty {
            let state = queue.removeFirst()
            for step in type.transitions(from: state) where rank[step.to] == nil {
                rank[step.to] = rank[state]! + 1
                queue.append(step.to)
            }
        }
        let deepest = (rank.values.max() ?? 0) + 1
        for state in type.states where rank[state.key] == nil { rank[state.key] = deepest }
        var rows: [Int: [CaseState]] = [:]
        for state in type.states { rows[rank[state.key]!, default: []].append(state) }
        let boxWidth = 150.0, boxHeight = 40.0, gapX = 30.0, gapY = 70.0
        let widest = rows.values.map(\.count).max() ?? 1
        let width = Double(widest) * (boxWidth + gapX) + gapX
        let height = Double(rows.count) * (boxHeight + gapY) + gapY
        var position: [String: (x: Double, y: Double)] = [:]
        for (row, states) in rows {
            let offset = (width - Double(states.count) * (boxWidth + gapX) + gapX) / 2
            for (column, state) in states.enumerated() {
                position[state.key] = (offset + Double(column) * (boxWidth + gapX), gapY / 2 + Double(row) * (boxHeight + gapY))
            }
        }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(width)) \(Int(height))" class="diagram" role="img" aria-label="\(escape(type.name)): \(type.states.count) states and \(type.transitions.count) steps, listed below">
            <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#444"/></marker></defs>
            """
        for step in type.transitions {
            guard let to = position[step.to] else { continue }
            for from in step.from {
                guard let start = position[from], from != step.to else { continue }
                let x1 = start.x + boxWidth / 2, y1 = start.y + (to.y > start.y ? boxHeight : to.y < start.y ? 0 : boxHeight / 2)
                let x2 = to.x + boxWidth / 2, y2 = to.y + (to.y > start.y ? 0 : to.y < start.y ? boxHeight : boxHeight / 2)
                let bend = to.y <= start.y ? 60.0 : 0
                out += "<path d=\"M \(x1) \(y1) Q \((x1 + x2) / 2 + bend) \((y1 + y2) / 2) \(x2) \(y2)\" fill=\"none\" stroke=\"#444\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"><title>\(escape(step.label))</title></path>"
                out += "<text x=\"\((x1 + x2) / 2 + bend / 2 + 4)\" y=\"\((y1 + y2) / 2)\" font-size=\"11\" fill=\"#222\">\(escape(String(step.label.prefix(28))))</text>"
            }
        }
        for state in type.states {
            guard let at = position[state.key] else { continue }
            let fill = state.final ? "#e6f0e6" : state.waitingOnApplicant ? "#fff4d6" : state.key == type.initialState.key ? "#e8eef8" : "#ffffff"
            out += "<rect x=\"\(at.x)\" y=\"\(at.y)\" width=\"\(boxWidth)\" height=\"\(boxHeight)\" rx=\"6\" fill=\"\(fill)\" stroke=\"#222\" stroke-width=\"\(state.final ? 2.5 : 1.5)\"/>"
            out += "<text x=\"\(at.x + boxWidth / 2)\" y=\"\(at.y + 17)\" text-anchor=\"middle\" font-size=\"13\" fill=\"#111\">\(escape(String(state.label.prefix(22))))</text>"
            if let level = state.serviceLevel {
                out += "<text x=\"\(at.x + boxWidth / 2)\" y=\"\(at.y + 32)\" text-anchor=\"middle\" font-size=\"10\" fill=\"#333\">SLA \(escape(level.description))</text>"
            }
        }
        return out + "</svg>"
    }
}
