import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CivitasServer

@Suite("Field work that agrees with itself, through the router")
struct FieldStepsTests {
    /// Tuesday 24 November 2026, 13:00 in New York (the test city's zone).
    static let oneOClock = ISO8601DateFormatter().date(from: "2026-11-24T18:00:00Z")!

    static func addCrew(_ app: TestApp, _ name: String, shift: String, members: [Int64] = []) async throws {
        _ = try await app.stores.crews.create(
            department: "Transportation", name: name, depotName: "Yard", depot: Coordinate(latitude: 39.29, longitude: -76.60), vehicle: "Truck",
            capacity: 10, skills: [], services: nil, shift: try Shift.parse(shift), members: members, jurisdictionID: "test.city", actor: "test")
    }

    @Test("a plan made at 13:00 starts from then, and gives no work to the crew whose shift ended at noon")
    func planFromNow() async throws {
        try await TestApp.with(now: Self.oneOClock) { app, client in
            for lat in ["39.2904", "39.2950", "39.3000"] {
                _ = try await StaffConsoleTests.pothole(app, client, email: "r\(lat)@example.org", lat: lat)
            }
            try await Self.addCrew(app, "Morning", shift: "mon-fri 06:00-12:00")
            try await Self.addCrew(app, "Afternoon", shift: "mon-fri 12:00-20:00")
            let (supervisor, _) = try await staffBrowser(app, client, email: "sue@city.gov", role: .supervisor)
            let page = try await supervisor.get("/staff/plan?department=Transportation")
            #expect(page.text.contains(#"value="2026-11-24""#), "today, in the city's time zone")
            let planned = try await supervisor.follow(
                try await supervisor.post("/staff/plan", [("department", "Transportation"), ("date", "2026-11-24")]))
            #expect(planned.text.contains("3 of 3 requests planned"))
            #expect(planned.text.contains("<h3>Afternoon (3)</h3>") && !planned.text.contains("<h3>Morning"))
            let saved = try #require(try await app.stores.plans.latest(department: "Transportation", day: "2026-11-24", jurisdictionID: "test.city"))
            #expect(saved.stops.count == 3 && saved.stops.allSatisfy { $0.arrives >= Self.oneOClock && $0.starts >= Self.oneOClock })
        }
    }

    @Test("a crew's card offers Arrived first, then what was done; an empty public note is refused by its field and nothing is saved")
    func crewCard() async throws {
        try await TestApp.with(now: Self.oneOClock) { app, client in
            let stop = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org")
            let (crewBrowser, crewID) = try await staffBrowser(app, client, email: "cam@city.gov", role: .crew)
            try await Self.addCrew(app, "Asphalt 1", shift: "mon-sun 00:00-24:00", members: [crewID])
            let plan = try await Planning.plan(
                department: "Transportation", day: "2026-11-24", stores: app.stores, configuration: app.configuration, seconds: 1)
            _ = try await Planning.save(plan, department: "Transportation", stores: app.stores, jurisdictionID: "test.city", actor: "test")

            let before = try await crewBrowser.get("/crew").text
            #expect(before.contains("#\(stop) Pothole") && before.contains(#"data-arrive="\#(stop)""#))
            // The resolve and can't-do forms wait, hidden, until the arrival is recorded.
            #expect(before.contains(#"<div id="on-site-\#(stop)" class="on-site" hidden>"#))
            let arrived = try await crewBrowser.follow(
                try await crewBrowser.post("/crew/stops/\(stop)", [("action", "arrive"), ("key", "arrive-\(UUID().uuidString)")]))
            #expect(arrived.text.contains("Arrival at request \(stop) recorded."))
            #expect(!arrived.text.contains(#"data-arrive="\#(stop)""#), "Arrived is not offered twice")
            #expect(arrived.text.contains(#"<div id="on-site-\#(stop)" class="on-site">"#) && arrived.text.contains(#"id="done-\#(stop)""#))

            _ = try await app.stores.outbox.claimDue()
            for note in ["", "   "] {
                let refused = try await crewBrowser.post(
                    "/crew/stops/\(stop)", [("action", "resolve"), ("key", "resolve-\(UUID().uuidString)"), ("note", note)])
                #expect(refused.status == .badRequest)
                #expect(refused.text.contains(#"<span class="error" id="done-\#(stop)-error">Write what was done"#))
                #expect(refused.text.contains(#"aria-invalid="true""#) && refused.text.contains(##"href="#done-\##(stop)""##))
            }
            #expect(try await app.stores.requests.find(id: stop, jurisdictionID: "test.city")?.status == .open, "nothing saved")
            #expect(try await app.stores.outbox.claimDue().isEmpty, "nobody told")
            let done = try await crewBrowser.follow(
                try await crewBrowser.post(
                    "/crew/stops/\(stop)", [("action", "resolve"), ("key", "resolve-\(UUID().uuidString)"), ("note", "Filled and rolled.")]))
            #expect(done.text.contains("Request \(stop) is resolved"))
        }
    }

    @Test("through the API, resolving with no note for the public is a 400 problem naming the note, and changes nothing")
    func apiNote() async throws {
        try await TestApp.with { app, client in
            let stop = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org")
            let crewID = try await makeStaff(app, email: "cam@city.gov", role: .crew)
            try await Self.addCrew(app, "Asphalt 1", shift: "mon-sun 00:00-24:00", members: [crewID])
            let token = try await app.stores.credentials.createPersonalToken(
                userID: crewID, name: "phone", scopes: Scope.allCases, lifetime: 3600, jurisdictionID: "test.city"
            ).1
            for body in [#"{"action": "resolve"}"#, #"{"action": "resolve", "note": " "}"#] {
                let response = try await client.execute(
                    uri: "/api/v1/service-requests/\(stop)/crew-actions", method: .post,
                    headers: [
                        .authorization: "Bearer \(token)", .contentType: "application/json",
                        HTTPField.Name("Idempotency-Key")!: "k-\(UUID().uuidString)",
                    ],
                    body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(response.text)")
                let problem = try #require(try response.json() as? [String: Any])
                #expect(problem["code"] as? String == "note_missing" && problem["field"] as? String == "note")
            }
            #expect(try await app.stores.requests.find(id: stop, jurisdictionID: "test.city")?.status == .open)
        }
    }
}
