import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CivitasServer

@Suite("The pages people look for: contact, accessibility, privacy (edited by admins); the account's details and password")
struct SitePagesTests {
    @Test("each page is linked from every page's footer and shipped in both languages with the agency's name")
    func shippedPages() async throws {
        try await TestApp.with { app, client in
            let visitor = Browser(client)
            let home = try await visitor.get("/report")
            for path in ["/contact", "/accessibility", "/privacy"] { #expect(home.text.contains(#"href="\#(path)""#), "\(path)") }
            let contact = try await visitor.get("/contact")
            #expect(contact.status == .ok && contact.text.contains("<h1>Contact us</h1>") && contact.text.contains(#"<a href="tel:311">311</a>"#))
            #expect(contact.text.contains("<h2>Call us</h2>") && contact.text.contains(#"<a href="/report">Report a problem</a>"#))
            let statement = try await visitor.get("/accessibility")
            #expect(statement.text.contains("WCAG") && !statement.text.contains("{site}"))
            let privacy = try await visitor.get("/privacy?lang=es")
            #expect(privacy.text.contains("Privacidad") && privacy.text.contains("<h2>Cookies</h2>"))
            #expect(try await visitor.get("/contact?lang=es").text.contains("Contáctenos"))
        }
    }

    @Test("an admin rewrites a page: shown safely, in that language only, audited; empty or NUL text is refused; others may not")
    func adminEdits() async throws {
        try await TestApp.with { app, client in
            let (admin, _) = try await staffBrowser(app, client, email: "it@city.gov", role: .admin)
            admin.cookies["civitas_lang"] = "es"
            #expect(try await admin.get("/requests").text.contains(#"<html lang="en""#), "a staff member reads the English console")
            let editor = try await admin.get("/staff/site-pages")
            #expect(editor.text.contains(#"<html lang="en""#), "the console's pages say they are English")
            #expect(editor.status == .ok && editor.text.contains(#"id="contact-es""#) && editor.text.contains("not edited yet"))
            let text = "## Call us\nCall [311](tel:311) or [our office](javascript:alert(1)).\n\n<script>alert(1)</script>\n- Open 24/7"
            let saved = try await admin.post("/staff/site-pages/contact", [("language", "en"), ("body", text)])
            #expect(saved.status == .seeOther)
            let page = try await Browser(client).get("/contact")
            #expect(page.text.contains(#"<a href="tel:311">311</a>"#) && page.text.contains("[our office](javascript:alert(1))"))
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.text.contains("<script>alert(1)"))
            #expect(page.text.contains("<li>Open 24/7</li>") && page.text.contains("Last updated"))
            #expect(try await Browser(client).get("/contact?lang=es").text.contains("Llame al"), "Spanish stays as shipped")
            let audit = try await app.stores.audit.recent(jurisdictionID: "test.city")
            #expect(audit.contains { $0.event.action == "site.page_saved" && $0.event.subject == "page:contact:en" })

            try await admin.get("/staff/site-pages")
            let empty = try await admin.post("/staff/site-pages/privacy", [("language", "en"), ("body", "  \n ")])
            #expect(empty.status == .badRequest && empty.text.contains("cannot be empty"))
            try await admin.get("/staff/site-pages")
            let nul = try await admin.post("/staff/site-pages/privacy", [("language", "en"), ("body", "a\u{0}b")])
            #expect(nul.status == .badRequest && nul.text.contains("NUL"))
            #expect(try await app.stores.sitePages.find(.privacy, language: .english, jurisdictionID: "test.city") == nil)

            let (agent, _) = try await staffBrowser(app, client, email: "sam@city.gov", role: .agent)
            #expect(try await agent.get("/staff/site-pages").status == .forbidden)
            try await agent.get("/staff")
            #expect(try await agent.post("/staff/site-pages/contact", [("language", "en"), ("body", "Hello")]).status == .forbidden)
        }
    }

    @Test("a resident keeps their name and phone up to date and changes their password; other sessions end")
    func accountChanges() async throws {
        try await TestApp.with { app, client in
            let id = try await makeResident(app, email: "ana@example.org", password: "long enough password 1")
            let (cookie, _) = try await app.stores.sessions.create(userID: id, jurisdictionID: "test.city", secondFactor: false, lifetime: 3600)
            _ = try await app.stores.sessions.create(userID: id, jurisdictionID: "test.city", secondFactor: false, lifetime: 3600)
            let resident = Browser(client)
            resident.cookies[Authenticator.sessionCookie] = cookie
            let account = try await resident.get("/account")
            #expect(account.text.contains("Your details") && account.text.contains("Change your password"))
            let bad = try await resident.post("/account/details", [("name", "Ana Ruiz"), ("phone", "call me")])
            #expect(bad.status == .badRequest && bad.text.contains("at least 7 digits") && bad.text.contains(#"value="Ana Ruiz""#))
            try await resident.get("/account")
            #expect(try await resident.post("/account/details", [("name", "Ana Ruiz"), ("phone", "410 555 0100")]).status == .seeOther)
            let saved = try await resident.get("/account?saved=details")
            #expect(saved.text.contains("Your details are saved.") && saved.text.contains(#"value="410 555 0100""#))
            #expect(try await app.stores.users.find(id: id)?.displayName == "Ana Ruiz")

            let wrong = try await resident.post(
                "/account/password", [("current-password", "not it at all"), ("new-password", "a brand new passphrase")])
            #expect(wrong.status == .badRequest && wrong.text.contains("That is not your current password."))
            try await resident.get("/account")
            let short = try await resident.post("/account/password", [("current-password", "long enough password 1"), ("new-password", "short")])
            #expect(short.status == .badRequest && short.text.contains("at least 12 characters"))
            try await resident.get("/account")
            #expect(try await app.stores.sessions.count(userID: id) == 2)
            let changed = try await resident.post(
                "/account/password", [("current-password", "long enough password 1"), ("new-password", "a brand new passphrase")])
            #expect(changed.headers[.location] == "/account?saved=password#password")
            #expect(try await app.stores.sessions.count(userID: id) == 1, "the other session ended")
            #expect(try await resident.get("/account").status == .ok, "this one stays signed in")
            let hash = try #require(try await app.stores.users.find(id: id)?.passwordHash)
            #expect(try await Passwords(cost: 4).verify("a brand new passphrase", hash: hash))
            let audit = try await app.stores.audit.entries(person: "user:\(id)", jurisdictionID: "test.city")
            #expect(audit.contains { $0.event.action == "user.password_changed" } && audit.contains { $0.event.action == "user.details_changed" })
        }
    }
}
