import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import Mustache
import NIOCore

/// A field's error, shown next to it and in the summary at the top of the page.
struct FieldError: Sendable {
    var field: String
    var message: String
}

/// What every server-rendered page uses: the page frame and its security policy, texts in the reader's language,
/// forms (CSRF-checked), cookies and redirects. Every form carries a CSRF token; every state change is a POST.
/// The account pages themselves (sign-in, registration, the account page) are in `Identity/Web+*.swift`.
struct Web: Sendable {
    static let csrfCookie = "civitas_csrf"

    let stores: Stores
    let configuration: AppConfiguration
    let auth: Authenticator
    let limiter: RateLimiter
    let passwords: Passwords
    let views: Views
    let catalog: Catalog

    func home(for identity: Identity) -> String { identity.user.map(home(for:)) ?? "/" }

    /// Where a person lands after signing in when they were not on their way somewhere: crews on their day's
    /// stops, other staff on the queue, residents on their account.
    func home(for user: User) -> String {
        guard user.kind == .staff else { return "/account" }
        return user.role == .crew ? "/crew" : "/staff"
    }

    /// Sends someone who must sign in to the sign-in page, which brings them back to this page afterwards.
    func signInFirst(_ request: Request) -> Response {
        guard request.method == .get || request.method == .head else { return redirect("/signin") }
        let here = request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")
        guard Self.safeNext(here) != nil else { return redirect("/signin") }
        return redirect("/signin?next=" + Self.formEncode(here))
    }

    /// A page on this site to go to after signing in: a local path only (never another site, nor sign-in itself).
    static func safeNext(_ text: String?) -> String? {
        guard let text, text.hasPrefix("/"), !text.hasPrefix("//"), !text.hasPrefix("/\\"), text.count <= 1000,
            !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" }),
            !["/signin", "/signout", "/register", "/password"].contains(where: { text == $0 || text.hasPrefix($0 + "/") || text.hasPrefix($0 + "?") })
        else { return nil }
        return text
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    func departmentText(_ scope: DepartmentScope) -> String {
        switch scope {
        case .all: "all departments"
        case .only(let names): names.sorted().joined(separator: ", ")
        }
    }

    /// The site's page for an address that leads nowhere (404) or a failure on our side (500): what happened in plain
    /// words, that nothing the resident sent is lost, and the ways on.
    func errorPage(_ request: Request, status: HTTPResponse.Status) -> Response {
        let missing = status == .notFound
        return page(
            "app/message", title: tr(request, missing ? "error_404_title" : "error_500_title"), request: request, identity: nil,
            values: [
                "paragraphs": missing
                    ? [tr(request, "error_404_text"), tr(request, "error_404_help")]
                    : [tr(request, "error_500_text"), tr(request, "error_500_help")],
                "hasLinks": true,
                "links": [
                    ["url": "/", "text": tr(request, "error_way_home")],
                    ["url": "/report", "text": tr(request, "nav_report")],
                    ["url": "/find", "text": tr(request, "home_find")],
                ],
            ],
            status: status)
    }

    func expiredLink(_ request: Request) -> Response {
        page(
            "app/message", title: tr(request, "link_expired_title"), request: request, identity: nil,
            values: [
                "paragraphs": [tr(request, "link_expired_text")],
                "linkURL": "/password/forgot", "linkText": tr(request, "link_expired_again"),
            ],
            status: .notFound)
    }

    /// A posted form whose CSRF token matches the session's (or, signed out, the CSRF cookie's); 403 otherwise.
    func checkedForm(_ request: Request, session: Session?) async throws -> [String: String] {
        let form = try await readForm(request)
        try checkCSRF(form, request: request, session: session)
        return form
    }

    func readForm(_ request: Request) async throws -> [String: String] {
        Self.firstValues(try await readFormPairs(request))
    }

    /// Every field of a posted form in order, repeated names included (checkboxes).
    func readFormPairs(_ request: Request, upTo limit: Int = 64 * 1024) async throws -> [(String, String)] {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/x-www-form-urlencoded" else {
            throw WebFailure(
                status: .unsupportedMediaType, title: "Form not understood", message: "Send the form as application/x-www-form-urlencoded.")
        }
        return try Self.formPairs(try await body(request, upTo: limit, tooLarge: "The form is too large."))
    }

    /// The body as read; past `limit` a 413 page saying `tooLarge`, and a 400 page when its framing is broken.
    func body(_ request: Request, upTo limit: Int, tooLarge: String) async throws -> ByteBuffer {
        do {
            return try await RequestBody.collect(request, upTo: limit)
        } catch .tooLarge {
            throw WebFailure(status: .contentTooLarge, title: "Too large", message: tooLarge)
        } catch .malformed {
            throw WebFailure(status: .badRequest, title: "Form not understood", message: RequestBody.malformedText)
        }
    }

    /// A url-encoded body's fields; one that breaks `ExternalText`'s rule is answered with a 400 page naming it.
    static func formPairs(_ buffer: ByteBuffer) throws -> [(String, String)] {
        do {
            return try FormBody.urlEncoded(String(buffer: buffer))
        } catch {
            throw WebFailure(status: .badRequest, title: "Form not understood", message: error.message)
        }
    }

    /// A posted form that may carry a file (multipart) or not (url-encoded): its fields' first values and its first
    /// file. A body over `limit` is answered with `tooLarge`.
    func readFormWithFile(_ request: Request, upTo limit: Int, tooLarge: String) async throws -> ([String: String], UploadedFile?) {
        let buffer = try await body(request, upTo: limit, tooLarge: tooLarge)
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("multipart/form-data") || type.hasPrefix("application/x-www-form-urlencoded") else {
            throw WebFailure(status: .unsupportedMediaType, title: "Form not understood", message: "Send the form as a web form.")
        }
        let parsed: FormBody
        do {
            parsed = try FormBody.parse(contentType: request.headers[.contentType], body: buffer)
        } catch {
            throw WebFailure(status: .badRequest, title: "Form not understood", message: "Go back, reload the page and try again.")
        }
        return (Self.firstValues(parsed.fields), parsed.uploads.first?.file)
    }

    /// The first value of each name.
    static func firstValues(_ pairs: [(String, String)]) -> [String: String] {
        var form: [String: String] = [:]
        for (name, value) in pairs where form[name] == nil { form[name] = value }
        return form
    }

    /// A store's error in the request's language when the catalog has it (`error_<code>`), else as the store wrote it.
    func explain(_ error: CivitasError, _ request: Request) -> String {
        catalog.texts[.english]?["error_" + error.code] != nil ? tr(request, "error_" + error.code) : error.message
    }

    /// Who a page is for: a signed-in session past its second factor, or nobody.
    func pageIdentity(_ request: Request) async throws -> Identity? {
        guard let identity = try await auth.identifySession(request), !identity.awaitingSecondFactor else { return nil }
        return identity
    }

    /// A text of the message catalog in the request's language.
    func tr(_ request: Request, _ key: String, _ values: [String: String] = [:]) -> String {
        catalog.text(key, Catalog.language(of: request), values)
    }

    /// A state-changing form must carry the token of the session it was shown in, or (before sign-in) the
    /// token in the browser's CSRF cookie. Another site can make a browser post, but cannot read either token.
    /// The browser's `Origin` (or `Referer`) must be this site too (`FormOrigin`).
    func checkCSRF(_ form: [String: String], request: Request, session: Session?) throws {
        let expected = session?.csrfToken ?? request.cookies[Self.csrfCookie]?.value ?? ""
        let fromHere = FormOrigin.isThisSite(
            origin: request.headers[.origin], referer: request.headers[.referer], publicURL: configuration.publicURL,
            authority: request.head.authority)
        guard fromHere, let given = form["csrf"], !expected.isEmpty, constantTimeEqual(given, expected) else {
            throw WebFailure(
                status: .forbidden, title: tr(request, "form_expired_title"), message: tr(request, "form_expired_text"))
        }
    }

    /// Pages only staff reach, in English, whose names do not start with "staff".
    static let staffTemplates: Set<String> = [
        "field/crew", "field/plan-pin", "identity/recovery-codes", "identity/second-factor", "identity/two-factor-setup",
    ]

    func page(
        _ template: String, title: String, request: Request, identity: Identity?, values: [String: Any],
        status: HTTPResponse.Status = .ok, errors: [FieldError] = [], script: Bool = false, map: Bool = false
    ) -> Response {
        var context = values
        // The staff console is written in English only: its pages, and every page a staff member sees, say so in their
        // `lang`, so a screen reader reads them in English whatever language the browser last chose.
        let staffUser = identity.map { !$0.awaitingSecondFactor && $0.user?.kind == .staff } ?? false
        let staffPage = template.split(separator: "/").last.map { $0.hasPrefix("staff") } ?? false || Self.staffTemplates.contains(template)
        let language = staffUser || staffPage ? .english : Catalog.language(of: request)
        context["title"] = title
        context["site"] = configuration.jurisdiction.name
        context["lang"] = language.rawValue
        context["t"] = catalog.all(language)
        let signedIn = identity.map { !$0.awaitingSecondFactor && $0.user != nil } ?? false
        context["signedIn"] = signedIn
        // Staff get the console's header (crews their day first); residents and visitors the public one.
        context["staffNav"] = staffUser
        context["crewNav"] = staffUser && identity?.user?.role == .crew
        context["residentNav"] = !staffUser
        var newCSRF: String?
        if let session = identity?.session {
            context["csrf"] = session.csrfToken
        } else if let existing = request.cookies[Self.csrfCookie]?.value, existing.count == 64, existing.allSatisfy(\.isHexDigit) {
            context["csrf"] = existing
        } else {
            let token = SecureRandom.token(bytes: 32)
            newCSRF = token
            context["csrf"] = token
        }
        let withMap = map && configuration.map.available
        context["script"] = script || withMap
        if withMap {
            context["map"] = true
            context["leafletBase"] = "/assets/leaflet"
            context["cluster"] = FileManager.default.fileExists(atPath: configuration.map.scriptsPath + "/leaflet.markercluster.js")
            context["clusterBase"] = "/assets/leaflet"
            context["tileURL"] = configuration.map.tileURL
            context["tileAttribution"] = configuration.map.tileAttribution
        }
        context["hasErrors"] = !errors.isEmpty
        context["errors"] = errors.map { ["field": $0.field, "message": $0.message] }
        var fieldErrors: [String: String] = [:]
        for error in errors where fieldErrors[error.field] == nil { fieldErrors[error.field] = error.message }
        context["fieldError"] = fieldErrors
        let html = views.render(template, Self.withoutBlanks(context))
        var response = Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                .contentSecurityPolicy: script || withMap ? scriptPolicy : Self.htmlPolicy,
                .contentLanguage: language.rawValue,
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
        if let newCSRF {
            response.setCookie(
                Cookie(name: Self.csrfCookie, value: newCSRF, path: "/", secure: secureCookies, httpOnly: true, sameSite: .strict))
        }
        if let asked = request.query.get("lang"), Language(rawValue: asked) != nil {
            response.setCookie(
                Cookie(name: Catalog.cookie, value: asked, maxAge: 365 * 86_400, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax))
        }
        return response
    }

    /// Mustache treats "" as true in sections; a blank text means "nothing to show", so blank values are dropped.
    static func withoutBlanks(_ value: [String: Any]) -> [String: Any] {
        var out: [String: Any] = [:]
        for (key, item) in value {
            switch item {
            case let text as String where text.isEmpty: continue
            case let nested as [String: Any]: out[key] = withoutBlanks(nested)
            case let list as [[String: Any]]: out[key] = list.map(withoutBlanks)
            default: out[key] = item
            }
        }
        return out
    }

    /// No script at all on these pages; styles only from our own stylesheet.
    static let htmlPolicy =
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// Pages enhanced with our own script (and the map): still no inline script; map tiles from the configured server.
    var scriptPolicy: String {
        let tiles = configuration.map.tileOrigin.map { " " + $0 } ?? ""
        return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:\(tiles); connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }

    var secureCookies: Bool { configuration.publicURL.hasPrefix("https://") }

    func sessionCookie(_ value: String) -> Cookie {
        Cookie(
            name: Authenticator.sessionCookie, value: value, maxAge: Int(configuration.security.sessionLifetime), path: "/",
            secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    func expiredSessionCookie() -> Cookie {
        Cookie(name: Authenticator.sessionCookie, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

}
