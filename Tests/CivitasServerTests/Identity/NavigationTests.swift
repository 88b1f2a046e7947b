import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdOTP
import HummingbirdTesting
import Testing

@testable import CivitasServer

@Suite("Navigation by role, and back where you were after signing in")
struct NavigationTests {
    /// The links of the page's main navigation.
    static func nav(_ page: String) -> [String] {
        guard let start = page.range(of: "<nav aria-label=\"Main\">"), let end = page.range(of: "</nav>", range: start.upperBound..<page.endIndex)
        else { return [] }
        return page[start.upperBound..<end.lowerBound].matches(of: /href="([^"]+)"/).map { String($0.1) }
    }

    /// A staff member with an authenticator, signed in through both steps from `start`; returns where each step went.
    static func signInWithCode(
        _ app: TestApp, _ client: any TestClientProtocol, email: String, role: StaffRole, start: String
    ) async throws -> (Browser, [String?]) {
        let id = try await makeStaff(app, email: email, role: role)
        let secret = "JBSWY3DPEHPK3PXP" + String(id)
        try await app.stores.users.setPendingTOTP(id: id, secret: secret)
        try await app.stores.users.enableTOTP(id: id, step: 1, recoveryCodeHashes: [])
        let browser = Browser(client)
        let first = try await browser.get(start)
        var went = [first.headers[.location]]
        // The browser sends the form's hidden fields back, as a real one does.
        func hidden(_ page: TestResponse) -> [(String, String)] {
            page.text.matches(of: /name="next" value="([^"]*)"/).map { ("next", String($0.1)) }
        }
        let signInPage = try await browser.get(first.headers[.location] ?? "/signin")
        let password = try await browser.post("/signin", [("email", email), ("password", "long enough password 1")] + hidden(signInPage))
        went.append(password.headers[.location])
        let codePage = try await browser.get(try #require(password.headers[.location]))
        let code = String(format: "%06d", TOTP(secret: secret).compute())
        let verified = try await browser.post("/signin/verify", [("code", code)] + hidden(codePage))
        went.append(verified.headers[.location])
        return (browser, went)
    }

    @Test("staff get the console's header; crew members land on their stops; residents see their applications")
    func headers() async throws {
        try await TestApp.with { app, client in
            let (agent, agentWent) = try await Self.signInWithCode(app, client, email: "sam@city.gov", role: .agent, start: "/signin")
            #expect(agentWent.last == "/staff")
            let links = Self.nav(try await agent.get("/staff").text)
            for link in ["/staff", "/staff/cases", "/staff/plan", "/staff/templates", "/account"] { #expect(links.contains(link), "\(links)") }
            #expect(!links.contains("/report") && !links.contains("/my/requests"), "no resident links for staff: \(links)")

            let (crew, crewWent) = try await Self.signInWithCode(app, client, email: "cat@city.gov", role: .crew, start: "/signin")
            #expect(crewWent.last == "/crew", "a crew member lands on the day's stops")
            let crewLinks = Self.nav(try await crew.get("/crew").text)
            #expect(crewLinks.first == "/crew" && !crewLinks.contains("/staff/plan"), "\(crewLinks)")

            _ = try await makeResident(app)
            let resident = Browser(client)
            try await resident.get("/signin")
            try await resident.post("/signin", [("email", "ana@example.org"), ("password", "long enough password 1")])
            let residentLinks = Self.nav(try await resident.get("/").text)
            for link in ["/report", "/requests", "/cases", "/my/requests", "/my/cases", "/account"] {
                #expect(residentLinks.contains(link), "\(residentLinks)")
            }
            #expect(!residentLinks.contains("/staff"))
            #expect(Self.nav(try await Browser(client).get("/").text).contains("/signin"))
        }
    }

    @Test("a page that needs sign-in sends you to it and brings you back; only to pages on this site")
    func backWhereYouWere() async throws {
        try await TestApp.with { app, client in
            _ = try await makeResident(app)
            let browser = Browser(client)
            let asked = try await browser.get("/my/requests?status=open")
            #expect(asked.headers[.location] == "/signin?next=/my/requests%3Fstatus%3Dopen")
            let form = try await browser.get(try #require(asked.headers[.location]))
            #expect(form.text.contains(#"name="next" value="/my/requests?status=open""#))
            let signedIn = try await browser.post(
                "/signin", [("email", "ana@example.org"), ("password", "long enough password 1"), ("next", "/my/requests?status=open")])
            #expect(signedIn.headers[.location] == "/my/requests?status=open")
            // A wrong password keeps where you were going.
            let other = Browser(client)
            try await other.get("/signin?next=/my/cases")
            let wrong = try await other.post("/signin", [("email", "ana@example.org"), ("password", "wrong"), ("next", "/my/cases")])
            #expect(wrong.status == .unauthorized && wrong.text.contains(#"name="next" value="/my/cases""#))
            // Never another site.
            for evil in ["//evil.example/x", "https://evil.example", "/\\evil.example", "/signout"] {
                let out = Browser(client)
                try await out.get("/signin")
                let went = try await out.post("/signin", [("email", "ana@example.org"), ("password", "long enough password 1"), ("next", evil)])
                #expect(went.headers[.location] == "/account", "\(evil)")
            }
            // Staff come back through the second step too.
            let (_, went) = try await NavigationTests.signInWithCode(app, client, email: "sam@city.gov", role: .agent, start: "/staff/plan")
            #expect(went == ["/signin?next=/staff/plan", "/signin/verify?next=/staff/plan", "/staff/plan"])
        }
    }
}
