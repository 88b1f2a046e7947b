import CivitasCore
import Foundation
import SQLKit
import Testing

@testable import CivitasStore

/// The example case types shipped with the server.
func exampleCaseType(_ name: String) throws -> String {
    // Tests/CivitasStoreTests/Cases/ -> the repository.
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Sources/CivitasServer/Resources/casetypes/\(name).yaml")
    return try String(contentsOf: url, encoding: .utf8)
}

let claimAnswers: [String: JSONValue] = [
    "full_name": .string("Maria Lopez"), "birth_date": .string("1988-04-02"), "mailing_address": .string("12 Elm St, Santa Fe NM"),
    "last_employer": .string("Acme Foods"), "last_day_worked": .string("2026-10-30"), "separation_reason": .string("laid_off"),
    "weekly_earnings": .integer(0), "able_and_available": .bool(true),
]

let pdf: [UInt8] = Array("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".utf8)

@Suite("Cases: types from files, workflows with guards and timers, queues, partners' webhooks")
struct CaseStoreTests {
    static let agent = CaseCaller(actor: .role("agent"), name: "staff:5", userID: 5)
    static let applicant = CaseCaller(actor: .applicant, name: "resident:9", userID: 9)

    @Test("a definition with mistakes is refused with every mistake's line and field, and nothing is imported", arguments: Engine.allCases)
    func invalidDefinition(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let cases = CaseStore(database: test.database)
            let text = try exampleCaseType("unemployment-claim")
                .replacingOccurrences(of: "    sla: 5 business days", with: "    sla: five days")
                .replacingOccurrences(of: "    when: weekly_earnings <= 300", with: "    when: weekly_earnings <= 300 and")
                .replacingOccurrences(of: "    to: approved", with: "    to: aproved")
            do {
                _ = try await cases.importType(text, createdBy: "cli", jurisdictionID: test.jurisdiction)
                Issue.record("a broken definition was imported")
            } catch let error as CivitasError {
                #expect(error.code == "definition_invalid")
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
                let slaLine = lines.firstIndex { $0.contains("sla: five days") }! + 1
                #expect(error.message.contains("line \(slaLine), states[2].sla: must read like"), "\(error.message)")
                #expect(error.message.contains("rules[1].when: at character"), "\(error.message)")
                #expect(error.message.contains(".to: names the unknown state \u{201C}aproved\u{201D}"), "\(error.message)")
            }
            #expect(try await cases.types(jurisdictionID: test.jurisdiction).isEmpty)
            await #expect(throws: CivitasError.self) {
                try await cases.importType("key: x\n  - : [", createdBy: "cli", jurisdictionID: test.jurisdiction)
            }
        }
    }

    @Test(
        "an unemployment claim's whole life: a guard refuses approval until the ID arrives; the decision keeps its values", arguments: Engine.allCases
    )
    func claimLife(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let cases = CaseStore(database: test.database)
            for name in ["unemployment-claim", "building-permit", "hr-request"] {
                #expect(try await cases.importType(try exampleCaseType(name), createdBy: "cli", jurisdictionID: test.jurisdiction).version == 1)
            }
            #expect(try await cases.importType(try exampleCaseType("hr-request"), createdBy: "cli", jurisdictionID: test.jurisdiction).version == 2)
            let start = Date(timeIntervalSince1970: 1_795_514_400)  // Tue 2026-11-24 05:00 UTC
            var earnings = claimAnswers
            earnings["weekly_earnings"] = .number(312)
            let draft = try await cases.create(
                typeKey: "unemployment-claim", data: ["full_name": .string("Maria Lopez")], by: Self.applicant,
                applicantID: nil, jurisdictionID: test.jurisdiction, now: start)
            #expect(draft.state == "draft" && !draft.workable)
            // Unknown questions and bad answers are refused, naming the field.
            await #expect(throws: CivitasError.self) {
                try await cases.update(draft.id, data: ["shoe_size": .integer(9)], by: Self.applicant, jurisdictionID: test.jurisdiction)
            }
            do {
                _ = try await cases.update(
                    draft.id, data: ["weekly_earnings": .string("lots")], by: Self.applicant, jurisdictionID: test.jurisdiction)
                Issue.record("a bad amount was taken")
            } catch let error as CivitasError {
                #expect(error.field == "data.weekly_earnings")
            }
            // Submitting a half-filled claim is refused with what is missing.
            do {
                try await cases.transition(draft.id, "submit", by: Self.applicant, jurisdictionID: test.jurisdiction, now: start)
                Issue.record("an incomplete claim was submitted")
            } catch let error as CivitasError {
                #expect(error.code == "transition_refused" && error.message.contains("Answer \u{201C}Your last employer\u{201D}."))
            }
            _ = try await cases.update(draft.id, data: earnings, by: Self.applicant, jurisdictionID: test.jurisdiction, now: start)
            let submitted = try await cases.transition(draft.id, "submit", by: Self.applicant, jurisdictionID: test.jurisdiction, now: start)
            #expect(submitted.state == "submitted" && submitted.workable && submitted.queue == "UI Claims")
            // 2 business days from Tuesday 05:00 (UTC here): Thursday is Thanksgiving, a holiday in the file, so Friday at
            // close of business (17:00).
            #expect(submitted.dueAt == Date(timeIntervalSince1970: 1_795_798_800))
            let decisions = try await cases.decisions(of: draft.id)
            let earningsRule = try #require(decisions.first { $0.ruleID == "UI-4" })
            #expect(!earningsRule.passed && earningsRule.ruleVersion == 2 && earningsRule.input == ["weekly_earnings": "$312"])
            #expect(earningsRule.explanation == "your weekly earnings of $312 are above the $300 limit in rule UI-4 v2")
            #expect(decisions.first { $0.ruleID == "UI-2" }?.passed == true)

            // An applicant may not review their own claim; an agent may.
            await #expect(throws: CivitasError.self) {
                try await cases.transition(draft.id, "start_review", by: Self.applicant, jurisdictionID: test.jurisdiction)
            }
            try await cases.transition(draft.id, "start_review", by: Self.agent, jurisdictionID: test.jurisdiction, now: start)
            do {
                try await cases.transition(draft.id, "approve", by: Self.agent, jurisdictionID: test.jurisdiction, now: start)
                Issue.record("approved without proof of identity and over the earnings limit")
            } catch let error as CivitasError {
                #expect(error.message.contains("Proof of identity (driver's license, state ID or passport) has not been provided."))
                #expect(error.message.contains("above the $300 limit"))
            }
            #expect(try await cases.find(id: draft.id, jurisdictionID: test.jurisdiction)?.state == "in_review", "a refused step changes nothing")
            await #expect(throws: CivitasError.self) {
                try await cases.transition(draft.id, "request_documents", by: Self.agent, reason: "Need ID", jurisdictionID: test.jurisdiction)
            }
            let waiting = try await cases.transition(
                draft.id, "request_documents", by: Self.agent, reason: "We need proof of identity.", documents: ["proof_of_identity"],
                jurisdictionID: test.jurisdiction, now: start)
            #expect(waiting.state == "waiting_on_applicant" && !waiting.workable)
            let task = try #require(try await cases.tasks(of: draft.id).first)
            #expect(task.assignee == "applicant" && task.documentType == "proof_of_identity" && task.doneAt == nil)
            // The applicant corrects the earnings (allowed while the case waits on them) and uploads the ID.
            _ = try await cases.update(draft.id, data: ["weekly_earnings": .integer(120)], by: Self.applicant, jurisdictionID: test.jurisdiction)
            await #expect(throws: CivitasError.self) {
                try await cases.addDocument(
                    draft.id, type: "proof_of_identity", filename: "id.txt", contentType: "application/pdf",
                    bytes: Array("not a pdf".utf8), by: Self.applicant, jurisdictionID: test.jurisdiction)
            }
            let uploaded = try await cases.addDocument(
                draft.id, type: "proof_of_identity", filename: "id.pdf", contentType: "application/pdf", bytes: pdf, by: Self.applicant,
                jurisdictionID: test.jurisdiction)
            #expect(uploaded.version == 1 && uploaded.contentType == "application/pdf")
            #expect(try await cases.tasks(of: draft.id).first?.doneAt != nil, "the upload completes the task")
            try await cases.transition(draft.id, "provide_documents", by: Self.applicant, jurisdictionID: test.jurisdiction)
            let approved = try await cases.transition(draft.id, "approve", by: Self.agent, jurisdictionID: test.jurisdiction)
            #expect(approved.state == "approved" && approved.closedAt != nil && !approved.workable)
            let final = try await cases.decisions(of: draft.id).filter { $0.ruleID == "UI-4" }
            #expect(final.last?.passed == true && final.last?.explanation == "your weekly earnings of $120 are within the $300 limit in rule UI-4 v2")
            let timeline = try await cases.events(of: draft.id, includeInternal: false)
            #expect(timeline.compactMap(\.transition) == ["submit", "start_review", "request_documents", "provide_documents", "approve"])
            #expect(timeline.contains { $0.body?.contains("Reason: We need proof of identity.") == true })
        }
    }

    @Test(
        "automations route on entering a state; timers remind at 14 days and close at 30, once each, with the clock injected",
        arguments: Engine.allCases)
    func automations(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let cases = CaseStore(database: test.database)
            _ = try await cases.importType(try exampleCaseType("unemployment-claim"), createdBy: "cli", jurisdictionID: test.jurisdiction)
            _ = try await cases.importType(try exampleCaseType("building-permit"), createdBy: "cli", jurisdictionID: test.jurisdiction)
            let start = Date(timeIntervalSince1970: 1_795_514_400)
            var quit = claimAnswers
            quit["separation_reason"] = .string("quit")
            quit["good_cause"] = .bool(true)
            let adjudication = try await cases.create(
                typeKey: "unemployment-claim", data: quit, by: Self.agent, submit: true, jurisdictionID: test.jurisdiction, now: start)
            #expect(adjudication.state == "submitted" && adjudication.queue == "UI Adjudication")
            let fast = try await cases.create(
                typeKey: "unemployment-claim", data: claimAnswers, by: Self.agent, submit: true, jurisdictionID: test.jurisdiction, now: start)
            #expect(fast.queue == "UI Fast-Track")
            // A permit's review starts by itself on submission (an automatic step), small projects go to their queue.
            let permit = try await cases.create(
                typeKey: "building-permit",
                data: [
                    "applicant_role": .string("owner"), "site_address": .string("4 Oak Ave"), "work_type": .string("deck"),
                    "description_of_work": .string("A 10 by 12 ft deck."), "project_value": .integer(4200), "floor_area": .integer(120),
                ],
                by: Self.agent, jurisdictionID: test.jurisdiction, now: start)
            try await cases.addDocument(
                permit.id, type: "site_plan", filename: "plan.pdf", contentType: "application/pdf", bytes: pdf, by: Self.agent,
                jurisdictionID: test.jurisdiction, now: start)
            let reviewing = try await cases.transition(permit.id, "submit", by: Self.agent, jurisdictionID: test.jurisdiction, now: start)
            #expect(reviewing.state == "plan_review" && reviewing.queue == "Small Projects")

            try await cases.transition(fast.id, "start_review", by: Self.agent, jurisdictionID: test.jurisdiction, now: start)
            try await cases.transition(
                fast.id, "request_documents", by: Self.agent, reason: "ID please", documents: ["proof_of_identity"],
                jurisdictionID: test.jurisdiction, now: start)
            let day: TimeInterval = 86_400
            #expect(try await cases.sweep(jurisdictionID: test.jurisdiction, now: start.addingTimeInterval(13 * day)) == 0)
            #expect(try await cases.sweep(jurisdictionID: test.jurisdiction, now: start.addingTimeInterval(15 * day)) == 1)
            #expect(try await cases.sweep(jurisdictionID: test.jurisdiction, now: start.addingTimeInterval(16 * day)) == 0, "a reminder goes once")
            let reminded = try await cases.events(of: fast.id, includeInternal: false).filter { $0.kind == "reminder" }
            #expect(reminded.count == 1 && reminded[0].body?.hasPrefix("We still need your documents") == true)
            #expect(try await cases.find(id: fast.id, jurisdictionID: test.jurisdiction)?.state == "waiting_on_applicant")
            #expect(try await cases.sweep(jurisdictionID: test.jurisdiction, now: start.addingTimeInterval(31 * day)) == 1)
            let closed = try #require(try await cases.find(id: fast.id, jurisdictionID: test.jurisdiction))
            #expect(closed.state == "abandoned" && closed.closedAt != nil)
            #expect(try await cases.tasks(of: fast.id).allSatisfy { $0.doneAt != nil }, "nothing is left asked of the applicant")
        }
    }

    @Test("20 agents pulling at once never get the same case; pulls follow queue skills; reassignment is all or none", arguments: Engine.allCases)
    func pulls(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let cases = CaseStore(database: test.database)
            _ = try await cases.importType(try exampleCaseType("unemployment-claim"), createdBy: "cli", jurisdictionID: test.jurisdiction)
            var ids: [Int64] = []
            for index in 0..<30 {
                var data = claimAnswers
                data["weekly_earnings"] = .integer(Int64(index))
                ids.append(
                    try await cases.create(typeKey: "unemployment-claim", data: data, by: Self.agent, submit: true, jurisdictionID: test.jurisdiction)
                        .id)
            }
            let pulled = try await withThrowingTaskGroup(of: Int64?.self) { group in
                for agent in 1...20 {
                    group.addTask {
                        try await cases.pull(
                            userID: Int64(agent), departments: ["Workforce Solutions"], skills: ["ui"], jurisdictionID: test.jurisdiction)?.id
                    }
                }
                return try await group.reduce(into: [Int64]()) { if let id = $1 { $0.append(id) } }
            }
            #expect(pulled.count == 20 && Set(pulled).count == 20, "each agent got a different case")
            #expect(try await cases.list(CaseStore.Query(jurisdictionID: test.jurisdiction)).filter { $0.assigneeID != nil }.count == 20)
            // Adjudication needs a skill this agent lacks; another department's agent gets nothing.
            await #expect(throws: CivitasError.self) {
                try await cases.pull(
                    userID: 1, departments: ["Workforce Solutions"], skills: ["ui"], queue: "UI Adjudication", jurisdictionID: test.jurisdiction)
            }
            #expect(try await cases.pull(userID: 99, departments: ["Parks"], skills: ["ui"], jurisdictionID: test.jurisdiction) == nil)
            let health = try await cases.health(departments: ["*"], jurisdictionID: test.jurisdiction)
            let fastTrack = try #require(health.first { $0.name == "UI Claims" })
            #expect(fastTrack.waiting + (health.first { $0.name == "UI Fast-Track" }?.waiting ?? 0) == 30)
            // Reassigning a closed case with others refuses them all.
            try await cases.transition(ids[0], "withdraw", by: CaseCaller(actor: .applicant, name: "resident:1"), jurisdictionID: test.jurisdiction)
            await #expect(throws: CivitasError.self) {
                try await cases.assign([ids[1], ids[0]], to: 77, by: Self.agent, jurisdictionID: test.jurisdiction)
            }
            #expect(try await cases.find(id: ids[1], jurisdictionID: test.jurisdiction)?.assigneeID != 77)
            try await cases.assign([ids[1], ids[2]], to: 77, by: Self.agent, jurisdictionID: test.jurisdiction)
            var mine = CaseStore.Query(jurisdictionID: test.jurisdiction)
            mine.assigneeID = 77
            #expect(try await cases.list(mine).map(\.id).sorted() == [ids[1], ids[2]])
        }
    }

    @Test(
        "a create under one idempotency key happens once, however often it is sent; the key with another body is refused", arguments: Engine.allCases)
    func idempotency(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let cases = CaseStore(database: test.database)
            _ = try await cases.importType(try exampleCaseType("unemployment-claim"), createdBy: "cli", jurisdictionID: test.jurisdiction)
            let key = "loan-\(UUID().uuidString)"
            let answers = try await withThrowingTaskGroup(of: (Int, String, Bool).self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        try await cases.idempotent(caller: "partner:los", key: key, fingerprint: "f1", jurisdictionID: test.jurisdiction) { sql in
                            let created = try await cases.create(
                                typeKey: "unemployment-claim", data: claimAnswers, by: CaseCaller(actor: .partner, name: "partner:los"), submit: true,
                                jurisdictionID: test.jurisdiction, sql: sql)
                            return (201, "{\"id\":\(created.id)}")
                        }
                    }
                }
                return try await group.reduce(into: [(Int, String, Bool)]()) { $0.append($1) }
            }
            #expect(Set(answers.map(\.1)).count == 1 && answers.filter { !$0.2 }.count == 1, "\(answers)")
            #expect(try await cases.list(CaseStore.Query(jurisdictionID: test.jurisdiction)).count == 1)
            do {
                _ = try await cases.idempotent(caller: "partner:los", key: key, fingerprint: "f2", jurisdictionID: test.jurisdiction) { _ in
                    (201, "{}")
                }
                Issue.record("a reused key with a different body was accepted")
            } catch let error as CivitasError {
                #expect(error.kind == .unprocessable)
            }
        }
    }

    @Test(
        "people are added to and taken off a case with a line the applicant reads; bad input names its field; a closed case keeps its people",
        arguments: Engine.allCases)
    func parties(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let cases = CaseStore(database: test.database)
            _ = try await cases.importType(try exampleCaseType("unemployment-claim"), createdBy: "cli", jurisdictionID: test.jurisdiction)
            let claim = try await cases.create(
                typeKey: "unemployment-claim", data: claimAnswers, by: Self.applicant, applicantID: 9,
                parties: [(role: "household member", name: "  Luis Lopez ", email: nil)], submit: true, jurisdictionID: test.jurisdiction)
            let added = try await cases.addParty(
                claim.id, role: "authorised representative", name: "Dana Ortiz", email: "dana@example.org", by: Self.agent,
                jurisdictionID: test.jurisdiction)
            #expect(try await cases.parties(of: claim.id).map(\.name) == ["Luis Lopez", "Dana Ortiz"])
            #expect(added.role == "authorised representative" && added.email == "dana@example.org")
            for (role, name, email, field) in [
                ("", "Dana", nil, "role"), ("representative", "   ", nil, "name"), (String(repeating: "r", count: 61), "Dana", nil, "role"),
                ("lender", "First Mesa Bank", "not an address", "email"),
            ] as [(String, String, String?, String)] {
                do {
                    try await cases.addParty(claim.id, role: role, name: name, email: email, by: Self.agent, jurisdictionID: test.jurisdiction)
                    Issue.record("a party with \(field) wrong was added")
                } catch let error as CivitasError {
                    #expect(error.code == "party_invalid" && error.field == field)
                }
            }
            do {
                try await cases.removeParty(added.id, caseID: claim.id + 1000, by: Self.agent, jurisdictionID: test.jurisdiction)
                Issue.record("a party was removed through another case's id")
            } catch let error as CivitasError { #expect(error.kind == .notFound) }
            try await cases.removeParty(added.id, caseID: claim.id, by: Self.agent, jurisdictionID: test.jurisdiction)
            #expect(try await cases.parties(of: claim.id).map(\.name) == ["Luis Lopez"])
            let applicantSees = try await cases.events(of: claim.id, includeInternal: false).compactMap(\.body)
            #expect(applicantSees.contains("Dana Ortiz added as authorised representative."))
            #expect(applicantSees.contains("Dana Ortiz is no longer on this case as authorised representative."))
            _ = try await cases.transition(claim.id, "withdraw", by: Self.applicant, jurisdictionID: test.jurisdiction)
            do {
                try await cases.addParty(
                    claim.id, role: "lender", name: "First Mesa Bank", email: nil, by: Self.agent, jurisdictionID: test.jurisdiction)
                Issue.record("a party was added to a closed case")
            } catch let error as CivitasError { #expect(error.kind == .conflict) }
            #expect(try await cases.parties(of: claim.id).count == 1)
        }
    }

    @Test("webhook deliveries are queued with their change, once per event, and retried with backoff until delivered", arguments: Engine.allCases)
    func webhooks(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let cases = CaseStore(database: test.database)
            _ = try await cases.importType(try exampleCaseType("unemployment-claim"), createdBy: "cli", jurisdictionID: test.jurisdiction)
            let (hook, secret) = try await cases.subscribe(
                clientID: "los", url: "https://lender.example/hooks", events: [], departments: ["Workforce Solutions"],
                jurisdictionID: test.jurisdiction)
            #expect(secret.hasPrefix("whsec_") && hook.events == CaseStore.eventTypes)
            _ = try await cases.subscribe(
                clientID: "parks", url: "https://parks.example/h", events: ["case.created"], departments: ["Parks"],
                jurisdictionID: test.jurisdiction)
            await #expect(throws: CivitasError.self) {
                try await cases.subscribe(clientID: "los", url: "ftp://x", events: [], departments: ["*"], jurisdictionID: test.jurisdiction)
            }
            // Deliveries may not be aimed inside the agency's network, unless the operator allows it.
            for url in [
                "http://127.0.0.1:8080/h", "http://localhost/h", "https://10.1.2.3/h", "https://192.168.0.9/h", "http://[::1]/h",
                "https://169.254.169.254/latest",
                // The same places written otherwise: as every HTTP client reads them, with a trailing dot, IPv4 inside IPv6.
                "http://2130706433/h", "http://0x7f.1/h", "http://127.1/h", "http://localhost./h", "http://[::ffff:127.0.0.1]/h",
                "http://[fd00::1]/h",
                "http://0.0.0.0/h",
            ] {
                do {
                    _ = try await cases.subscribe(clientID: "los", url: url, events: [], departments: ["*"], jurisdictionID: test.jurisdiction)
                    Issue.record("\(url) was accepted")
                } catch let error as CivitasError {
                    #expect(error.code == "url_private", "\(url)")
                }
            }
            let (local, _) = try await cases.subscribe(
                clientID: "internal", url: "http://127.0.0.1:9000/h", events: ["case.message"], departments: ["Parks"],
                jurisdictionID: test.jurisdiction,
                allowPrivate: true)
            #expect(local.url == "http://127.0.0.1:9000/h")
            let now = Date(timeIntervalSince1970: 1_795_514_400)
            _ = try await cases.create(
                typeKey: "unemployment-claim", data: claimAnswers, by: Self.agent, submit: true, jurisdictionID: test.jurisdiction, now: now)
            let first = try await cases.claimDeliveries(now: now)
            #expect(
                first.map(\.eventType).sorted() == ["case.created", "case.decided", "case.decided", "case.decided", "case.transitioned"].sorted())
            #expect(first.allSatisfy { $0.url == "https://lender.example/hooks" }, "the parks client hears nothing of labor's cases")
            #expect(try await cases.claimDeliveries(now: now).isEmpty, "claimed deliveries are not handed out twice")
            let created = try #require(first.first { $0.eventType == "case.created" })
            try await cases.recordAttempt(created.id, status: 500, error: "receiver down", now: now)
            for delivery in first where delivery.id != created.id { try await cases.recordAttempt(delivery.id, status: 204, error: nil, now: now) }
            #expect(try await cases.claimDeliveries(now: now.addingTimeInterval(10)).isEmpty, "backoff: not before 30 seconds")
            let retry = try await cases.claimDeliveries(now: now.addingTimeInterval(31))
            #expect(retry.map(\.eventID) == [created.eventID])
            try await cases.recordAttempt(created.id, status: 200, error: nil, now: now.addingTimeInterval(31))
            let log = try await cases.deliveries(clientID: "los", jurisdictionID: test.jurisdiction)
            #expect(log.count == 5 && log.allSatisfy { $0.deliveredAt != nil })
            #expect(log.first { $0.id == created.id }?.attempts == 2)
        }
    }

    @Test("queues that hand out cases give each new one to the next eligible person in turn, or to the least loaded", arguments: Engine.allCases)
    func autoAssignment(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let cases = CaseStore(database: test.database)
            let users = UserStore(database: test.database)
            let definition = """
                key: leave
                name: Leave request
                department: HR
                queues:
                  - {name: Turns, skills: [hr], assignment: round_robin}
                  - {name: Lightest, skills: [hr], assignment: least_loaded}
                fields: [{key: days, label: Days, type: number, required: true}]
                states: [{key: draft, label: Draft}, {key: open, label: Open}, {key: done, label: Done, final: true}]
                transitions:
                  - {key: submit, label: Send, from: draft, to: open, by: [applicant, agent]}
                  - {key: finish, label: Finish, from: open, to: done, by: [agent]}
                automations:
                  - {name: Long leave is balanced, when_entering: open, if: days > 10, route_to: Lightest}
                """
            _ = try await cases.importType(definition, createdBy: "test", jurisdictionID: test.jurisdiction)
            var agents: [Int64] = []
            for (index, (department, skills)) in [("HR", ["hr"]), ("HR", ["hr"]), ("Parks", ["hr"]), ("HR", []), ("HR", ["hr", "payroll"])]
                .enumerated()
            {
                let user = try await users.create(
                    email: "hr\(index)@city.gov", kind: .staff, role: .agent, departments: .only([department]), passwordHash: nil,
                    jurisdictionID: test.jurisdiction, actor: "test", source: nil)
                try await cases.setSkills(userID: user.id, skills: Set(skills))
                agents.append(user.id)
            }
            let eligible = [agents[0], agents[1], agents[4]]  // HR with the hr skill; not Parks, not without the skill
            var turns: [Int64?] = []
            for _ in 0..<6 {
                turns.append(
                    try await cases.create(
                        typeKey: "leave", data: ["days": .integer(2)], by: Self.agent, submit: true, jurisdictionID: test.jurisdiction
                    ).assigneeID)
            }
            #expect(turns == (eligible + eligible).map { Optional($0) }, "in turn: \(turns)")
            // Each eligible person now has 2 open cases; finishing two of the first person's makes them the lightest.
            for id in try await cases.list(
                {
                    var q = CaseStore.Query(jurisdictionID: test.jurisdiction)
                    q.assigneeID = eligible[0]
                    return q
                }()
            ).map(\.id) {
                try await cases.transition(id, "finish", by: Self.agent, jurisdictionID: test.jurisdiction)
            }
            let long = try await cases.create(
                typeKey: "leave", data: ["days": .integer(15)], by: Self.agent, submit: true, jurisdictionID: test.jurisdiction)
            #expect(long.queue == "Lightest" && long.assigneeID == eligible[0])
            let events = try await cases.events(of: long.id, includeInternal: true)
            #expect(events.contains { $0.kind == "assigned" && $0.body == "Given to staff \(eligible[0]) (fewest open cases)." })
        }
    }
}
