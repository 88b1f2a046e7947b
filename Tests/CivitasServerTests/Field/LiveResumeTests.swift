import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CivitasServer

@Suite("The live map resumes where a page left off, whichever instance it reconnects to")
struct LiveResumeTests {
    static func live(_ client: any TestClientProtocol, _ browser: Browser, lastEventID: String?) async throws -> String {
        var headers = browser.headers()
        if let lastEventID { headers[HTTPField.Name("Last-Event-ID")!] = lastEventID }
        let response = try await client.execute(uri: "/staff/live?seconds=0", method: .get, headers: headers)
        #expect(response.status == .ok)
        return response.text
    }

    @Test("a reconnecting page gets every request changed since its last event id, from the database; a gap too old says reload")
    func resume() async throws {
        try await TestApp.with { app, client in
            let (browser, _) = try await staffBrowser(app, client)
            let first = try await StaffConsoleTests.pothole(app, client, email: "a@example.org")
            // The last event the page saw was about the first request; its id is when that request last changed.
            let seen = try #require(try await app.stores.requests.find(id: first, jurisdictionID: "test.city")).updatedAt
            let lastID = Int64((seen.timeIntervalSince1970 * 1000).rounded())
            // The page is away (its instance died) while two requests are filed and one changes.
            try await Task.sleep(for: .milliseconds(5))
            let second = try await StaffConsoleTests.pothole(app, client, email: "b@example.org", lat: "39.2950")
            let third = try await StaffConsoleTests.pothole(app, client, email: "c@example.org", lat: "39.2990")
            let replay = try await Self.live(client, browser, lastEventID: String(lastID))
            for id in [second, third] {
                #expect(replay.contains("\"id\":\(id),"), "request \(id) changed while the page was away")
            }
            let ids = replay.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int64($0.dropFirst(4)) }
            #expect(ids.count >= 2 && ids.allSatisfy { $0 >= lastID } && ids == ids.sorted(), "ids resume in order: \(ids)")
            #expect(!replay.contains("event: reload"))
            // Without an id there is nothing to catch up on; with one older than the replay window, reload.
            #expect(!(try await Self.live(client, browser, lastEventID: nil)).contains("event: request"))
            let stale = Int64((Date().timeIntervalSince1970 - 2 * 3600) * 1000)
            #expect(try await Self.live(client, browser, lastEventID: String(stale)).contains("event: reload"))
        }
    }
}
