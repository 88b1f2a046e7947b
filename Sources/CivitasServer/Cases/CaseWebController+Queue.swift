import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Staff work lists: the cases page, taking the next case, bulk assignment, opening a case for a caller, answers.
extension CaseWebController {
    func caller(_ signedIn: StaffController.Staff) -> CaseCaller {
        CaseAccess.caller(signedIn.identity.actor) ?? CaseCaller(actor: .role("agent"), name: signedIn.identity.actor.auditName)
    }

    func staffCases(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let notice = request.query.get("empty") != nil ? try await whyNoCase(signedIn) : nil
            return try await casesView(request, signedIn: signedIn, notice: notice)
        }
    }

    /// Why "Next case" gave nothing, in words the agent can act on: the queues they work are empty, and cases waiting
    /// in queues that need a skill they lack (which a supervisor can add).
    func whyNoCase(_ signedIn: StaffController.Staff) async throws -> String {
        func text(_ key: String, _ values: [String: String] = [:]) -> String { web.catalog.text(key, .english, values) }
        let skills = try await stores.cases.skills(userID: signedIn.user.id)
        let queues = try await stores.cases.health(departments: CaseAccess.departments(signedIn.identity.actor), jurisdictionID: jurisdiction)
        guard !queues.isEmpty else { return text("staff_cases_why_no_queues") }
        let workable = queues.filter { Set($0.skills).isSubset(of: skills) }
        var lines = [
            workable.isEmpty
                ? text("staff_cases_why_no_skills")
                : text("staff_cases_why_empty", ["queues": workable.map(\.name).joined(separator: ", ")])
        ]
        for queue in queues where !Set(queue.skills).isSubset(of: skills) && queue.unassigned > 0 {
            let missing = queue.skills.filter { !skills.contains($0) }.sorted().joined(separator: ", ")
            lines.append(text("staff_cases_why_skill", ["queue": queue.name, "count": String(queue.unassigned), "skills": missing]))
        }
        return lines.joined(separator: " ")
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
        let people = try await staff.people()
        func row(_ found: CaseRecord) -> [String: Any] {
            [
                "id": found.id, "type": types[found.typeKey]?.name ?? found.typeKey,
                "state": types[found.typeKey]?.state(found.state)?.label ?? found.state,
                "queue": found.queue, "due": date(found.dueAt, request), "overdue": found.dueAt.map { $0 < Date() } ?? false,
                "assignee": found.assigneeID.map { people.name("staff:\($0)", request, web: web) } ?? "",
            ]
        }
        let supervise = Permissions.decide(actor, .superviseCases, on: .jurisdiction(jurisdiction)).allowed
        var values: [String: Any] = [
            "mine": try await stores.cases.list(mine).map(row),
            "canPull": Permissions.decide(actor, .workCases, on: .jurisdiction(jurisdiction)).allowed,
            "supervise": supervise, "notice": notice ?? "",
            "queues": try await stores.cases.queues(
                departments: CaseAccess.departments(actor), skills: try await stores.cases.skills(userID: signedIn.user.id),
                jurisdictionID: jurisdiction
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
                [
                    "name": queue.name, "department": queue.department, "waiting": queue.waiting, "unassigned": queue.unassigned,
                    "atRisk": queue.atRisk,
                    "overdue": queue.overdue, "oldest": date(queue.oldest, request),
                ]
            }
            var open = CaseStore.Query(jurisdictionID: jurisdiction)
            open.departments = departments
            open.openOnly = true
            open.limit = 200
            values["open"] = try await stores.cases.list(open).filter { types[$0.typeKey]?.isWork($0.state) ?? false }.map(row)
            values["colleagues"] = try await stores.users.list(jurisdictionID: jurisdiction, kind: .staff).filter { !$0.disabled }
                .map { ["id": $0.id, "email": $0.email] }
        }
        return web.page(
            "cases/staff-cases", title: t(request, "staff_cases_title"), request: request, identity: signedIn.identity, values: values,
            status: status, errors: errors)
    }

    func next(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let form = try await web.checkedForm(request, session: signedIn.identity.session)
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
                return try await casesView(
                    request, signedIn: signedIn, notice: nil, errors: [FieldError(field: "queue", message: error.message)], status: .forbidden)
            }
        }
    }

    func bulkAssign(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let pairs = try await web.readFormPairs(request)
            let form = Web.firstValues(pairs)
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
                return try await casesView(
                    request, signedIn: signedIn, notice: nil, errors: [FieldError(field: "ids", message: error.message)], status: .badRequest)
            }
            return web.redirect("/staff/cases?assigned=\(ids.count)")
        }
    }

    /// Opens a case for someone, linked to their resident account when their email has one, and goes to its answers.
    func staffOpen(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let form = try await web.checkedForm(request, session: signedIn.identity.session)
            do {
                guard let type = try await stores.cases.type(form["type"] ?? "", jurisdictionID: jurisdiction) else {
                    throw CivitasError.invalid("case_type_not_found", t(request, "staff_cases_open_type"), field: "open-type")
                }
                guard
                    Permissions.decide(
                        signedIn.identity.actor, .createCase, on: .record(jurisdictionID: jurisdiction, department: type.department, residentID: nil)
                    ).allowed
                else {
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
            let current =
                given[field.key] ?? found.data[field.key].map { value -> String in
                    if case .bool(let flag) = value { return flag ? "yes" : "no" }
                    return CaseType.plain(value)
                } ?? ""
            var item: [String: Any] = [
                "key": field.key, "label": field.label, "hint": field.hint ?? "", "value": current, "optional": !field.required,
                "when": field.when?.source ?? "", "error": problems["answer-" + field.key] ?? "",
                "choices": field.choices.map {
                    [
                        "key": $0.key, "label": $0.label, "selected": current == $0.key, "id": "answer-\(field.key)-\($0.key)",
                        "name": "answer-\(field.key)",
                    ]
                },
                "yes": current == "yes", "no": current == "no",
            ]
            item["is_" + field.type.rawValue] = true
            return item
        }
        return web.page(
            "cases/staff-case-answers", title: t(request, "staff_case_title", ["id": String(found.id), "name": type.name]), request: request,
            identity: signedIn.identity,
            values: [
                "id": found.id, "caseID": found.id, "name": type.name, "fields": fields, "closed": found.closedAt != nil, "currency": type.currency,
            ],
            status: status, errors: errors)
    }

    func staffSaveAnswers(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let form = try await web.checkedForm(request, session: signedIn.identity.session)
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
            guard let number = Double(raw.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: currency, with: "")) else {
                return .string(raw)
            }
            return number == number.rounded() && abs(number) < 1e15 ? .integer(Int64(number)) : .number(number)
        default: return .string(raw)
        }
    }

    func staffReadable(_ request: Request, _ context: CivitasRequestContext, _ signedIn: StaffController.Staff) async throws -> (CaseRecord, CaseType)
    {
        guard let id = context.parameters.get("id").flatMap(Int64.init),
            let found = try await stores.cases.find(id: id, jurisdictionID: jurisdiction),
            Permissions.decide(signedIn.identity.actor, .readCases, on: CaseAccess.target(found)).allowed,
            let type = try await stores.cases.type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdiction)
        else { throw failure(request, .notFound, "cases_not_found") }
        return (found, type)
    }
}
