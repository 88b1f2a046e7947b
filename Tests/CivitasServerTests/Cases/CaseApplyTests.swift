import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CivitasServer

@Suite("Applying as people expect: change from the check page, dates and addresses, the confirmation, asking before cancelling")
struct CaseApplyTests {
    /// A started claim with every answer given, on its check page.
    static func answeredClaim(_ app: TestApp, _ resident: Browser, residentID: Int64) async throws -> Int64 {
        var answers = CaseWebTests.answers.mapValues { JSONValue.string($0) }
        answers["weekly_earnings"] = .integer(120)
        answers["able_and_available"] = .bool(true)
        let created = try await app.stores.cases.create(
            typeKey: "unemployment-claim", data: answers, by: CaseCaller(actor: .applicant, name: "resident:\(residentID)", userID: residentID),
            applicantID: residentID, language: .english, jurisdictionID: "test.city")
        return created.id
    }

    @Test("Change on the check page comes back to it, through any question the new answer opens")
    func changeReturnsToCheck() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let (resident, residentID) = try await residentBrowser(app, client, email: "maria@example.org")
            let id = try await Self.answeredClaim(app, resident, residentID: residentID)
            let check = try await resident.get("/my/cases/\(id)/check")
            #expect(check.text.contains(#"href="/my/cases/\#(id)/questions/last_employer?return=check""#))
            let question = try await resident.get("/my/cases/\(id)/questions/last_employer?return=check")
            #expect(question.text.contains(#"name="return" value="check""#))
            #expect(question.text.contains(#"class="back" href="/my/cases/\#(id)/check""#), "Back goes to the check page")
            let changed = try await resident.post(
                "/my/cases/\(id)/questions/last_employer", [("answer", "Acme Bakery"), ("return", "check"), ("continue", "1")])
            #expect(changed.headers[.location] == "/my/cases/\(id)/check")
            // Without it, the next question follows as before.
            try await resident.get("/my/cases/\(id)/questions/last_employer")
            let onward = try await resident.post("/my/cases/\(id)/questions/last_employer", [("answer", "Acme Bakery"), ("continue", "1")])
            #expect(onward.headers[.location] == "/my/cases/\(id)/questions/last_day_worked")
            // A changed answer that opens a new question goes there first, still on the way back to the check page.
            try await resident.get("/my/cases/\(id)/questions/separation_reason?return=check")
            let quit = try await resident.post(
                "/my/cases/\(id)/questions/separation_reason", [("answer", "quit"), ("return", "check"), ("continue", "1")])
            #expect(quit.headers[.location] == "/my/cases/\(id)/questions/good_cause?return=check")
            let cause = try await resident.get("/my/cases/\(id)/questions/good_cause?return=check")
            #expect(cause.text.contains(#"name="return" value="check""#))
            let done = try await resident.post("/my/cases/\(id)/questions/good_cause", [("answer", "yes"), ("return", "check"), ("continue", "1")])
            #expect(done.headers[.location] == "/my/cases/\(id)/check")
            #expect(try await resident.get("/my/cases/\(id)/check").text.contains("Acme Bakery"))
        }
    }

    @Test("a date is asked as month, day and year (day first in Spanish), with limits; it reads as a date; addresses are addresses")
    func datesAndAddresses() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let (resident, residentID) = try await residentBrowser(app, client, email: "maria@example.org")
            let id = try await Self.answeredClaim(app, resident, residentID: residentID)
            let path = "/my/cases/\(id)/questions/birth_date"
            let page = try await resident.get(path)
            let month = try #require(page.text.range(of: #"id="answer-month""#))
            let day = try #require(page.text.range(of: #"id="answer-day""#))
            #expect(month.lowerBound < day.lowerBound, "US English writes the month first")
            #expect(page.text.contains(#"value="4""#) && page.text.contains(#"value="1988""#), "the saved answer fills the boxes")
            #expect(page.text.contains(#"autocomplete="bday-year""#) && page.text.contains("For example, 3 27 2007."))

            func answer(_ parts: [(String, String)]) async throws -> TestResponse {
                try await resident.get(path)
                return try await resident.post(path, parts + [("continue", "1")])
            }
            let noYear = try await answer([("answer-day", "2"), ("answer-month", "4"), ("answer-year", "")])
            #expect(noYear.status == .badRequest && noYear.text.contains("Your date of birth must include a year."), "\(noYear.text)")
            #expect(noYear.text.contains(#"value="2""#), "what was typed stays")
            let short = try await answer([("answer-day", "2"), ("answer-month", "4"), ("answer-year", "88")])
            #expect(short.status == .badRequest && short.text.contains("the year must have 4 numbers"))
            let unreal = try await answer([("answer-day", "31"), ("answer-month", "2"), ("answer-year", "1988")])
            #expect(unreal.status == .badRequest && unreal.text.contains("give a real date"))
            let nextYear = Calendar(identifier: .gregorian).component(.year, from: Date()) + 1
            let future = try await answer([("answer-day", "1"), ("answer-month", "1"), ("answer-year", String(nextYear))])
            #expect(future.status == .badRequest && future.text.contains("Your date of birth must be today or in the past."), "\(future.text)")
            let early = try await resident.post("/my/cases/\(id)/questions/last_day_worked", [("answer", "2019-05-01"), ("continue", "1")])
            #expect(early.text.contains("Your last day of work must be on or after January 1, 2024."), "\(early.text)")
            let good = try await answer([("answer-day", "9"), ("answer-month", "7"), ("answer-year", "1990")])
            #expect(good.status == .seeOther)
            #expect(try await app.stores.cases.find(id: id, jurisdictionID: "test.city")?.data["birth_date"] == .string("1990-07-09"))
            #expect(try await resident.get("/my/cases/\(id)/check").text.contains("July 9, 1990"))

            resident.cookies["civitas_lang"] = "es"
            let spanish = try await resident.get(path)
            let dayBox = try #require(spanish.text.range(of: #"id="answer-day""#))
            let monthBox = try #require(spanish.text.range(of: #"id="answer-month""#))
            #expect(dayBox.lowerBound < monthBox.lowerBound && spanish.text.contains("Año"), "Spanish writes the day first")
            #expect(try await resident.get("/my/cases/\(id)/check").text.contains("9 de julio de 1990"))
            resident.cookies["civitas_lang"] = "en"

            let address = "/my/cases/\(id)/questions/mailing_address"
            try await resident.get(address)
            let vague = try await resident.post(address, [("answer", "near the park"), ("continue", "1")])
            #expect(vague.status == .badRequest && vague.text.contains("give the number and street"))
            try await resident.get(address)
            #expect(try await resident.post(address, [("answer", "PO Box 12, Santa Fe NM 87501"), ("continue", "1")]).status == .seeOther)
        }
    }

    @Test("sending shows a confirmation with what happens next; no decision is shown until one is made; what we asked for comes first")
    func sentAndDecided() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let (resident, residentID) = try await residentBrowser(app, client, email: "maria@example.org")
            let id = try await Self.answeredClaim(app, resident, residentID: residentID)
            try await resident.get("/my/cases/\(id)/check")
            let sent = try await resident.post("/my/cases/\(id)/steps", [("step", "submit")])
            #expect(sent.headers[.location] == "/my/cases/\(id)/sent")
            let confirmation = try await resident.get("/my/cases/\(id)/sent")
            for text in ["Application sent", "Your reference number", "#\(id)", "What happens next", "within 2 working days", "maria@example.org"] {
                #expect(confirmation.text.contains(text), "\(text)")
            }
            let submitted = try await resident.get("/my/cases/\(id)")
            #expect(!submitted.text.contains("Decisions and why") && !submitted.text.contains("UI-4"), "nothing is decided yet")

            let agent = CaseCaller(actor: .role("agent"), name: "staff:1")
            _ = try await app.stores.cases.transition(id, "start_review", by: agent, jurisdictionID: "test.city")
            _ = try await app.stores.cases.transition(
                id, "request_documents", by: agent, reason: "Please send a clear photo of your ID.", documents: ["proof_of_identity"],
                jurisdictionID: "test.city")
            let asked = try await resident.get("/my/cases/\(id)").text
            let needed = try #require(asked.range(of: "What we need from you"))
            let reason = try #require(asked.range(of: "Please send a clear photo"))
            let history = try #require(asked.range(of: #"id="history""#))
            let documents = try #require(asked.range(of: #"id="documents""#))
            #expect(needed.lowerBound < documents.lowerBound && reason.lowerBound < documents.lowerBound && reason.lowerBound < history.lowerBound)
            #expect(asked.contains("Our message to you:"))

            _ = try await app.stores.cases.transition(
                id, "provide_documents", by: CaseCaller(actor: .applicant, name: "resident:\(residentID)", userID: residentID),
                jurisdictionID: "test.city")
            _ = try await app.stores.cases.transition(id, "deny", by: agent, reason: "You were paid for the whole week.", jurisdictionID: "test.city")
            let denied = try await resident.get("/my/cases/\(id)").text
            #expect(denied.contains("The decision") && denied.contains("Your claim is denied. You can appeal within 30 days."))
            #expect(denied.contains("The reason we gave:") && denied.contains("You were paid for the whole week."))
            #expect(denied.contains("your weekly earnings of $120 are within the $300 limit"))
        }
    }

    @Test("withdrawing asks first; a draft is cancelled, and the page says so")
    func cancelAsksFirst() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let (resident, residentID) = try await residentBrowser(app, client, email: "maria@example.org")
            let id = try await Self.answeredClaim(app, resident, residentID: residentID)
            let draft = try await resident.get("/my/cases/\(id)")
            #expect(draft.text.contains("Cancel this application") && !draft.text.contains("Withdraw the claim"))
            let asked = try await resident.post("/my/cases/\(id)/steps", [("step", "withdraw")])
            #expect(asked.status == .ok && asked.text.contains("Cancel this application?") && asked.text.contains("Yes, cancel it"))
            #expect(try await app.stores.cases.find(id: id, jurisdictionID: "test.city")?.state == "draft", "nothing changes before yes")
            let cancelled = try await resident.post("/my/cases/\(id)/steps", [("step", "withdraw"), ("confirmed", "1")])
            #expect(cancelled.headers[.location] == "/my/cases/\(id)?done=cancelled")
            #expect(try await resident.get("/my/cases/\(id)?done=cancelled").text.contains("Application cancelled. Nothing was sent to us."))
            #expect(try await app.stores.cases.find(id: id, jurisdictionID: "test.city")?.state == "withdrawn")

            // A sent claim: withdrawing says what the claim will read afterwards.
            let second = try await Self.answeredClaim(app, resident, residentID: residentID)
            try await resident.get("/my/cases/\(second)/check")
            _ = try await resident.post("/my/cases/\(second)/steps", [("step", "submit")])
            try await resident.get("/my/cases/\(second)")
            let withdraw = try await resident.post("/my/cases/\(second)/steps", [("step", "withdraw")])
            #expect(withdraw.text.contains("Withdraw the claim?") && withdraw.text.contains("You withdrew this claim."))
            #expect(withdraw.text.contains("Yes, withdraw the claim"))
        }
    }
}
