import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing

@testable import CivitasServer

@Suite("The dispatcher's day plan, through the router")
struct DispatchTests {
    @Test("a supervisor plans the day: each crew's stops with reasons, saved as versions; an agent may read it but not plan")
    func plan() async throws {
        try await TestApp.with { app, client in
            var requestIDs: [Int64] = []
            for lat in ["39.2904", "39.2950", "39.3000"] {
                requestIDs.append(try await StaffConsoleTests.pothole(app, client, email: "r\(lat)@example.org", lat: lat))
            }
            _ = try await app.stores.crews.create(
                department: "Transportation", name: "Asphalt 1", depotName: "East Yard", depot: Coordinate(latitude: 39.29, longitude: -76.60),
                vehicle: "Truck 3", capacity: 10, skills: [], services: nil, shift: try Shift.parse("mon-sun 07:00-15:30"), members: [],
                jurisdictionID: "test.city", actor: "test")
            let (supervisor, _) = try await staffBrowser(app, client, email: "sue@city.gov", role: .supervisor)
            // The resident agreed to an afternoon visit for the third: it is set on the request's page, and the plan keeps it.
            let appointed = requestIDs[2]
            let page = try await supervisor.get("/staff/requests/\(appointed)")
            #expect(page.text.contains("No appointment"))
            let bad = try await supervisor.post(
                "/staff/requests/\(appointed)/appointment", [("day", "2026-11-24"), ("from", "14:00"), ("to", "13:00")])
            #expect(bad.status == .badRequest && bad.text.contains("a time window that ends after it starts"))
            let set = try await supervisor.follow(
                try await supervisor.post("/staff/requests/\(appointed)/appointment", [("day", "2026-11-24"), ("from", "13:00"), ("to", "14:30")]))
            #expect(set.text.contains("Tue 24 Nov 13:00–14:30") && set.text.contains("Appointment set for Tue 24 Nov 13:00–14:30."))
            // The resident who reported it sees the time among their requests, in their language.
            let (resident, residentID) = try await residentBrowser(app, client, email: "r39.3000@example.org")
            try await app.stores.database.transaction { sql in
                try await sql.update("service_requests").set("resident_id", to: residentID).where("id", .equal, appointed).run()
            }
            #expect(try await resident.get("/my/requests").text.contains("We will come on Tue 24 Nov 13:00–14:30."))
            resident.cookies["civitas_lang"] = "es"
            #expect(try await resident.get("/my/requests").text.contains("Iremos el mar 24 nov 13:00–14:30."))
            let empty = try await supervisor.get("/staff/plan?department=Transportation&date=2026-11-24")
            #expect(empty.status == .ok && empty.text.contains("Asphalt 1") && empty.text.contains("Plan this day now"))
            let planned = try await supervisor.follow(
                try await supervisor.post("/staff/plan", [("department", "Transportation"), ("date", "2026-11-24")]))
            #expect(planned.text.contains("Plan, version 1") && planned.text.contains("3 of 3 requests planned"))
            #expect(planned.text.contains(", supervisor.") && !planned.text.contains("staff:"), "the planner by name and role")
            #expect(planned.text.contains("Asphalt 1 does Pothole; ") && planned.text.contains("within its 07:00–15:30 shift"))
            #expect(planned.text.contains("appointment with the resident 13:00–14:30"))
            let visit = try #require(
                try await app.stores.plans.latest(department: "Transportation", day: "2026-11-24", jurisdictionID: "test.city")?
                    .stops.first { $0.requestID == appointed })
            #expect(DayPlanner(zone: app.configuration.jurisdiction.timeZone).day(of: visit.starts) == "2026-11-24")
            #expect(visit.reason.contains("appointment with the resident 13:00–14:30"))
            _ = try await supervisor.post("/staff/plan", [("department", "Transportation"), ("date", "2026-11-24")])
            #expect(try await supervisor.get("/staff/plan?department=Transportation&date=2026-11-24").text.contains("Plan, version 2"))
            let map = try await supervisor.get("/staff/plan.json?department=Transportation&date=2026-11-24")
            #expect(map.text.contains("Asphalt 1 #1: Pothole"))
            // The dispatcher moves one stop to a second crew: the day is planned again around it (version 3).
            let second = try await app.stores.crews.create(
                department: "Transportation", name: "Asphalt 2", depotName: "West Yard", depot: Coordinate(latitude: 39.30, longitude: -76.65),
                vehicle: "Truck 4", capacity: 10, skills: [], services: nil, shift: try Shift.parse("mon-sun 07:00-15:30"), members: [],
                jurisdictionID: "test.city", actor: "test")
            let moved = try #require(
                try await app.stores.plans.latest(department: "Transportation", day: "2026-11-24", jurisdictionID: "test.city")?.stops.first)
            let replanned = try await supervisor.follow(
                try await supervisor.post(
                    "/staff/plan/pin",
                    [("department", "Transportation"), ("date", "2026-11-24"), ("request", String(moved.requestID)), ("crew", String(second.id))]))
            #expect(replanned.text.contains("Plan, version 3") && replanned.text.contains("kept by the dispatcher"))
            let latest = try #require(try await app.stores.plans.latest(department: "Transportation", day: "2026-11-24", jurisdictionID: "test.city"))
            #expect(latest.stops.first { $0.requestID == moved.requestID }?.crewID == second.id)
            #expect(latest.stops.first { $0.requestID == moved.requestID }?.reason.hasPrefix("The dispatcher keeps it with Asphalt 2") == true)
            let (agent, _) = try await staffBrowser(app, client)
            let read = try await agent.get("/staff/plan?department=Transportation&date=2026-11-24")
            #expect(read.status == .ok && !read.text.contains("Plan this day now"))
            #expect(try await agent.post("/staff/plan", [("department", "Transportation"), ("date", "2026-11-24")]).status == .forbidden)
        }
    }
}

@Suite("The crew's day on a phone, through the router")
struct CrewViewTests {
    @Test("a crew member sees today's stops; an action sent twice with its key is applied once; a closed request is a conflict")
    func crewDay() async throws {
        try await TestApp.with { app, client in
            let first = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org")
            let second = try await StaffConsoleTests.pothole(app, client, email: "ben@example.org", lat: "39.2950")
            let (crewBrowser, crewID) = try await staffBrowser(app, client, email: "cam@city.gov", role: .crew)
            let crew = try await app.stores.crews.create(
                department: "Transportation", name: "Asphalt 1", depotName: "Yard", depot: Coordinate(latitude: 39.29, longitude: -76.60),
                vehicle: "Truck 3", capacity: 10, skills: [], services: nil, shift: try Shift.parse("mon-sun 00:00-24:00"), members: [crewID],
                jurisdictionID: "test.city", actor: "test")
            let format = DateFormatter()
            format.timeZone = app.configuration.jurisdiction.timeZone
            format.dateFormat = "yyyy-MM-dd"
            let today = format.string(from: Date())
            let plan = try await Planning.plan(
                department: "Transportation", day: today, stores: app.stores, configuration: app.configuration, seconds: 1)
            _ = try await Planning.save(plan, department: "Transportation", stores: app.stores, jurisdictionID: "test.city", actor: "test")
            let page = try await crewBrowser.get("/crew")
            #expect(page.text.contains("Asphalt 1") && page.text.contains("#\(first) Pothole") && page.text.contains("#\(second) Pothole"))
            #expect(page.text.contains("https://www.openstreetmap.org/directions?to="))
            let spoken = CrewController.dayName(
                try DayPlanner(zone: app.configuration.jurisdiction.timeZone).midnight(of: today), zone: app.configuration.jurisdiction.timeZone)
            #expect(page.text.contains(#"<time datetime="\#(today)">\#(spoken)</time>"#) && spoken.contains(","), "the day in words")
            let stopsMap = try await crewBrowser.get("/crew/stops.json")
            #expect(stopsMap.text.contains("\"url\":\"#stop-\(first)\"") && stopsMap.text.contains("1. Pothole"))
            _ = crew

            _ = try await app.stores.outbox.claimDue()
            let key = "resolve-\(UUID().uuidString)"
            // Resolved with an "after" photo, as the phone's form sends it (multipart); the photo's location is removed.
            let withPhoto: [(name: String, filename: String, type: String, bytes: [UInt8])] = [("photo", "after.jpg", "image/jpeg", jpegWithLocation)]
            let notAPhoto = try await crewBrowser.multipart(
                "/crew/stops/\(first)", fields: [("action", "resolve"), ("key", key), ("note", "Filled and rolled.")],
                files: [("photo", "notes.txt", "image/jpeg", Array("hello".utf8))])
            #expect(notAPhoto.status == .badRequest && notAPhoto.text.contains("A photo must be a JPEG or PNG image."))
            #expect(try await app.stores.requests.find(id: first, jurisdictionID: "test.city")?.status == .open, "a refused photo changes nothing")
            let done = try await crewBrowser.multipart(
                "/crew/stops/\(first)", fields: [("action", "resolve"), ("key", key), ("note", "Filled and rolled.")], files: withPhoto)
            #expect(done.status == .seeOther)
            // The same action again (a retry after a lost connection): same answer, nothing applied twice.
            let again = try await crewBrowser.multipart(
                "/crew/stops/\(first)", fields: [("action", "resolve"), ("key", key), ("note", "Filled and rolled.")], files: withPhoto)
            #expect(again.status == .seeOther)
            let photos = try await app.stores.requests.photoIDs(id: first, jurisdictionID: "test.city")
            #expect(photos.count == 1, "one photo for one action, however often it is sent")
            let photoID = try #require(photos.first)
            let stored = try #require(try await app.stores.media.find(id: photoID))
            #expect(!String(decoding: stored.bytes, as: UTF8.self).contains("GPSLatitude"))
            #expect(String(buffer: try await client.execute(uri: "/requests/\(first)", method: .get).body).contains("/media/\(photoID)"))
            let notes = try await app.stores.requests.notes(id: first, jurisdictionID: "test.city", includeInternal: true)
            #expect(notes.filter { $0.body == "Filled and rolled." }.count == 1)
            #expect(try await app.stores.outbox.claimDue().map(\.recipient) == ["ana@example.org"], "one closure mail")

            // Someone else closes the second one; the crew's resolve is a conflict, shown, and changes nothing.
            _ = try await app.stores.requests.update(
                id: second, jurisdictionID: "test.city", change: RequestChange(status: .closed, note: "Done by the night shift."),
                by: ChangeOrigin(actor: "staff:99"))
            let conflict = try await crewBrowser.follow(
                try await crewBrowser.post(
                    "/crew/stops/\(second)", [("action", "resolve"), ("key", "resolve-\(UUID().uuidString)"), ("note", "Filled.")]))
            #expect(conflict.text.contains("was already closed by someone else; nothing was changed."))
            // Can't do needs a reason; a stranger to the crew is refused.
            let noReason = try await crewBrowser.post("/crew/stops/\(second)", [("action", "cannot_do"), ("key", "cannot-\(UUID().uuidString)")])
            #expect(noReason.status == .badRequest)
            let (other, _) = try await staffBrowser(app, client, email: "olive@city.gov", role: .crew)
            _ = try await other.get("/crew")
            #expect(
                try await other.post("/crew/stops/\(first)", [("action", "arrive"), ("key", "arrive-\(UUID().uuidString)")]).status == .forbidden)
        }
    }
}
