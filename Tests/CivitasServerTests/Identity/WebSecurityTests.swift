import CivitasCore
import CivitasStore
import Configuration
import Foundation
import HTTPTypes
import HummingbirdOTP
import HummingbirdTesting
import NIOCore
import Testing

@testable import CivitasServer

/// A browser's cookie jar, just enough for one site.
final class Browser: @unchecked Sendable {
    var cookies: [String: String] = [:]
    let client: any TestClientProtocol

    init(_ client: any TestClientProtocol) { self.client = client }

    @discardableResult
    func get(_ uri: String) async throws -> TestResponse {
        let response = try await client.execute(uri: uri, method: .get, headers: headers())
        remember(response)
        return response
    }

    @discardableResult
    func post(_ uri: String, _ pairs: [(String, String)], csrf: Bool = true, extra: HTTPFields = [:]) async throws -> TestResponse {
        var fields = pairs
        if csrf, let token = lastCSRF { fields.append(("csrf", token)) }
        var headers = headers()
        headers[.contentType] = "application/x-www-form-urlencoded"
        headers.append(contentsOf: extra)
        let response = try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: formEncode(fields)))
        remember(response)
        return response
    }

    /// The CSRF token of the last page shown.
    var lastCSRF: String?

    func headers() -> HTTPFields {
        var fields: HTTPFields = [:]
        if !cookies.isEmpty { fields[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        return fields
    }

    func remember(_ response: TestResponse) {
        for header in response.headers[values: .setCookie] {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0])
            let value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        let text = response.text
        if let range = text.range(of: #"name="csrf" value="[0-9a-f]+""#, options: .regularExpression) {
            lastCSRF = String(text[range].dropFirst(#"name="csrf" value=""#.count).dropLast())
        }
    }

    var session: String? { cookies[Authenticator.sessionCookie] }
}

/// A staff member with a password; returns their id.
func makeStaff(_ app: TestApp, email: String = "sam@city.gov", role: StaffRole = .agent, password: String = "long enough password 1")
    async throws -> Int64
{
    let hash = try await Passwords(cost: 4).hash(password)
    return try await app.stores.users.create(
        email: email, kind: .staff, role: role, departments: .only(["Transportation"]), passwordHash: hash,
        jurisdictionID: "test.city", actor: "test", source: nil
    ).id
}

func makeResident(_ app: TestApp, email: String = "ana@example.org", password: String = "long enough password 1") async throws -> Int64 {
    let hash = try await Passwords(cost: 4).hash(password)
    return try await app.stores.users.create(
        email: email, kind: .resident, role: nil, departments: .only([]), passwordHash: hash, jurisdictionID: "test.city",
        actor: "test", source: nil
    ).id
}

@Suite("Sessions, CSRF, lockout and the second factor")
struct WebSecurityTests {
    @Test("signing in issues a new session id: a planted cookie is never upgraded (session fixation)")
    func sessionFixation() async throws {
        try await TestApp.with { app, client in
            _ = try await makeResident(app)
            // The attacker plants a cookie of their own and also a real, anonymous-looking session they hold.
            let attacker = Browser(client)
            let victim = Browser(client)
            victim.cookies[Authenticator.sessionCookie] = "attacker-chosen-value"
            try await victim.get("/signin")
            let signedIn = try await victim.post("/signin", [("email", "ana@example.org"), ("password", "long enough password 1")])
            #expect(signedIn.status == .seeOther)
            let issued = try #require(victim.session)
            #expect(issued != "attacker-chosen-value")
            #expect(try await victim.get("/account").status == .ok)
            attacker.cookies[Authenticator.sessionCookie] = "attacker-chosen-value"
            #expect(try await attacker.get("/account").status == .seeOther)
            // The cookie is HttpOnly and SameSite=Lax.
            let header = signedIn.headers[values: .setCookie].first { $0.hasPrefix(Authenticator.sessionCookie) } ?? ""
            #expect(header.contains("HttpOnly") && header.contains("SameSite=Lax"))
            // Signing out ends the session on the server, not only in the browser.
            try await victim.get("/account")
            try await victim.post("/signout", [])
            attacker.cookies[Authenticator.sessionCookie] = issued
            #expect(try await attacker.get("/account").status == .seeOther)
        }
    }

    @Test("a form with a valid token posted from another site (Origin, or Referer without Origin) is refused and changes nothing")
    func origin() async throws {
        try await TestApp.with(config: ["http.publicURL": .init(.string("https://311.city.example"), isSecret: false)]) { app, client in
            let id = try await makeResident(app)
            let browser = Browser(client)
            try await browser.get("/signin")
            // Our own origin, as the public address names it, is taken.
            let signedIn = try await browser.post(
                "/signin", [("email", "ana@example.org"), ("password", "long enough password 1")],
                extra: [.origin: "https://311.city.example"])
            #expect(signedIn.status == .seeOther)
            try await browser.get("/account")
            let delete = [("password", "long enough password 1")]
            for (name, value) in [
                (HTTPField.Name.origin, "https://evil.example"), (.origin, "null"), (.origin, "http://311.city.example"),
                (.origin, "https://311.city.example.evil.example"), (.referer, "https://evil.example/page"),
            ] {
                let refused = try await browser.post("/account/delete", delete, extra: [name: value])
                #expect(refused.status == .forbidden, "\(name): \(value)")
                #expect(refused.text.contains("did not come from this site"))
            }
            #expect(try await app.stores.users.find(id: id) != nil)
            // From this site, with the token, the account goes. (The host the request came to also counts as this site:
            // see the rule's own test below.)
            let fromHere = try await browser.post("/account/delete", delete, extra: [.referer: "https://311.city.example/account"])
            #expect(fromHere.status == .ok)
            #expect(try await app.stores.users.find(id: id) == nil)
        }
    }

    @Test("an origin is compared as browsers do: scheme, host and port, default ports filled in")
    func originRule() {
        let site = "https://311.city.example"
        #expect(FormOrigin.isThisSite(origin: nil, referer: nil, publicURL: site, authority: nil))
        #expect(FormOrigin.isThisSite(origin: "https://311.CITY.example:443", referer: nil, publicURL: site, authority: nil))
        #expect(FormOrigin.isThisSite(origin: nil, referer: "https://311.city.example/report?x=1", publicURL: site, authority: nil))
        #expect(!FormOrigin.isThisSite(origin: "https://311.city.example:8443", referer: nil, publicURL: site, authority: nil))
        #expect(!FormOrigin.isThisSite(origin: "null", referer: "https://311.city.example/", publicURL: site, authority: nil))
        #expect(!FormOrigin.isThisSite(origin: "javascript:alert(1)", referer: nil, publicURL: site, authority: nil))
        #expect(FormOrigin.isThisSite(origin: "http://[::1]:8080", referer: nil, publicURL: site, authority: "[::1]:8080"))
        #expect(!FormOrigin.isThisSite(origin: "http://127.0.0.1:9999", referer: nil, publicURL: site, authority: "127.0.0.1:8080"))
    }

    @Test("forms without the right CSRF token are refused and change nothing")
    func csrf() async throws {
        try await TestApp.with { app, client in
            let id = try await makeResident(app)
            let browser = Browser(client)
            try await browser.get("/signin")
            try await browser.post("/signin", [("email", "ana@example.org"), ("password", "long enough password 1")])
            try await browser.get("/account")
            let good = try #require(browser.lastCSRF)
            // No token, a wrong token, and the anonymous cookie's token instead of the session's: all refused.
            #expect(try await browser.post("/account/delete", [("password", "long enough password 1")], csrf: false).status == .forbidden)
            #expect(
                try await browser.post(
                    "/account/delete", [("password", "long enough password 1"), ("csrf", String(repeating: "0", count: 64))], csrf: false
                ).status == .forbidden)
            let anonymous = try #require(browser.cookies[Web.csrfCookie])
            #expect(anonymous != good)
            #expect(
                try await browser.post("/account/delete", [("password", "long enough password 1"), ("csrf", anonymous)], csrf: false).status
                    == .forbidden)
            #expect(try await app.stores.users.find(id: id) != nil)
            // A sign-in form posted from elsewhere (no CSRF cookie) is refused too.
            let forged = Browser(client)
            #expect(
                try await forged.post("/signin", [("email", "ana@example.org"), ("password", "long enough password 1"), ("csrf", good)], csrf: false)
                    .status == .forbidden)
            // With the token, the account is deleted, with its personal data and sessions.
            #expect(try await browser.post("/account/delete", [("password", "long enough password 1")]).status == .ok)
            #expect(try await app.stores.users.find(id: id) == nil)
            #expect(try await app.stores.sessions.count(userID: id) == 0)
        }
    }

    @Test("repeated failures lock the account, even against the right password; sign-ins are throttled per address")
    func lockout() async throws {
        try await TestApp.with(config: ["auth.lockoutAttempts": .init(.int(3), isSecret: false)]) { app, client in
            _ = try await makeResident(app)
            let browser = Browser(client)
            try await browser.get("/signin")
            for _ in 0..<3 {
                let wrong = try await browser.post("/signin", [("email", "ana@example.org"), ("password", "not the password at all")])
                #expect(wrong.status == .unauthorized)
                #expect(wrong.text.contains("The email address or password is wrong."))
            }
            let locked = try await browser.post("/signin", [("email", "ana@example.org"), ("password", "long enough password 1")])
            #expect(locked.status == .unauthorized)
            #expect(locked.text.contains("locked"))
            #expect(browser.session == nil)
            // An unknown address answers like a wrong password: no hint who has an account.
            let unknown = try await browser.post("/signin", [("email", "nobody@example.org"), ("password", "whatever it is")])
            #expect(unknown.text.contains("The email address or password is wrong."))
        }
        try await TestApp.with(config: ["rateLimit.signInPerMinute": .init(.int(2), isSecret: false)]) { app, client in
            _ = try await makeResident(app)
            let browser = Browser(client)
            try await browser.get("/signin")
            // Limits count per clock minute: on a loaded machine the three tries may straddle a minute, then try again.
            var throttled: TestResponse
            repeat {
                let minute = Int(Date().timeIntervalSince1970 / 60)
                _ = try await browser.post("/signin", [("email", "ana@example.org"), ("password", "wrong password here")])
                _ = try await browser.post("/signin", [("email", "ana@example.org"), ("password", "wrong password here")])
                throttled = try await browser.post("/signin", [("email", "ana@example.org"), ("password", "long enough password 1")])
                if throttled.status == .tooManyRequests || Int(Date().timeIntervalSince1970 / 60) == minute { break }
                if let cookie = browser.session { try await app.stores.sessions.delete(cookie: cookie) }
                browser.cookies[Authenticator.sessionCookie] = nil
            } while true
            #expect(throttled.status == .tooManyRequests)
            #expect(browser.session == nil)
        }
    }

    @Test("staff need the second factor: a password alone reaches neither the console nor the API")
    func secondFactorRequired() async throws {
        try await TestApp.with { app, client in
            let id = try await makeStaff(app)
            let browser = Browser(client)
            try await browser.get("/signin")
            let first = try await browser.post("/signin", [("email", "sam@city.gov"), ("password", "long enough password 1")])
            #expect(first.headers[.location] == "/account/two-factor")
            let passwordOnly = try #require(browser.session)
            // Password only: no console, no account page, no API.
            #expect(try await browser.get("/staff").headers[.location] == "/account/two-factor")
            let api = try await client.execute(
                uri: "/api/v1/me", method: .get, headers: [.cookie: "\(Authenticator.sessionCookie)=\(passwordOnly)"])
            #expect(api.status == .unauthorized)
            // Enrol: the page shows the key; a wrong code is refused; the right one turns it on and shows recovery codes.
            let setup = try await browser.get("/account/two-factor")
            #expect(setup.status == .ok)
            let secret = try #require(try await app.stores.users.find(id: id)?.totpSecret)
            #expect(try await browser.post("/account/two-factor", [("code", "000000")]).status == .badRequest)
            let code = String(format: "%06d", TOTP(secret: secret).compute())
            let enabled = try await browser.post("/account/two-factor", [("code", code)])
            #expect(enabled.status == .ok)
            let codes = enabled.text.matches(of: /<code>([a-z0-9]{5}-[a-z0-9]{5})<\/code>/).map { String($0.1) }
            #expect(codes.count == 10)
            #expect(browser.session != passwordOnly)
            #expect(try await browser.get("/staff").status == .ok)

            // Next sign-in: password, then a code; a replayed code is refused; a recovery code works once.
            let next = Browser(client)
            try await next.get("/signin")
            let step1 = try await next.post("/signin", [("email", "sam@city.gov"), ("password", "long enough password 1")])
            #expect(step1.headers[.location] == "/signin/verify")
            #expect(try await next.get("/staff").status == .seeOther)
            try await next.get("/signin/verify")
            #expect(try await next.post("/signin/verify", [("code", code)]).status == .unauthorized)
            #expect(try await next.post("/signin/verify", [("code", codes[0])]).headers[.location] == "/staff")
            #expect(try await next.get("/staff").status == .ok)
            let again = Browser(client)
            try await again.get("/signin")
            try await again.post("/signin", [("email", "sam@city.gov"), ("password", "long enough password 1")])
            try await again.get("/signin/verify")
            #expect(try await again.post("/signin/verify", [("code", codes[0])]).status == .unauthorized)
        }
    }

    @Test("staff make and revoke their own personal tokens on the account page; the token is shown once")
    func personalTokens() async throws {
        try await TestApp.with { app, client in
            let id = try await makeStaff(app)
            let (cookie, _) = try await app.stores.sessions.create(userID: id, jurisdictionID: "test.city", secondFactor: true, lifetime: 3600)
            let browser = Browser(client)
            browser.cookies[Authenticator.sessionCookie] = cookie
            try await browser.get("/account")
            let noScope = try await browser.post("/account/tokens", [("name", "nightly export")])
            #expect(noScope.status == .badRequest)
            let made = try await browser.post("/account/tokens", [("name", "nightly export"), ("scope", "requests:read")])
            #expect(made.status == .created)
            let token = try #require(made.text.firstMatch(of: /civp_[0-9a-f]{64}/).map { String($0.0) })
            let me = try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(me.status == .ok)
            let shown = try await browser.get("/account")
            #expect(shown.text.contains("nightly export") && !shown.text.contains(token))
            let tokenID = try #require(try await app.stores.credentials.personalTokens(userID: id).first?.id)
            // Another staff member cannot revoke it.
            let other = try await makeStaff(app, email: "other@city.gov")
            let (otherCookie, _) = try await app.stores.sessions.create(
                userID: other, jurisdictionID: "test.city", secondFactor: true, lifetime: 3600)
            let stranger = Browser(client)
            stranger.cookies[Authenticator.sessionCookie] = otherCookie
            try await stranger.get("/account")
            #expect(try await stranger.post("/account/tokens/\(tokenID)/revoke", []).status == .notFound)
            #expect(try await browser.post("/account/tokens/\(tokenID)/revoke", []).status == .seeOther)
            let after = try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(after.status == .unauthorized)
        }
    }

    @Test("idle sessions end; signing out everywhere ends them all")
    func sessionEnds() async throws {
        try await TestApp.with { app, client in
            let id = try await makeResident(app)
            let phone = Browser(client)
            let laptop = Browser(client)
            for browser in [phone, laptop] {
                try await browser.get("/signin")
                try await browser.post("/signin", [("email", "ana@example.org"), ("password", "long enough password 1")])
            }
            #expect(try await app.stores.sessions.count(userID: id) == 2)
            try await laptop.get("/account")
            #expect(try await laptop.post("/account/signout-everywhere", []).status == .ok)
            #expect(try await phone.get("/account").status == .seeOther)
            // A session idle past the limit is gone.
            let (stale, _) = try await app.stores.sessions.create(
                userID: id, jurisdictionID: "test.city", secondFactor: true, lifetime: 3600, now: Date().addingTimeInterval(-31 * 60))
            let old = Browser(client)
            old.cookies[Authenticator.sessionCookie] = stale
            #expect(try await old.get("/account").status == .seeOther)
        }
    }
}

@Suite("Credentials: revoked and expired ones are refused")
struct CredentialTests {
    @Test("a revoked Open311 API key is refused")
    func revokedAPIKey() async throws {
        try await TestApp.with(config: ["cache.ttlMs": .init(.int(0), isSecret: false)]) { app, client in
            #expect(try await client.post("/open311/v2/requests.json", form: app.bulkyForm()).status == .ok)
            let key = try #require(try await app.stores.apiKeys.list(jurisdictionID: "test.city").first)
            try await app.stores.apiKeys.revoke(id: key.id, jurisdictionID: "test.city", actor: "test")
            let refused = try await client.post("/open311/v2/requests.json", form: app.bulkyForm())
            #expect(refused.status == .forbidden)
            #expect(refused.text.contains("revoked"))
        }
    }

    @Test("expired access tokens, revoked clients and revoked personal tokens are refused with 401")
    func tokens() async throws {
        try await TestApp.with(config: [
            "oauth.tokenLifetimeSeconds": .init(.int(3), isSecret: false), "cache.ttlMs": .init(.int(0), isSecret: false),
        ]) { app, client in
            let (registered, secret) = try await app.stores.credentials.createClient(
                name: "LOS", scopes: [.requestsRead], departments: .all, jurisdictionID: "test.city", actor: "test")
            func token() async throws -> String {
                let response = try await client.execute(
                    uri: "/oauth/token", method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded", .authorization: basic(registered.id, secret)],
                    body: ByteBuffer(string: "grant_type=client_credentials&scope=requests%3Aread"))
                #expect(response.headers[.cacheControl] == "no-store")
                return try #require((try response.json() as? [String: Any])?["access_token"] as? String)
            }
            func me(_ bearer: String) async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/me", method: .get, headers: [.authorization: "Bearer \(bearer)"])
            }
            // `exp` is in whole seconds, so a 1-second token could already be expired when first used on a busy machine.
            let first = try await token()
            #expect(try await me(first).status == .ok)
            try await Task.sleep(for: .milliseconds(4100))
            let expired = try await me(first)
            #expect(expired.status == .unauthorized)
            #expect(expired.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
            #expect(expired.headers[.contentType] == "application/problem+json")
            // A tampered token is refused.
            let fresh = try await token()
            #expect(try await me(String(fresh.dropLast(2)) + "xx").status == .unauthorized)
            // Revoking the client stops its live tokens at once, and it can get no new ones.
            try await app.stores.credentials.revokeClient(id: registered.id, jurisdictionID: "test.city", actor: "test")
            #expect(try await me(fresh).status == .unauthorized)
            let denied = try await client.execute(
                uri: "/oauth/token", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .authorization: basic(registered.id, secret)],
                body: ByteBuffer(string: "grant_type=client_credentials"))
            #expect(denied.status == .unauthorized)
            #expect(denied.text.contains("invalid_client"))
            // Scopes beyond the client's are refused.
            let (other, otherSecret) = try await app.stores.credentials.createClient(
                name: "Reader", scopes: [.requestsRead], departments: .all, jurisdictionID: "test.city", actor: "test")
            let tooMuch = try await client.execute(
                uri: "/oauth/token", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .authorization: basic(other.id, otherSecret)],
                body: ByteBuffer(string: "grant_type=client_credentials&scope=requests%3Awrite"))
            #expect(tooMuch.status == .badRequest)
            #expect(tooMuch.text.contains("invalid_scope"))

            // Personal tokens: revoked, or their owner disabled, and they stop working.
            let staff = try await makeStaff(app)
            let (personal, clear) = try await app.stores.credentials.createPersonalToken(
                userID: staff, name: "script", scopes: [.requestsRead], lifetime: 3600, jurisdictionID: "test.city")
            #expect(try await me(clear).status == .ok)
            try await app.stores.credentials.revokePersonalToken(id: personal.id, jurisdictionID: "test.city", actor: "test")
            #expect(try await me(clear).status == .unauthorized)
            let (_, second) = try await app.stores.credentials.createPersonalToken(
                userID: staff, name: "script 2", scopes: [.requestsRead], lifetime: 3600, jurisdictionID: "test.city")
            #expect(try await me(second).status == .ok)
            try await app.stores.users.disable(id: staff, jurisdictionID: "test.city", actor: "test", source: nil)
            #expect(try await me(second).status == .unauthorized)
        }
    }
}
