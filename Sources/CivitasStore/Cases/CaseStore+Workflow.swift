import CivitasCore
import Foundation
import SQLKit

/// Opening cases and taking their steps: answers checked against the type, rules decided and kept, automations run, the applicant told.
extension CaseStore {
    // MARK: Writing

    /// Checks answers against the type: unknown fields and invalid values are refused, each named.
    static func validate(_ data: [String: JSONValue], type: CaseType) throws {
        for (key, value) in data.sorted(by: { $0.key < $1.key }) {
            guard let field = type.field(key), field.type != .document else {
                throw CivitasError.invalid("field_unknown", "\(type.name) has no question \u{201C}\(key)\u{201D}.", field: "data.\(key)")
            }
            if value == .null || value == .string("") { continue }
            var optional = field
            optional.required = false
            if let problem = type.problem(with: value, for: optional) { throw CivitasError.invalid("field_invalid", problem, field: "data.\(key)") }
        }
    }

    /// Opens a case in the type's first state; with `submit`, takes the type's `submit` step at once (a partner
    /// or staff filing a complete application).
    public func create(
        typeKey: String, data: [String: JSONValue], by caller: CaseCaller, applicantID: Int64? = nil,
        parties: [(role: String, name: String, email: String?)] = [],
        submit: Bool = false, language: Language = .english, jurisdictionID: String, now: Date = Date()
    ) async throws -> CaseRecord {
        try await database.transaction { [self] sql in
            try await create(
                typeKey: typeKey, data: data, by: caller, applicantID: applicantID, parties: parties, submit: submit, language: language,
                jurisdictionID: jurisdictionID, now: now, sql: sql)
        }
    }

    /// Creates a case inside the caller's transaction (the API's idempotent create keeps its key in the same one).
    public func create(
        typeKey: String, data: [String: JSONValue], by caller: CaseCaller, applicantID: Int64? = nil,
        parties: [(role: String, name: String, email: String?)] = [],
        submit: Bool = false, language: Language = .english, jurisdictionID: String, now: Date = Date(), sql: any SQLDatabase
    ) async throws -> CaseRecord {
        guard let type = try await type(typeKey, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("case_type_not_found", "There is no case type \u{201C}\(typeKey)\u{201D}.")
        }
        try Self.validate(data, type: type)
        let id = try await insertCase(
            type, data: data, by: caller, applicantID: applicantID, parties: parties, submit: submit, language: language,
            jurisdictionID: jurisdictionID,
            now: now, sql: sql)
        return try await Self.fetch(id, jurisdictionID: jurisdictionID, sql: sql)
    }

    static func fetch(_ id: Int64, jurisdictionID: String, sql: any SQLDatabase) async throws -> CaseRecord {
        guard
            let row = try await sql.select().columns(caseColumns.map { SQLColumn($0) }).from("cases").where("jurisdiction_id", .equal, jurisdictionID)
                .where("id", .equal, id).first()
        else { throw CivitasError.notFound("case_not_found", "There is no case \(id).") }
        return try decodeCase(row)
    }

    func insertCase(
        _ type: CaseType, data: [String: JSONValue], by caller: CaseCaller, applicantID: Int64?,
        parties: [(role: String, name: String, email: String?)],
        submit: Bool, language: Language = .english, jurisdictionID: String, now: Date, sql: any SQLDatabase
    ) async throws -> Int64 {
        let parties = try parties.map { try CaseParty.checked(role: $0.role, name: $0.name, email: $0.email, field: { _ in "parties" }) }
        let snapshot = CaseSnapshot(state: type.initialState.key, queue: type.defaultQueue, data: data, documents: [], stateEnteredAt: now)
        let row = try await sql.insert(into: "cases")
            .columns(
                "jurisdiction_id", "type_key", "type_version", "department", "state", "queue", "workable", "assignee_id", "applicant_id", "partner",
                "data",
                "created_at", "updated_at", "submitted_at", "state_entered_at", "due_at", "closed_at", "language"
            )
            .values(
                SQLBind(jurisdictionID), SQLBind(type.key), SQLBind(type.version), SQLBind(type.department), SQLBind(snapshot.state),
                SQLBind(snapshot.queue), SQLBind(0), SQLBind(Int64?.none), SQLBind(applicantID),
                SQLBind(caller.actor == .partner ? caller.name : nil), SQLBind(JSONValue.object(data).jsonText), SQLBind(Clock.millis(now)),
                SQLBind(Clock.millis(now)), SQLBind(Int64?.none), SQLBind(Clock.millis(now)), SQLBind(Int64?.none), SQLBind(Int64?.none),
                SQLBind(language.rawValue)
            )
            .returning("id").first()
        guard let id = try row?.decode(column: "id", as: Int64.self) else {
            throw CivitasError.invalid("case_not_created", "The case could not be created.")
        }
        try await event(
            id, kind: "created", actor: caller.name, visibility: .applicant, body: CaseWords.started(type.name, .english), now: now, sql: sql)
        for party in parties {
            try await sql.insert(into: "case_parties").columns("case_id", "role", "name", "email", "created_at")
                .values(SQLBind(id), SQLBind(party.role), SQLBind(party.name), SQLBind(party.email), SQLBind(Clock.millis(now))).run()
        }
        try await webhook(
            "case.created", caseID: id, type: type, state: snapshot.state, extra: [:], jurisdictionID: jurisdictionID, now: now, sql: sql)
        if submit {
            guard type.transition("submit") != nil else {
                throw CivitasError.invalid("submit_unknown", "\(type.name) has no step named submit.", field: "submit")
            }
            try await take(id, "submit", by: caller, reason: nil, documents: [], jurisdictionID: jurisdictionID, now: now, sql: sql)
        }
        // Last: appending to the audit chain locks its head row until commit, so the rest of the work is done first.
        try await AuditStore.append(
            AuditEvent(
                actor: caller.name, action: "case.create", subject: "case:\(id)", person: applicantID.map { "user:\($0)" },
                fields: data.keys.filter { type.field($0)?.personal == true }.sorted()),
            jurisdictionID: jurisdictionID, at: now, sql: sql)
        return id
    }

    /// Changes answers. Applicants change theirs only while the case is a draft or waits on them; nobody changes a
    /// closed case.
    public func update(_ caseID: Int64, data: [String: JSONValue], by caller: CaseCaller, jurisdictionID: String, now: Date = Date()) async throws
        -> CaseRecord
    {
        guard let found = try await find(id: caseID, jurisdictionID: jurisdictionID),
            let type = try await type(found.typeKey, version: found.typeVersion, jurisdictionID: jurisdictionID)
        else { throw CivitasError.notFound("case_not_found", "There is no case \(caseID).") }
        try Self.validate(data, type: type)
        try await database.transaction { [self] sql in
            let current = try await lock(caseID, jurisdictionID: jurisdictionID, sql: sql)
            guard current.closedAt == nil else {
                throw CivitasError(.conflict, code: "case_closed", message: "Case \(caseID) is closed; its answers stay as they are.")
            }
            if caller.actor == .applicant, current.state != type.initialState.key, type.state(current.state)?.waitingOnApplicant != true {
                throw CivitasError(.conflict, code: "case_locked", message: "The case is with the agency now; send a message to change an answer.")
            }
            var merged = current.data
            for (key, value) in data { merged[key] = value == .null ? nil : value }
            try await sql.update("cases").set("data", to: SQLBind(JSONValue.object(merged).jsonText)).set(
                "updated_at", to: SQLBind(Clock.millis(now))
            )
            .where("id", .equal, caseID).run()
            let names = data.keys.sorted().map { type.field($0)?.label ?? $0 }
            try await event(
                caseID, kind: "updated", actor: caller.name, visibility: .applicant, body: "Answers changed: \(names.joined(separator: "; ")).",
                now: now, sql: sql)
            try await AuditStore.append(
                AuditEvent(
                    actor: caller.name, action: "case.update", subject: "case:\(caseID)", person: current.applicantID.map { "user:\($0)" },
                    fields: data.keys.sorted()),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
        return try await find(id: caseID, jurisdictionID: jurisdictionID)!
    }

    func lock(_ caseID: Int64, jurisdictionID: String, sql: any SQLDatabase) async throws -> CaseRecord {
        let select = sql.select().columns(Self.caseColumns.map { SQLColumn($0) }).from("cases").where("jurisdiction_id", .equal, jurisdictionID)
            .where("id", .equal, caseID)
        if sql.dialect.name == "postgresql" { select.lockingClause(SQLRaw("FOR UPDATE")) }
        guard let row = try await select.first() else { throw CivitasError.notFound("case_not_found", "There is no case \(caseID).") }
        return try Self.decodeCase(row)
    }

    /// Takes a step of the case's workflow. `documents` names what the applicant must now provide, for a step that
    /// asks for documents: each becomes a task of theirs, due when the waiting state's service level ends.
    @discardableResult
    public func transition(
        _ caseID: Int64, _ key: String, by caller: CaseCaller, reason: String? = nil, documents: [String] = [], jurisdictionID: String,
        now: Date = Date()
    ) async throws -> CaseRecord {
        try await database.transaction { [self] sql in
            try await take(caseID, key, by: caller, reason: reason, documents: documents, jurisdictionID: jurisdictionID, now: now, sql: sql)
        }
        return try await find(id: caseID, jurisdictionID: jurisdictionID)!
    }

    func take(
        _ caseID: Int64, _ key: String, by caller: CaseCaller, reason: String?, documents requested: [String], jurisdictionID: String, now: Date,
        sql: any SQLDatabase
    ) async throws {
        let current = try await lock(caseID, jurisdictionID: jurisdictionID, sql: sql)
        guard let type = try await type(current.typeKey, version: current.typeVersion, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("case_type_not_found", "The case's type is missing.")
        }
        if let reason, reason.unicodeScalars.count > 5000 {
            throw CivitasError.invalid("reason_invalid", "A reason has at most 5000 characters.", field: "reason")
        }
        guard let step = type.transition(key) else {
            throw CivitasError.invalid("transition_unknown", "\(type.name) has no step \u{201C}\(key)\u{201D}.", field: "transition")
        }
        if step.asksForDocuments {
            guard !requested.isEmpty else {
                throw CivitasError.invalid("documents_missing", "Name the documents the applicant must provide.", field: "documents")
            }
            for document in requested where type.document(document) == nil {
                throw CivitasError.invalid("document_unknown", "\(type.name) takes no document \u{201C}\(document)\u{201D}.", field: "documents")
            }
        }
        let snapshot = CaseSnapshot(
            state: current.state, queue: current.queue, data: current.data, documents: try await Self.documentTypes(caseID, sql: sql),
            stateEnteredAt: current.stateEnteredAt)
        let (next, effects): (CaseSnapshot, [CaseEffect])
        do {
            (next, effects) = try type.take(key, by: caller.actor, actorName: caller.name, on: snapshot, reason: reason, now: now)
        } catch let refusal {
            throw Self.refusal(refusal)
        }
        try await apply(
            effects, to: current, next: next, type: type, requested: step.asksForDocuments ? requested : [], by: caller, now: now, sql: sql)
    }

    /// Writes what the workflow decided: the case row, the timeline, decisions, tasks, mail and webhooks.
    func apply(
        _ effects: [CaseEffect], to current: CaseRecord, next: CaseSnapshot, type: CaseType, requested: [String], by caller: CaseCaller, now: Date,
        sql: any SQLDatabase
    ) async throws {
        let caseID = current.id
        let jurisdictionID = current.jurisdictionID
        let state = type.state(next.state)
        let update = sql.update("cases").set("state", to: SQLBind(next.state)).set("queue", to: SQLBind(next.queue))
            .set("workable", to: SQLBind(type.isWork(next.state) ? 1 : 0)).set("updated_at", to: SQLBind(Clock.millis(now)))
            .set("state_entered_at", to: SQLBind(Clock.millis(next.stateEnteredAt))).set("due_at", to: SQLBind(type.due(next).map(Clock.millis)))
            .set("closed_at", to: SQLBind(state?.final == true ? Clock.millis(now) : nil))
        if current.submittedAt == nil, next.state != type.initialState.key { update.set("submitted_at", to: SQLBind(Clock.millis(now))) }
        // A case routed to another queue waits there for whoever pulls it next.
        if next.queue != current.queue { update.set("assignee_id", to: SQLBind(Int64?.none)) }
        try await update.where("id", .equal, caseID).run()
        // A queue that hands out its cases gives one that is now work and has nobody to the next eligible person.
        if type.isWork(next.state), next.queue != current.queue || current.assigneeID == nil || !type.isWork(current.state) {
            let assigned = next.queue != current.queue ? nil : current.assigneeID
            if assigned == nil,
                let person = try await Self.autoAssignee(queue: next.queue, department: type.department, jurisdictionID: jurisdictionID, sql: sql)
            {
                try await sql.update("cases").set("assignee_id", to: SQLBind(person.id)).where("id", .equal, caseID).run()
                try await event(
                    caseID, kind: "assigned", actor: "queue: \(next.queue)", visibility: .internal,
                    body: "Given to staff \(person.id) (\(person.how)).", now: now, sql: sql)
            }
        }

        // What the applicant is told, in the language they applied in.
        let applicantType = type.localized(current.language)
        var toldApplicant: [String] = []
        for effect in effects {
            switch effect {
            case .moved(let transition, let from, let to, let actor, let reason):
                let label = type.transition(transition)?.label ?? transition
                var body = "\(label): \(type.state(from)?.label ?? from) → \(type.state(to)?.label ?? to)."
                if let reason, !reason.isEmpty { body += CaseWords.withReason(reason, .english) }
                try await event(
                    caseID, kind: "transition", actor: actor, visibility: .applicant, from: from, to: to, transition: transition, body: body,
                    now: now, sql: sql)
                try await webhook(
                    "case.transitioned", caseID: caseID, type: type, state: to,
                    extra: ["from": .string(from), "to": .string(to), "transition": .string(transition)],
                    jurisdictionID: jurisdictionID, now: now, sql: sql)
                toldApplicant.append(applicantType.state(to)?.applicantText ?? to)
                if let reason, !reason.isEmpty { toldApplicant.append(reason) }
                if type.state(to)?.final == true {
                    try await sql.update("case_tasks").set("done_at", to: SQLBind(Clock.millis(now))).where("case_id", .equal, caseID)
                        .where("done_at", .is, SQLLiteral.null).run()
                }
            case .decided(let decision):
                try await sql.insert(into: "case_decisions").columns(
                    "case_id", "rule_id", "rule_version", "passed", "input", "explanation", "created_at"
                )
                .values(
                    SQLBind(caseID), SQLBind(decision.ruleID), SQLBind(decision.ruleVersion), SQLBind(decision.passed ? 1 : 0),
                    SQLBind(JSONValue.object(decision.values.mapValues { .string($0) }).jsonText), SQLBind(decision.text), SQLBind(Clock.millis(now))
                ).run()
                try await webhook(
                    "case.decided", caseID: caseID, type: type, state: next.state,
                    extra: [
                        "rule": .string(decision.ruleID), "rule_version": .integer(Int64(decision.ruleVersion)), "passed": .bool(decision.passed),
                    ],
                    jurisdictionID: jurisdictionID, now: now, sql: sql)
            case .routed(let queue, let automation):
                try await event(
                    caseID, kind: "routed", actor: "automation: \(automation)", visibility: .internal, body: "Routed to \(queue).", now: now, sql: sql
                )
            case .reminded(let message, let automation):
                try await event(
                    caseID, kind: "reminder", actor: "automation: \(automation)", visibility: .applicant, body: message, now: now, sql: sql)
                toldApplicant.append(applicantType.reminder(of: automation) ?? message)
            }
        }
        for document in requested {
            let label = type.document(document)?.label ?? document
            let due = state?.serviceLevel.map { type.calendar.deadline($0, from: now) }
            try await sql.insert(into: "case_tasks").columns("case_id", "title", "assignee", "document_type", "due_at", "created_by", "created_at")
                .values(
                    SQLBind(caseID), SQLBind("Upload: \(label)"), SQLBind("applicant"), SQLBind(document), SQLBind(due.map(Clock.millis)),
                    SQLBind(caller.name),
                    SQLBind(Clock.millis(now))
                ).run()
        }
        if !toldApplicant.isEmpty { try await mailApplicant(current, type: type, lines: toldApplicant, now: now, sql: sql) }
    }

    /// Mail to the applicant about their case, in the language they applied in (the type's translation for its
    /// texts, where it has one).
    func mailApplicant(_ found: CaseRecord, type: CaseType, lines: [String], now: Date, sql: any SQLDatabase) async throws {
        guard let applicant = found.applicantID,
            let email = try await sql.select().column("email").from("users").where("id", .equal, applicant).where("deleted_at", .is, SQLLiteral.null)
                .first()?
                .decode(column: "email", as: String.self)
        else { return }
        let name = type.localized(found.language).name
        let mail = CaseNotice.news(
            site: site, caseID: found.id, typeName: name, lines: lines, link: "\(publicURL)/my/cases/\(found.id)", language: found.language)
        try await MailOutboxStore.enqueue(to: email, subject: mail.subject, body: mail.body, jurisdictionID: found.jurisdictionID, now: now, sql: sql)
    }

    func event(
        _ caseID: Int64, kind: String, actor: String, visibility: CaseEvent.Visibility, from: String? = nil, to: String? = nil,
        transition: String? = nil,
        body: String?, now: Date, sql: any SQLDatabase
    ) async throws {
        try await sql.insert(into: "case_events")
            .columns("case_id", "kind", "actor", "visibility", "from_state", "to_state", "transition", "body", "created_at")
            .values(
                SQLBind(caseID), SQLBind(kind), SQLBind(actor), SQLBind(visibility.rawValue), SQLBind(from), SQLBind(to), SQLBind(transition),
                SQLBind(body),
                SQLBind(Clock.millis(now))
            ).run()
    }
}
