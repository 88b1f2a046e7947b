import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CivitasServer

@Suite("Undoing a merge, from the staff console and the API")
struct UnmergeTests {
    @Test("staff undo a merge from the surviving request's page: asked first, the duplicate is open again and its people go back")
    func console() async throws {
        try await TestApp.with { app, client in
            let parent = try await StaffConsoleTests.pothole(app, client, email: "one@example.org")
            let child = try await StaffConsoleTests.pothole(app, client, email: "two@example.org", lat: "39.29045")
            let (browser, _) = try await staffBrowser(app, client)
            _ = try await browser.get("/staff/requests/\(parent)")
            _ = try await browser.post("/staff/requests/\(parent)/merge", [("duplicates", String(child)), ("confirmed", "1")])
            #expect(try await app.stores.requests.followerCount(requestID: parent, jurisdictionID: "test.city") == 1)
            let page = try await browser.get("/staff/requests/\(parent)")
            #expect(page.text.contains("Undo the merge of #\(child)"))
            #expect(try await browser.get("/staff/requests/\(child)").text.contains(">Undo the merge</button>"))

            let asked = try await browser.post("/staff/requests/\(parent)/unmerge", [("duplicate", String(child))])
            #expect(asked.status == .ok && asked.text.contains("#\(child) will be separated from #\(parent)"))
            #expect(try await app.stores.requests.parent(of: child, jurisdictionID: "test.city") == parent, "nothing changes before Yes")
            let done = try await browser.post("/staff/requests/\(parent)/unmerge", [("duplicate", String(child)), ("confirmed", "1")])
            #expect(done.status == .seeOther)
            let location = try #require(done.headers[.location])
            #expect(location.hasPrefix("/staff/requests/\(parent)?done=unmerged"))
            #expect(try await browser.get(location).text.contains("Merge undone: #\(child) is open again."))

            let reopened = try #require(try await app.stores.requests.find(id: child, jurisdictionID: "test.city"))
            #expect(reopened.status == .open)
            #expect(try await app.stores.requests.parent(of: child, jurisdictionID: "test.city") == nil)
            #expect(try await app.stores.requests.followers(requestID: parent, jurisdictionID: "test.city").map(\.email) == ["one@example.org"])
            #expect(try await app.stores.requests.followerCount(requestID: parent, jurisdictionID: "test.city") == 0)
            #expect(try await client.get("/requests/\(parent)").text.contains("Request \(child) was separated from this one"))
            #expect(try await client.get("/requests/\(child)").text.contains("Separated from request \(parent)"))
            let audit = try await app.stores.audit.recent(jurisdictionID: "test.city").map(\.event)
            #expect(audit.contains { $0.action == "request.unmerge" && $0.subject == "service_request:\(child)" && $0.actor.hasPrefix("staff:") })

            // Nothing left to undo: the page says so, with a 409.
            let again = try await browser.post("/staff/requests/\(child)/unmerge", [("confirmed", "1")])
            #expect(again.status == .conflict && again.text.contains("#\(child) is not merged into another request"))
        }
    }

    @Test("from the duplicate's page an unsafe undo is refused with the reason: the surviving request was merged on since")
    func unsafe() async throws {
        try await TestApp.with { app, client in
            let parent = try await StaffConsoleTests.pothole(app, client, email: "one@example.org")
            let child = try await StaffConsoleTests.pothole(app, client, email: "two@example.org", lat: "39.29045")
            let top = try await StaffConsoleTests.pothole(app, client, email: "three@example.org", lat: "39.29035")
            let (browser, _) = try await staffBrowser(app, client)
            _ = try await browser.get("/staff/requests/\(parent)")
            _ = try await browser.post("/staff/requests/\(parent)/merge", [("duplicates", String(child)), ("confirmed", "1")])
            _ = try await browser.post("/staff/requests/\(top)/merge", [("duplicates", String(parent)), ("confirmed", "1")])
            let refused = try await browser.post("/staff/requests/\(child)/unmerge", [("confirmed", "1")])
            #expect(refused.status == .conflict)
            #expect(refused.text.contains("has since been merged into request \(top)") && refused.text.contains("Undo that merge first."))
            #expect(try await app.stores.requests.parent(of: child, jurisdictionID: "test.city") == parent)
            // Undoing in order works, from the duplicate's own page.
            #expect(try await browser.post("/staff/requests/\(parent)/unmerge", [("confirmed", "1")]).status == .seeOther)
            #expect(try await browser.post("/staff/requests/\(child)/unmerge", [("confirmed", "1")]).status == .seeOther)
            #expect(try await app.stores.requests.find(id: child, jurisdictionID: "test.city")?.status == .open)
        }
    }

    @Test("a partner undoes a merge through the API; what cannot be undone is a 409 problem with a code, bad bodies 400")
    func api() async throws {
        try await TestApp.with { app, client in
            let token = try await APIv1InputTests.partner(app, client)
            var ids: [Int] = []
            for email in ["one@example.org", "two@example.org"] {
                let (status, created) = try await APIv1InputTests.post(
                    client, token, #"{\#(APIv1InputTests.located), "reporter": {"email": "\#(email)"}}"#)
                #expect(status == .created)
                ids.append(try #require(created["id"] as? Int))
            }
            func call(_ action: String, _ into: Int, _ body: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/api/v1/service-requests/\(into)/\(action)", method: .post,
                    headers: [.authorization: "Bearer \(token)", .contentType: "application/json"], body: ByteBuffer(string: body))
            }
            #expect(try await call("merge", ids[0], #"{"duplicates":[\#(ids[1])]}"#).status == .ok)
            let undone = try await call("unmerge", ids[0], #"{"duplicate":\#(ids[1])}"#)
            #expect(undone.status == .ok, "\(undone.text)")
            let body = try #require(try undone.json() as? [String: Any])
            #expect(body["id"] as? Int == ids[1] && body["status"] as? String == "open")
            #expect(
                try await app.stores.requests.followers(requestID: Int64(ids[0]), jurisdictionID: "test.city").map(\.email) == ["one@example.org"])

            let again = try await call("unmerge", ids[0], #"{"duplicate":\#(ids[1])}"#)
            #expect(again.status == .conflict && again.headers[.contentType]?.hasPrefix("application/problem+json") == true)
            #expect((try again.json() as? [String: Any])?["code"] as? String == "unmerge_not_merged")
            #expect((try again.json() as? [String: Any])?["detail"] as? String == "Request \(ids[1]) is not merged into request \(ids[0]).")
            #expect(try await call("unmerge", 424_242, #"{"duplicate":\#(ids[1])}"#).status == .notFound)
            #expect(try await call("unmerge", ids[0], #"{"duplicate":424242}"#).status == .conflict)
            #expect(try await call("unmerge", ids[0], #"{"duplicate":"x"}"#).status == .badRequest)
            #expect(try await call("unmerge", ids[0], #"{"duplicate":\#(ids[1]),"why":"x"}"#).status == .badRequest)
        }
    }
}
