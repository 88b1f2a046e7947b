import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CivitasServer

@Suite("Case work that agrees with itself: why no case came, steps the rules refuse, refusals that look like refusals")
struct CaseStaffWorkTests {
    static func sent(_ app: TestApp, _ changes: [String: JSONValue], email: String = "maria@example.org") async throws -> Int64 {
        let residentID = try await makeResident(app, email: email)
        var answers = CaseWebTests.answers.mapValues { JSONValue.string($0) }
        answers["weekly_earnings"] = .integer(120)
        answers["able_and_available"] = .bool(true)
        answers.merge(changes) { _, new in new }
        return try await app.stores.cases.create(
            typeKey: "unemployment-claim", data: answers, by: CaseCaller(actor: .applicant, name: "resident:\(residentID)", userID: residentID),
            applicantID: residentID, submit: true, language: .english, jurisdictionID: "test.city"
        ).id
    }

    @Test("Next case with nothing to give says why: the agent's queues are empty, and a queue with work needs a skill they lack")
    func whyNoCase() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            _ = try await Self.sent(app, ["separation_reason": .string("quit"), "good_cause": .bool(true)])
            let (agent, _) = try await caseWorker(app, client, email: "ana@labor.gov", skills: ["ui"])
            try await agent.get("/staff/cases")
            let pulled = try await agent.post("/staff/cases/next", [("queue", "")])
            #expect(pulled.headers[.location] == "/staff/cases?empty=1")
            let page = try await agent.get("/staff/cases?empty=1")
            #expect(page.text.contains("No case is waiting unassigned in the queues you work (UI Claims, UI Fast-Track)."), "\(page.text)")
            #expect(page.text.contains("1 waiting in UI Adjudication, which needs the skill adjudication that you do not have"))
        }
    }

    @Test("a step the rules would refuse is not offered, with why in staff words; Deny looks like a refusal")
    func stepsExplained() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let id = try await Self.sent(app, ["weekly_earnings": .integer(350)])
            let (agent, _) = try await caseWorker(app, client, email: "ana@labor.gov")
            try await agent.get("/staff/cases/\(id)")
            #expect(try await agent.post("/staff/cases/\(id)/steps", [("step", "start_review")]).status == .seeOther)
            let review = try await agent.get("/staff/cases/\(id)").text
            #expect(review.contains("<strong>Approve</strong>: not possible yet, because"))
            #expect(review.contains("Proof of identity (driver&#39;s license, state ID or passport) has not been provided."), "\(review)")
            #expect(review.contains("Rule UI-4 v2 (Weekly earnings limit) is not met: your weekly earnings of $350 are above the $300 limit"))
            #expect(!review.contains(#"<button type="submit">Approve</button>"#), "no button for a step that will be refused")
            #expect(review.contains(#"<button type="submit" class="warning">Deny</button>"#))
            #expect(review.contains(#"<button type="submit">Ask the claimant for documents</button>"#))
            #expect(review.contains("ana@labor.gov, agent") && !review.contains("staff:"), "people by name and role")
            try await agent.get("/staff/cases")
            _ = try await agent.post("/staff/cases/next", [("queue", "")])
            let second = try await Self.sent(app, [:], email: "rosa@example.org")
            _ = try await agent.post("/staff/cases/next", [("queue", "")])
            let pulled = try await agent.get("/staff/cases/\(second)").text
            #expect(pulled.contains("Pulled from the queue by ana@labor.gov, agent."), "\(pulled)")
        }
    }
}
