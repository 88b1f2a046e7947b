import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing

@testable import CivitasServer

/// A staff member signed in past the second factor, in a browser.
func staffBrowser(_ app: TestApp, _ client: any TestClientProtocol, email: String = "sam@city.gov", role: StaffRole = .agent) async throws
    -> (Browser, Int64)
{
    let id = try await makeStaff(app, email: email, role: role)
    let (cookie, _) = try await app.stores.sessions.create(userID: id, jurisdictionID: "test.city", secondFactor: true, lifetime: 3600)
    let browser = Browser(client)
    browser.cookies[Authenticator.sessionCookie] = cookie
    return (browser, id)
}

@Suite("The staff console, through the router")
struct StaffConsoleTests {
    /// Files a pothole (Transportation) by Open311 with the reporter's email; returns its id.
    static func pothole(_ app: TestApp, _ client: any TestClientProtocol, email: String, lat: String = "39.2904") async throws -> Int64 {
        let response = try await client.post(
            "/open311/v2/requests.json",
            form: [
                ("api_key", app.apiKey), ("service_code", "POTHOLE"), ("lat", lat), ("long", "-76.6122"), ("email", email),
                ("description", "Deep pothole"), ("attribute[SIZE]", "large"),
            ])
        let text = try #require(try response.jsonArray().first?["service_request_id"] as? String, "\(response.text)")
        return try #require(Int64(text))
    }

    @Test("the queue puts overdue work first, shows SLA badges, filters by SLA and assignee, and saves views")
    func queue() async throws {
        try await TestApp.with { app, client in
            let old = try await Self.pothole(app, client, email: "a@example.org")
            let fresh = try await Self.pothole(app, client, email: "b@example.org", lat: "39.3000")
            // Make the first one overdue: opened 4 days ago with a 72 h target.
            try await app.stores.database.transaction { sql in
                let opened = Int64((Date().timeIntervalSince1970 - 4 * 86_400) * 1000)
                try await sql.update("service_requests").set("requested_at", to: opened).set("expected_at", to: opened + 72 * 3_600_000)
                    .where("id", .equal, old).run()
            }
            let (browser, _) = try await staffBrowser(app, client)
            let page = try await browser.get("/staff")
            #expect(page.status == .ok)
            let oldAt = try #require(page.text.range(of: "/staff/requests/\(old)\""))
            let freshAt = try #require(page.text.range(of: "/staff/requests/\(fresh)\""))
            #expect(oldAt.lowerBound < freshAt.lowerBound, "overdue first")
            #expect(page.text.contains("sla-breached") && page.text.contains("sla-on_track"))
            let overdue = try await browser.get("/staff?sla=breached")
            #expect(overdue.text.contains("/staff/requests/\(old)\"") && !overdue.text.contains("/staff/requests/\(fresh)\""))
            #expect(!(try await browser.get("/staff?assignee=me").text.contains("/staff/requests/\(old)\"")))
            // Save the overdue filter as a view and open it again.
            let saved = try await browser.post("/staff/views", [("name", "Overdue"), ("filters", "sla=breached")])
            #expect(saved.status == .seeOther)
            let view = try await browser.follow(saved)
            #expect(view.text.contains(">Overdue</a>") && !view.text.contains("/staff/requests/\(fresh)\""))
            let map = try await browser.get("/staff/map.json?sla=breached")
            #expect(map.text.contains("\"sla\":\"breached\"") && !map.text.contains("\"id\":\(fresh)"))
        }
    }

    @Test("a request's page shows the reporter, records that read, and changes go out to followers except internal notes")
    func requestPage() async throws {
        try await TestApp.with { app, client in
            let id = try await Self.pothole(app, client, email: "ana@example.org")
            let (browser, staffID) = try await staffBrowser(app, client)
            let page = try await browser.get("/staff/requests/\(id)")
            #expect(page.text.contains("ana@example.org"))
            let reads = try await app.stores.audit.entries(person: "email:ana@example.org", jurisdictionID: "test.city")
            #expect(reads.map(\.event.action).contains("request.read_personal"))
            #expect(reads.last?.event.purpose == "staff console")
            #expect(try await browser.get("/staff/requests/\(id)").text.contains("staff:\(staffID)"), "who viewed it is listed")

            _ = try await app.stores.outbox.claimDue()  // the filing's own mail, if any
            _ = try await browser.post("/staff/requests/\(id)", [("note", "Crew says it is 30 cm deep"), ("visibility", "internal")])
            #expect(try await app.stores.outbox.claimDue().isEmpty)
            let assigned = try await browser.post("/staff/requests/\(id)", [("assignee", String(staffID))])
            #expect(assigned.status == .seeOther)
            #expect(try await app.stores.requests.find(id: id, jurisdictionID: "test.city")?.assigneeID == staffID)
            // An agent may not set priority: refused, and nothing changes.
            let refused = try await browser.post("/staff/requests/\(id)", [("priority", "urgent")])
            #expect(refused.status == .forbidden)
            #expect(try await app.stores.requests.find(id: id, jurisdictionID: "test.city")?.priority == .normal)
            _ = try await browser.post("/staff/requests/\(id)", [("status", "closed"), ("note", "Filled today."), ("visibility", "public")])
            let mails = try await app.stores.outbox.claimDue()
            #expect(mails.map(\.recipient) == ["ana@example.org"])
            #expect(mails.first?.body.contains("Filled today.") == true)
            let timeline = try await browser.get("/staff/requests/\(id)").text
            #expect(timeline.contains("Crew says it is 30 cm deep") && timeline.contains("internal"))
            #expect(!(try await client.get("/requests/\(id)").text.contains("30 cm deep")), "internal notes stay internal")
        }
    }

    @Test("merging: likely duplicates are explained, children close into the parent, and closing the parent tells every reporter")
    func merge() async throws {
        try await TestApp.with { app, client in
            let parent = try await Self.pothole(app, client, email: "one@example.org")
            let second = try await Self.pothole(app, client, email: "two@example.org", lat: "39.29045")
            let third = try await Self.pothole(app, client, email: "three@example.org", lat: "39.29035")
            let (browser, _) = try await staffBrowser(app, client)
            let page = try await browser.get("/staff/requests/\(parent)")
            #expect(page.text.contains("same service, 6 m away, opened"))
            _ = try await browser.post("/staff/requests/\(parent)/merge", [("duplicates", String(second))])
            _ = try await browser.post("/staff/requests/\(third)/merge", [("parent", String(parent))])
            for child in [second, third] {
                let merged = try #require(try await app.stores.requests.find(id: child, jurisdictionID: "test.city"))
                #expect(merged.status == .closed && merged.statusNotes?.contains("duplicate of request \(parent)") == true)
                #expect(try await app.stores.requests.parent(of: child, jurisdictionID: "test.city") == parent)
            }
            #expect(try await client.get("/requests/\(second)").text.contains("/requests/\(parent)"))
            // On the staff map the parent is one stop carrying its two duplicates.
            let map = try await browser.get("/staff/map.json")
            #expect(map.text.contains("\"duplicates\":2,\"id\":\(parent)"), "\(map.text.prefix(300))")
            #expect(try await client.get("/requests/\(parent)").text.contains("Joined with request \(second)"))
            // A merged request cannot be merged again.
            let again = try await browser.post("/staff/requests/\(second)/merge", [("parent", String(third))])
            #expect(again.status == .badRequest)
            _ = try await app.stores.outbox.claimDue()
            _ = try await browser.post("/staff/requests/\(parent)", [("status", "closed"), ("note", "Filled."), ("visibility", "public")])
            let closing = try await app.stores.outbox.claimDue().map(\.recipient).sorted()
            #expect(closing == ["one@example.org", "three@example.org", "two@example.org"])
        }
    }

    @Test("bulk actions apply to every selected request or to none; prepared responses are kept by supervisors")
    func bulkAndTemplates() async throws {
        try await TestApp.with { app, client in
            let first = try await Self.pothole(app, client, email: "a@example.org")
            let second = try await Self.pothole(app, client, email: "b@example.org", lat: "39.31")
            let (agent, agentID) = try await staffBrowser(app, client)
            _ = try await agent.get("/staff")
            let done = try await agent.post("/staff/bulk", [("ids", String(first)), ("ids", String(second)), ("action", "assign_me")])
            #expect(done.status == .seeOther)
            for id in [first, second] { #expect(try await app.stores.requests.find(id: id, jurisdictionID: "test.city")?.assigneeID == agentID) }
            // Setting priority is not an agent's: refused for the whole selection.
            let refused = try await agent.post("/staff/bulk", [("ids", String(first)), ("action", "priority_high")])
            #expect(refused.status == .forbidden)
            #expect(try await app.stores.requests.find(id: first, jurisdictionID: "test.city")?.priority == .normal)
            // Templates: the agent may not add one, a supervisor may, and closing with it sends its text.
            _ = try await agent.get("/staff/templates")
            #expect(try await agent.post("/staff/templates", [("title", "Filled"), ("body", "We filled the pothole.")]).status == .forbidden)
            let (supervisor, _) = try await staffBrowser(app, client, email: "sue@city.gov", role: .supervisor)
            _ = try await supervisor.get("/staff/templates")
            let created = try await supervisor.post(
                "/staff/templates", [("title", "Filled"), ("body", "We filled the pothole."), ("status", "closed"), ("service", "POTHOLE")])
            #expect(created.status == .seeOther)
            let template = try #require(try await app.stores.templates.list(serviceCode: "POTHOLE", jurisdictionID: "test.city").first)
            _ = try await app.stores.outbox.claimDue()
            _ = try await agent.get("/staff/requests/\(second)")
            _ = try await agent.post("/staff/requests/\(second)", [("template", String(template.id))])
            let request = try #require(try await app.stores.requests.find(id: second, jurisdictionID: "test.city"))
            #expect(request.status == .closed && request.statusNotes == "We filled the pothole.")
            #expect(try await app.stores.outbox.claimDue().first?.body.contains("We filled the pothole.") == true)
        }
    }
}

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
            #expect(planned.text.contains("Plan, version 1") && planned.text.contains("3 / 3"))
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
                try await crewBrowser.post("/crew/stops/\(second)", [("action", "resolve"), ("key", "resolve-\(UUID().uuidString)")]))
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
