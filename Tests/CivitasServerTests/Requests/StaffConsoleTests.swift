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
            #expect(try await browser.get("/staff/requests/\(id)").text.contains("sam@city.gov, agent"), "who viewed it is listed")
            _ = staffID

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
            _ = try await browser.post(
                "/staff/requests/\(id)", [("status", "closed"), ("note", "Filled today."), ("visibility", "public"), ("confirmed", "1")])
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
            _ = try await browser.post("/staff/requests/\(parent)/merge", [("duplicates", String(second)), ("confirmed", "1")])
            _ = try await browser.post("/staff/requests/\(third)/merge", [("parent", String(parent)), ("confirmed", "1")])
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
            let again = try await browser.post("/staff/requests/\(second)/merge", [("parent", String(third)), ("confirmed", "1")])
            #expect(again.status == .badRequest)
            _ = try await app.stores.outbox.claimDue()
            _ = try await browser.post(
                "/staff/requests/\(parent)", [("status", "closed"), ("note", "Filled."), ("visibility", "public"), ("confirmed", "1")])
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
            // A prepared response is shown first: its text, the status it sets, who will be told; nothing is saved yet.
            let asked = try await agent.post("/staff/requests/\(second)", [("template", String(template.id)), ("visibility", "public")])
            #expect(asked.status == .ok)
            #expect(asked.text.contains("We filled the pothole.") && asked.text.contains("The request will be closed."))
            #expect(asked.text.contains("This note will be public") && asked.text.contains(#"name="confirmed" value="1""#))
            #expect(try await app.stores.requests.find(id: second, jurisdictionID: "test.city")?.status == .open)
            let saved = try await agent.post(
                "/staff/requests/\(second)", [("template", String(template.id)), ("visibility", "public"), ("confirmed", "1")])
            #expect(saved.headers[.location] == "/staff/requests/\(second)?done=closed,note_public")
            #expect(try await agent.get(try #require(saved.headers[.location])).text.contains("The request is closed."))
            // A note left as it comes is for staff only.
            _ = try await agent.post("/staff/requests/\(first)", [("note", "Called the resident back")])
            #expect(try await app.stores.requests.notes(id: first, jurisdictionID: "test.city", includeInternal: true).last?.visibility == .internal)
            let request = try #require(try await app.stores.requests.find(id: second, jurisdictionID: "test.city"))
            #expect(request.status == .closed && request.statusNotes == "We filled the pothole.")
            #expect(try await app.stores.outbox.claimDue().first?.body.contains("We filled the pothole.") == true)
        }
    }
}
