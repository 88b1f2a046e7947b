import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import SQLKit
import Testing

@testable import CivitasServer

@Suite("Message pages that say what happened and offer the way on")
struct MessagePagesTests {
    @Test("an expired confirmation link offers a new mail; so does the account page; neither tells who has an account")
    func resendConfirmation() async throws {
        try await TestApp.with { app, client in
            let id = try await makeResident(app)
            let browser = Browser(client)
            let expired = try await browser.get("/verify-email?token=0123456789abcdef")
            #expect(expired.status == .notFound)
            #expect(expired.text.contains("This confirmation link has expired") && expired.text.contains(#"action="/verify-email/resend""#))
            _ = try await app.stores.outbox.claimDue()
            let sent = try await browser.post("/verify-email/resend", [("email", "ana@example.org")])
            #expect(sent.status == .ok && sent.text.contains("ana@example.org"))
            let mail = try #require(try await app.stores.outbox.claimDue().first)
            #expect(mail.recipient == "ana@example.org" && mail.body.contains("/verify-email?token="))
            // Someone without an account gets the same page and no mail goes out.
            let nobody = try await browser.post("/verify-email/resend", [("email", "nobody@example.org")])
            #expect(nobody.status == .ok && nobody.text.contains("nobody@example.org"))
            #expect(try await app.stores.outbox.claimDue().isEmpty)
            #expect(try await browser.post("/verify-email/resend", [("email", "not an address")]).status == .badRequest)
            // The new link works.
            let token = try #require(mail.body.firstMatch(of: /token=([A-Za-z0-9_\-]+)/).map { String($0.1) })
            let confirm = try await browser.get("/verify-email?token=\(token)")
            #expect(confirm.status == .ok)
            #expect(try await browser.post("/verify-email", [("token", token)]).status == .ok)
            #expect(try await app.stores.users.find(id: id)?.emailVerified == true)

            // Not confirmed yet: the account page offers to send the link again.
            _ = try await makeResident(app, email: "ben@example.org")
            let ben = Browser(client)
            try await ben.get("/signin")
            try await ben.post("/signin", [("email", "ben@example.org"), ("password", "long enough password 1")])
            let account = try await ben.get("/account")
            #expect(account.text.contains(#"action="/account/resend-confirmation""#))
            let again = try await ben.post("/account/resend-confirmation", [])
            #expect(again.status == .ok && again.text.contains("a new confirmation link is on its way"))
            #expect(try await app.stores.outbox.claimDue().map(\.recipient) == ["ben@example.org"])
            #expect(try await ben.post("/account/resend-confirmation", [], csrf: false).status == .forbidden)
        }
    }

    @Test("the unsubscribe page names the report and the address before it stops anything")
    func unsubscribeNamesItsReport() async throws {
        try await TestApp.with { app, client in
            let id = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org")
            let token = try await app.stores.database.read { sql in
                try await sql.select().column("unsubscribe_token").from("request_followers").where("service_request_id", .equal, id).first()?
                    .decode(column: "unsubscribe_token", as: String.self)
            }
            let browser = Browser(client)
            let page = try await browser.get("/unsubscribe/\(try #require(token))")
            #expect(page.status == .ok)
            #expect(page.text.contains("Stop emails about report \(id)") && page.text.contains("Pothole"))
            #expect(page.text.contains("a•••@example.org") && !page.text.contains("ana@example.org"))
            #expect(try await app.stores.requests.followers(requestID: id, jurisdictionID: "test.city").map(\.email) == ["ana@example.org"])
            let done = try await browser.post("/unsubscribe/\(try #require(token))", [], csrf: false)
            #expect(done.status == .ok && done.text.contains("Emails stopped") && done.text.contains("no more emails about report \(id)"))
            let later = try await browser.get("/unsubscribe/\(try #require(token))")
            #expect(later.text.contains("You will get no more emails") && !later.text.contains(#"action="/unsubscribe/"#))
            let unknown = try await browser.get("/unsubscribe/" + String(repeating: "a", count: 32))
            #expect(unknown.status == .notFound && unknown.text.contains("This link does not work") && unknown.text.contains(#"href="/my/requests""#))
        }
    }

    @Test("check-your-answers wording: nothing given says so, photos are counted in words, one day is 24 hours")
    func wording() async throws {
        try await TestApp.with { app, client in
            try await ReportFlowTests.addresses(app)
            let browser = Browser(client)
            _ = try await browser.get("/report")
            let details = try await browser.follow(try await browser.post("/report", [("service", "POTHOLE")]))
            #expect(details.text.contains("Pothole: a few questions") && !details.text.contains("Tell us about the"))
            let path = try #require(details.text.range(of: #"/report/[0-9a-f]{40}"#, options: .regularExpression).map { String(details.text[$0]) })
            _ = try await browser.post(path + "/details", [("attr_SIZE", "large")])
            _ = try await browser.post(path + "/location", [("address", "100 N Charles St")])
            _ = try await browser.multipart(path + "/description", fields: [("description", "Deep")], files: [])
            let check = try await browser.follow(try await browser.post(path + "/contact", []))
            #expect(check.text.contains("Not given") && !check.text.contains(">0<"))
            let (staff, _) = try await staffBrowser(app, client)
            let queue = try await staff.get("/staff")
            #expect(queue.text.contains("Last 24 hours") && !queue.text.contains("Last 1 days"))
        }
    }
}
