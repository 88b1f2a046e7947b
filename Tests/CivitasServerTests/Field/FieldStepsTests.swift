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
            #expect(planned.text.contains("3 / 3"))
            #expect(planned.text.contains("<h3>Afternoon (3)</h3>") && !planned.text.contains("<h3>Morning"))
            let saved = try #require(try await app.stores.plans.latest(department: "Transportation", day: "2026-11-24", jurisdictionID: "test.city"))
            #expect(saved.stops.count == 3 && saved.stops.allSatisfy { $0.arrives >= Self.oneOClock && $0.starts >= Self.oneOClock })
        }
    }
}
