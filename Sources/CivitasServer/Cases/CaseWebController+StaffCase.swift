import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One case as staff see it: the page, steps, notes, tasks, people and documents.
extension CaseWebController {
    func staffCase(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let (found, type) = try await staffReadable(request, context, signedIn)
            try await stores.audit.append(
                AuditEvent(
                    actor: signedIn.identity.actor.auditName, action: "case.read_personal", subject: "case:\(found.id)",
                    person: found.applicantID.map { "user:\($0)" }, fields: found.data.keys.filter { type.field($0)?.personal ?? true }.sorted(),
                    purpose: "case work", source: signedIn.origin.source),
                jurisdictionID: jurisdiction)
            return try await staffCaseView(
                request, signedIn: signedIn, found: found, type: type,
                notice: request.query.get("done").map { _ in t(request, "staff_done") })
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
        let people = try await staff.people()
        func named(_ actor: String) -> String { people.name(actor, request, web: web) }
        if let assignee = found.assigneeID { assigneeName = named("staff:\(assignee)") }
        let uploaded = Set(documents.map(\.type))
        let steps = type.transitions(from: found.state).filter { $0.by.contains(role) }.map { step -> [String: Any] in
            let why = stepProblems(step, found: found, type: type, role: role, documents: uploaded)
            return [
                "key": step.key, "label": step.label, "reason": step.reasonRequired, "asks": step.asksForDocuments,
                "documents": type.documents.map { ["docKey": $0.key, "label": $0.label, "step": step.key] },
                "blocked": !why.isEmpty, "why": why.map { ["text": $0] }, "warning": Self.isRefusal(step, type: type),
            ]
        }
        return web.page(
            "cases/staff-case", title: t(request, "staff_case_title", ["id": String(found.id), "name": type.name]), request: request,
            identity: signedIn.identity,
            values: [
                "id": found.id, "caseID": found.id, "name": type.name, "version": type.version, "typeKey": type.key,
                "state": type.state(found.state)?.label ?? found.state,
                "queue": found.queue, "due": date(found.dueAt, request), "assignee": assigneeName,
                "answers": type.fields.filter { type.applies($0, data: found.data, documents: Set(documents.map(\.type)), now: Date()) }.map {
                    field in
                    [
                        "label": field.label,
                        "value": field.type == .document
                            ? type.display(documents.contains { $0.type == field.key } ? .bool(true) : nil, of: field)
                            : type.display(found.data[field.key], of: field),
                    ]
                },
                "documents": documents.map {
                    [
                        "id": $0.id, "label": type.document($0.type)?.label ?? $0.type, "version": $0.version, "filename": $0.filename,
                        "when": date($0.at, request),
                    ]
                },
                "decisions": try await stores.cases.decisions(of: found.id).map {
                    ["rule": $0.ruleID, "version": $0.ruleVersion, "passed": $0.passed, "text": $0.explanation, "when": date($0.at, request)]
                },
                "tasks": try await stores.cases.tasks(of: found.id).map {
                    [
                        "taskID": $0.id, "title": $0.title,
                        "who": $0.assignee == "applicant" ? t(request, "staff_cases_applicant") : named("staff:\($0.assignee)"),
                        "due": date($0.dueAt, request), "done": $0.doneAt != nil,
                        "mineOpen": $0.doneAt == nil && $0.assignee != "applicant" && canWork,
                    ]
                },
                "timeline": try await stores.cases.events(of: found.id, includeInternal: true).reversed().map {
                    [
                        "when": date($0.at, request), "who": $0.actor.hasPrefix("resident:") ? t(request, "staff_cases_applicant") : named($0.actor),
                        "body": Self.namingStaff($0.body ?? "", named), "internal": $0.visibility == .internal,
                    ]
                },
                "documentTypes": type.documents.map { ["key": $0.key, "label": $0.label] },
                "parties": try await stores.cases.parties(of: found.id).map {
                    ["partyID": $0.id, "role": $0.role, "name": $0.name, "email": $0.email ?? ""]
                },
                "partyRoles": ["household member", "authorised representative", "lender", "employer", "supervisor"],
                "steps": steps, "canWork": canWork && found.closedAt == nil, "closed": found.closedAt != nil, "notice": notice ?? "",
            ],
            status: status, errors: errors)
    }

    /// A line Civitas wrote ("Pulled from the queue by staff 2.") with each staff member named as people know them.
    static func namingStaff(_ text: String, _ named: (String) -> String) -> String {
        guard let pattern = try? NSRegularExpression(pattern: #"\bstaff (\d+)\b"#) else { return text }
        var result = text
        for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
            guard let whole = Range(match.range, in: result), let id = Range(match.range(at: 1), in: result) else { continue }
            result.replaceSubrange(whole, with: named("staff:\(result[id])"))
        }
        return result
    }

    /// Why the rules would refuse a step now, in staff words (a rule by its id and name); empty when it may be taken.
    /// The reason a step asks for is typed in its form, so it is not counted here.
    func stepProblems(_ step: CaseTransition, found: CaseRecord, type: CaseType, role: CaseActor, documents: Set<String>) -> [String] {
        let check = type.check(step, from: found.state, by: role, data: found.data, documents: documents, reason: "given", now: Date())
        let failed = Dictionary(
            check.decisions.filter { !$0.passed }.map { ($0.text, $0) }, uniquingKeysWith: { first, _ in first })
        return check.problems.map { problem in
            guard let decision = failed[problem], let rule = type.rule(decision.ruleID) else { return problem }
            return web.catalog.text(
                "staff_cases_rule_not_met", .english, ["rule": "\(rule.id) v\(rule.version)", "name": rule.label, "text": problem])
        }
    }

    /// A step that turns an application down (it ends the case and must give a reason, or is named so): shown in the
    /// warning colour, never like the step that approves.
    static func isRefusal(_ step: CaseTransition, type: CaseType) -> Bool {
        guard type.state(step.to)?.final == true else { return false }
        return step.reasonRequired || ["deny", "reject", "refuse", "decline"].contains { step.key.contains($0) }
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
                request, signedIn: signedIn, found: found, type: type,
                errors: [FieldError(field: namesFields ? error.field ?? field : field, message: error.message)], status: status)
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
            let form = Web.firstValues(pairs)
            let key = form["step"] ?? ""
            return try await caseWork(request, context, signedIn, form: form, field: "steps") { found, _ in
                try await stores.cases.transition(
                    found.id, key, by: caller(signedIn), reason: form["reason-\(key)"],
                    documents: pairs.filter { $0.0 == "documents-\(key)" }.map(\.1),
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
                found.id, role: form["role"] ?? "", name: form["name"] ?? "", email: form["email"], by: caller(signedIn),
                jurisdictionID: jurisdiction,
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
}
