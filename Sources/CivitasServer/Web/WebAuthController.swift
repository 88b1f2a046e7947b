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

/// Server-rendered pages for accounts: sign-in with a second factor for staff, registration with email
/// confirmation, password reset, the account page, sign-out (here and everywhere) and account deletion.
/// Every form carries a CSRF token; every state change is a POST.
struct WebAuthController: Sendable {
    static let csrfCookie = "civitas_csrf"

    let stores: Stores
    let configuration: AppConfiguration
    let auth: Authenticator
    let limiter: RateLimiter
    let passwords: Passwords
    let views: Views
    let catalog: Catalog

    func addRoutes(to root: Router<CivitasRequestContext>) {
        let router = root.group().add(middleware: WebFailureMiddleware(controller: self))
        router.get("signin", use: signInPage)
        router.post("signin", use: signIn)
        router.get("signin/verify", use: secondFactorPage)
        router.post("signin/verify", use: secondFactor)
        router.get("account/two-factor", use: twoFactorSetupPage)
        router.post("account/two-factor", use: twoFactorSetup)
        router.get("register", use: registerPage)
        router.post("register", use: register)
        router.get("verify-email", use: verifyEmailPage)
        router.post("verify-email", use: verifyEmail)
        router.get("password/forgot", use: forgotPage)
        router.post("password/forgot", use: forgot)
        router.get("password/reset", use: resetPage)
        router.post("password/reset", use: reset)
        router.get("account", use: account)
        router.post("signout", use: signOut)
        router.post("account/signout-everywhere", use: signOutEverywhere)
        router.post("account/delete", use: deleteAccount)
        router.post("account/tokens", use: createToken)
        router.post("account/tokens/:id/revoke", use: revokeToken)
    }

    // MARK: sign-in

    func signInPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await auth.identifySession(request)
        if let identity, !identity.awaitingSecondFactor { return redirect(home(for: identity)) }
        return page("signin", title: tr(request, "signin_title"), request: request, identity: nil, values: [:])
    }

    func signIn(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await readForm(request)
        try checkCSRF(form, request: request, session: nil)
        let address = clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor)
        let email = form["email"]?.trimmingCharacters(in: .whitespaces) ?? ""
        let password = form["password"] ?? ""
        var values: [String: Any] = ["email": email]
        if let wait = try await limiter.exceeded("signin:ip:" + address, limit: configuration.security.signInPerMinute) {
            return page(
                "signin", title: tr(request, "signin_title"), request: request, identity: nil, values: values, status: .tooManyRequests,
                errors: [FieldError(field: "email", message: tr(request, "error_too_many", ["seconds": String(wait)]))])
        }
        let wrong = FieldError(field: "email", message: tr(request, "signin_wrong"))
        let user = email.isEmpty ? nil : try await stores.users.find(email: email, jurisdictionID: configuration.jurisdiction.id)
        guard let user, let hash = user.passwordHash, !user.disabled else {
            _ = try await passwords.verify(password, hash: passwords.decoy)
            return page("signin", title: tr(request, "signin_title"), request: request, identity: nil, values: values, status: .unauthorized, errors: [wrong])
        }
        if let locked = user.lockedUntil, locked > Date() {
            let minutes = max(1, Int((locked.timeIntervalSinceNow / 60).rounded(.up)))
            return page(
                "signin", title: tr(request, "signin_title"), request: request, identity: nil, values: values, status: .unauthorized,
                errors: [FieldError(field: "email", message: tr(request, "signin_locked", ["minutes": String(minutes)]))])
        }
        guard try await passwords.verify(password, hash: hash) else {
            try await stores.users.recordFailedSignIn(
                id: user.id, lockAfter: configuration.security.lockoutAttempts, lockFor: configuration.security.lockoutDuration)
            values["email"] = email
            return page("signin", title: tr(request, "signin_title"), request: request, identity: nil, values: values, status: .unauthorized, errors: [wrong])
        }
        try await stores.users.recordSuccessfulSignIn(id: user.id)
        // A new session id at every sign-in: whatever session cookie the browser brought is dropped, never upgraded.
        if let old = request.cookies[Authenticator.sessionCookie]?.value { try await stores.sessions.delete(cookie: old) }
        let (cookie, _) = try await stores.sessions.create(
            userID: user.id, jurisdictionID: user.jurisdictionID, secondFactor: user.kind == .resident,
            lifetime: configuration.security.sessionLifetime)
        try await stores.audit.append(
            AuditEvent(actor: "\(user.kind.rawValue):\(user.id)", action: "session.signin", subject: "user:\(user.id)", source: address),
            jurisdictionID: user.jurisdictionID)
        let next: String
        switch user.kind {
        case .resident: next = "/account"
        case .staff: next = user.totpEnabled ? "/signin/verify" : "/account/two-factor"
        }
        var response = redirect(next)
        response.setCookie(sessionCookie(cookie))
        return response
    }

    func secondFactorPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), identity.awaitingSecondFactor, identity.user?.totpEnabled == true
        else { return redirect("/signin") }
        return page(
            "second-factor", title: tr(request, "staff_code_title"), request: request, identity: identity,
            values: ["codeLead": tr(request, "staff_code_lead", ["site": configuration.jurisdiction.name])])
    }

    func secondFactor(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), identity.awaitingSecondFactor,
            let session = identity.session, let user = identity.user, user.totpEnabled, let secret = user.totpSecret
        else { return redirect("/signin") }
        let form = try await readForm(request)
        try checkCSRF(form, request: request, session: session)
        let code = (form["code"] ?? "").filter { !$0.isWhitespace }
        var accepted = false
        if code.count == 6, code.allSatisfy(\.isNumber) {
            if let step = Self.matchingStep(code: code, secret: secret) {
                accepted = try await stores.users.useTOTPStep(id: user.id, step: step)
            }
        } else if !code.isEmpty {
            accepted = try await stores.users.useRecoveryCode(id: user.id, hash: SecureRandom.sha256Hex(Self.normalizeRecovery(code)))
        }
        guard accepted else {
            try await stores.users.recordFailedSignIn(
                id: user.id, lockAfter: configuration.security.lockoutAttempts, lockFor: configuration.security.lockoutDuration)
            if let locked = try await stores.users.find(id: user.id)?.lockedUntil, locked > Date() {
                try await stores.sessions.deleteAll(userID: user.id)
                var response = page(
                    "message", title: tr(request, "staff_locked_title"), request: request, identity: nil,
                    values: ["paragraphs": [tr(request, "staff_locked_text")]],
                    status: .unauthorized)
                response.setCookie(expiredSessionCookie())
                return response
            }
            return page(
                "second-factor", title: tr(request, "staff_code_title"), request: request, identity: identity,
                values: ["codeLead": tr(request, "staff_code_lead", ["site": configuration.jurisdiction.name])],
                status: .unauthorized, errors: [FieldError(field: "code", message: tr(request, "staff_code_wrong"))])
        }
        return try await upgrade(session: session, user: user, to: "/staff")
    }

    /// Replaces a password-only session with a fully signed-in one under a new id.
    func upgrade(session: Session, user: User, to next: String, body: Response? = nil) async throws -> Response {
        try await stores.users.recordSuccessfulSignIn(id: user.id)
        try await stores.sessions.deleteAll(userID: user.id)
        let (cookie, _) = try await stores.sessions.create(
            userID: user.id, jurisdictionID: user.jurisdictionID, secondFactor: true, lifetime: configuration.security.sessionLifetime)
        var response = body ?? redirect(next)
        response.setCookie(sessionCookie(cookie))
        return response
    }

    // MARK: two-factor set-up

    func twoFactorSetupPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let user = identity.user, user.kind == .staff else {
            return redirect("/signin")
        }
        guard !user.totpEnabled else { return redirect(identity.awaitingSecondFactor ? "/signin/verify" : "/account") }
        var secret = user.totpSecret ?? ""
        if secret.isEmpty {
            secret = SecureRandom.token(bytes: 16)
            try await stores.users.setPendingTOTP(id: user.id, secret: secret)
        }
        let url = TOTP(secret: secret).createAuthenticatorURL(label: user.email, issuer: configuration.jurisdiction.name)
        let key = URLComponents(string: url)?.queryItems?.first { $0.name == "secret" }?.value ?? ""
        return page(
            "two-factor-setup", title: tr(request, "staff_setup_title"), request: request, identity: identity,
            values: ["secret": Self.grouped(key), "otpauthURL": url])
    }

    func twoFactorSetup(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let session = identity.session, let user = identity.user,
            user.kind == .staff, !user.totpEnabled, let secret = user.totpSecret
        else { return redirect("/signin") }
        let form = try await readForm(request)
        try checkCSRF(form, request: request, session: session)
        let code = (form["code"] ?? "").filter { !$0.isWhitespace }
        guard code.count == 6, let step = Self.matchingStep(code: code, secret: secret) else {
            let url = TOTP(secret: secret).createAuthenticatorURL(label: user.email, issuer: configuration.jurisdiction.name)
            let key = URLComponents(string: url)?.queryItems?.first { $0.name == "secret" }?.value ?? ""
            return page(
                "two-factor-setup", title: tr(request, "staff_setup_title"), request: request, identity: identity,
                values: ["secret": Self.grouped(key), "otpauthURL": url], status: .badRequest,
                errors: [FieldError(field: "code", message: tr(request, "staff_setup_wrong"))])
        }
        let codes = (0..<10).map { _ in Self.recoveryCode() }
        try await stores.users.enableTOTP(id: user.id, step: step, recoveryCodeHashes: codes.map { SecureRandom.sha256Hex($0) })
        try await stores.audit.append(
            AuditEvent(actor: "staff:\(user.id)", action: "user.two_factor_on", subject: "user:\(user.id)", source: nil),
            jurisdictionID: user.jurisdictionID)
        var upgraded = identity
        upgraded.session?.secondFactorAt = Date()
        let body = page("recovery-codes", title: tr(request, "staff_recovery_title"), request: request, identity: upgraded, values: ["codes": codes])
        return try await upgrade(session: session, user: user, to: "/staff", body: body)
    }

    // MARK: registration and email confirmation

    func registerPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        page("register", title: tr(request, "register_title"), request: request, identity: nil, values: [:])
    }

    func register(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await readForm(request)
        try checkCSRF(form, request: request, session: nil)
        let address = clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor)
        let emailText = form["email"] ?? ""
        let password = form["password"] ?? ""
        var errors: [FieldError] = []
        var email = ""
        do { email = try UserStore.validate(email: emailText) } catch let error as CivitasError {
            errors.append(FieldError(field: "email", message: explain(error, request)))
        }
        do { try Passwords.validate(password, email: email) } catch let error as CivitasError {
            errors.append(FieldError(field: "password", message: explain(error, request)))
        }
        if !errors.isEmpty {
            return page("register", title: tr(request, "register_title"), request: request, identity: nil, values: ["email": emailText], status: .badRequest, errors: errors)
        }
        if let wait = try await limiter.exceeded("signin:ip:" + address, limit: configuration.security.signInPerMinute) {
            return page(
                "register", title: tr(request, "register_title"), request: request, identity: nil, values: ["email": emailText],
                status: .tooManyRequests, errors: [FieldError(field: "email", message: tr(request, "error_too_many", ["seconds": String(wait)]))])
        }
        let jurisdiction = configuration.jurisdiction.id
        if let existing = try await stores.users.find(email: email, jurisdictionID: jurisdiction) {
            // The same answer either way, so the form does not reveal who has an account; the owner hears of it.
            try await stores.outbox.enqueue(
                to: existing.email, subject: tr(request, "mail_registered_subject"),
                body: tr(request, "mail_registered_body", ["site": configuration.jurisdiction.name, "url": configuration.publicURL]),
                jurisdictionID: jurisdiction)
        } else {
            let hash = try await passwords.hash(password)
            let user = try await stores.users.create(
                email: email, kind: .resident, role: nil, departments: .only([]), passwordHash: hash, jurisdictionID: jurisdiction,
                actor: "anonymous", source: address)
            let token = try await stores.users.issueToken(userID: user.id, jurisdictionID: jurisdiction, purpose: .verifyEmail, lifetime: 7 * 86400)
            try await stores.outbox.enqueue(
                to: user.email, subject: tr(request, "mail_confirm_subject"),
                body: tr(request, "mail_confirm_body", ["site": configuration.jurisdiction.name, "link": "\(configuration.publicURL)/verify-email?token=\(token)"]),
                jurisdictionID: jurisdiction)
        }
        return page(
            "message", title: tr(request, "check_email_title"), request: request, identity: nil,
            values: [
                "paragraphs": [tr(request, "register_sent", ["email": email])],
                "linkURL": "/signin", "linkText": tr(request, "nav_signin"),
            ])
    }

    func verifyEmailPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let token = request.uri.queryParameters["token"].map(String.init) ?? ""
        guard token.count <= 128,
            try await stores.users.peekToken(token, purposes: [.verifyEmail], jurisdictionID: configuration.jurisdiction.id) != nil
        else { return expiredLink(request) }
        return page(
            "confirm-token", title: tr(request, "confirm_title"), request: request, identity: try await auth.identifySession(request),
            values: ["lead": tr(request, "confirm_lead"), "action": "/verify-email", "token": token, "button": tr(request, "confirm_button")])
    }

    func verifyEmail(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await readForm(request)
        let identity = try await auth.identifySession(request)
        try checkCSRF(form, request: request, session: identity?.session)
        guard let token = form["token"], token.count <= 128,
            let userID = try await stores.users.consumeToken(token, purposes: [.verifyEmail], jurisdictionID: configuration.jurisdiction.id)
        else { return expiredLink(request) }
        try await stores.users.markEmailVerified(id: userID)
        return page(
            "message", title: tr(request, "confirmed_title"), request: request, identity: identity,
            values: ["paragraphs": [tr(request, "confirmed_text")], "linkURL": identity == nil ? "/signin" : "/account",
                     "linkText": identity == nil ? "Sign in" : "Go to your account"])
    }

    // MARK: password reset and staff set-up

    func forgotPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        page("forgot", title: tr(request, "forgot_title"), request: request, identity: nil, values: [:])
    }

    func forgot(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await readForm(request)
        try checkCSRF(form, request: request, session: nil)
        let address = clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor)
        let emailText = form["email"] ?? ""
        guard let email = try? UserStore.validate(email: emailText) else {
            return page(
                "forgot", title: tr(request, "forgot_title"), request: request, identity: nil, values: ["email": emailText], status: .badRequest,
                errors: [FieldError(field: "email", message: tr(request, "email_invalid"))])
        }
        if let wait = try await limiter.exceeded("signin:ip:" + address, limit: configuration.security.signInPerMinute) {
            return page(
                "forgot", title: tr(request, "forgot_title"), request: request, identity: nil, values: ["email": emailText],
                status: .tooManyRequests, errors: [FieldError(field: "email", message: tr(request, "error_too_many", ["seconds": String(wait)]))])
        }
        let jurisdiction = configuration.jurisdiction.id
        if let user = try await stores.users.find(email: email, jurisdictionID: jurisdiction), !user.disabled {
            let token = try await stores.users.issueToken(userID: user.id, jurisdictionID: jurisdiction, purpose: .resetPassword, lifetime: 3600)
            try await stores.outbox.enqueue(
                to: user.email, subject: tr(request, "mail_reset_subject"),
                body: tr(request, "mail_reset_body", ["site": configuration.jurisdiction.name, "link": "\(configuration.publicURL)/password/reset?token=\(token)"]),
                jurisdictionID: jurisdiction)
        }
        return page(
            "message", title: tr(request, "check_email_title"), request: request, identity: nil,
            values: ["paragraphs": [tr(request, "forgot_sent", ["email": email])]])
    }

    func resetPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let token = request.uri.queryParameters["token"].map(String.init) ?? ""
        guard token.count <= 128,
            let userID = try await stores.users.peekToken(token, purposes: [.resetPassword, .setUp], jurisdictionID: configuration.jurisdiction.id),
            let user = try await stores.users.find(id: userID)
        else { return expiredLink(request) }
        let heading = tr(request, user.passwordHash == nil ? "reset_choose" : "reset_choose_new")
        return page("reset", title: heading, request: request, identity: nil, values: ["heading": heading, "token": token])
    }

    func reset(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await readForm(request)
        try checkCSRF(form, request: request, session: nil)
        let token = form["token"] ?? ""
        let password = form["password"] ?? ""
        let jurisdiction = configuration.jurisdiction.id
        guard token.count <= 128,
            let peeked = try await stores.users.peekToken(token, purposes: [.resetPassword, .setUp], jurisdictionID: jurisdiction),
            let user = try await stores.users.find(id: peeked)
        else { return expiredLink(request) }
        do { try Passwords.validate(password, email: user.email) } catch let error as CivitasError {
            let heading = tr(request, user.passwordHash == nil ? "reset_choose" : "reset_choose_new")
            return page(
                "reset", title: heading, request: request, identity: nil, values: ["heading": heading, "token": token], status: .badRequest,
                errors: [FieldError(field: "password", message: explain(error, request))])
        }
        let hash = try await passwords.hash(password)
        guard try await stores.users.consumeToken(token, purposes: [.resetPassword, .setUp], jurisdictionID: jurisdiction) == user.id else {
            return expiredLink(request)
        }
        try await stores.users.setPassword(id: user.id, hash: hash, verifiesEmail: true)
        try await stores.sessions.deleteAll(userID: user.id)
        try await stores.audit.append(
            AuditEvent(actor: "\(user.kind.rawValue):\(user.id)", action: "user.password_set", subject: "user:\(user.id)", source: nil),
            jurisdictionID: jurisdiction)
        var response = page(
            "message", title: tr(request, "password_saved_title"), request: request, identity: nil,
            values: ["paragraphs": [tr(request, "password_saved_text")] + (user.kind == .staff && !user.totpEnabled
                ? [tr(request, "password_saved_staff")] : []), "linkURL": "/signin", "linkText": tr(request, "nav_signin")])
        response.setCookie(expiredSessionCookie())
        return response
    }

    // MARK: account

    func account(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let user = identity.user else { return redirect("/signin") }
        if identity.awaitingSecondFactor { return redirect(user.totpEnabled ? "/signin/verify" : "/account/two-factor") }
        return try await accountPage(request, identity: identity, user: user)
    }

    func accountPage(
        _ request_: Request, identity: Identity, user: User, status: HTTPResponse.Status = .ok, errors: [FieldError] = [],
        extra: [String: Any] = [:]
    ) async throws -> Response {
        let sessions = try await stores.sessions.count(userID: user.id)
        var values: [String: Any] = [
            "email": user.email, "verified": user.emailVerified, "isStaff": user.kind == .staff, "isResident": user.kind == .resident,
            "role": user.role?.rawValue ?? "", "departments": departmentText(user.departments), "sessionCount": sessions,
        ]
        if user.kind == .staff {
            let tokens = try await stores.credentials.personalTokens(userID: user.id)
            values["hasTokens"] = !tokens.isEmpty
            values["tokens"] = tokens.map { token -> [String: Any] in
                [
                    "id": token.id, "name": token.name, "scopes": token.scopes.map(\.rawValue).joined(separator: ", "),
                    "expires": token.expiresAt.map {
                        "expires " + $0.formatted(Date.FormatStyle(date: .abbreviated, time: .omitted, timeZone: configuration.jurisdiction.timeZone))
                    } ?? "does not expire",
                ]
            }
        }
        if user.kind == .resident {
            var query = ServiceRequestQuery(jurisdictionID: user.jurisdictionID)
            query.residentID = user.id
            query.limit = 100
            let mine = try await stores.requests.search(query)
            values["hasRequests"] = !mine.isEmpty
            values["requests"] = mine.map { request -> [String: Any] in
                [
                    "id": request.id, "service": request.serviceName,
                    "status": tr(request_, request.status == .open ? "request_status_open" : "request_status_closed"),
                    "address": request.location.address ?? "",
                    "requested": request.requestedAt.formatted(Date.FormatStyle(date: .abbreviated, time: .omitted, timeZone: configuration.jurisdiction.timeZone)),
                ]
            }
        }
        values.merge(extra) { $1 }
        return page("account", title: tr(request_, "account_title"), request: request_, identity: identity, values: values, status: status, errors: errors)
    }

    func signOut(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await readForm(request)
        let identity = try await auth.identifySession(request)
        try checkCSRF(form, request: request, session: identity?.session)
        if let cookie = request.cookies[Authenticator.sessionCookie]?.value { try await stores.sessions.delete(cookie: cookie) }
        var response = redirect("/")
        response.setCookie(expiredSessionCookie())
        return response
    }

    func signOutEverywhere(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let user = identity.user else { return redirect("/signin") }
        let form = try await readForm(request)
        try checkCSRF(form, request: request, session: identity.session)
        try await stores.sessions.deleteAll(userID: user.id)
        var response = page(
            "message", title: tr(request, "signed_out_title"), request: request, identity: nil,
            values: ["paragraphs": [tr(request, "signed_out_text")], "linkURL": "/signin", "linkText": tr(request, "signed_out_again")])
        response.setCookie(expiredSessionCookie())
        return response
    }

    func deleteAccount(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let user = identity.user, user.kind == .resident,
            let hash = user.passwordHash
        else { return redirect("/signin") }
        let form = try await readForm(request)
        try checkCSRF(form, request: request, session: identity.session)
        guard try await passwords.verify(form["password"] ?? "", hash: hash) else {
            try await stores.users.recordFailedSignIn(
                id: user.id, lockAfter: configuration.security.lockoutAttempts, lockFor: configuration.security.lockoutDuration)
            return try await accountPage(
                request, identity: identity, user: user, status: .unauthorized,
                errors: [FieldError(field: "password", message: tr(request, "account_delete_wrong"))])
        }
        let address = clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor)
        try await stores.users.deleteAccount(id: user.id, jurisdictionID: user.jurisdictionID, source: address)
        var response = page(
            "message", title: tr(request, "account_deleted_title"), request: request, identity: nil,
            values: ["paragraphs": [tr(request, "account_deleted_text")]])
        response.setCookie(expiredSessionCookie())
        return response
    }

    // MARK: personal tokens

    /// The signed-in staff member, past the second factor, or nil.
    func signedInStaff(_ request: Request) async throws -> (Identity, User)? {
        guard let identity = try await auth.identifySession(request), !identity.awaitingSecondFactor, let user = identity.user,
            user.kind == .staff
        else { return nil }
        return (identity, user)
    }

    func createToken(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, user) = try await signedInStaff(request) else { return redirect("/signin") }
        let buffer = try await request.body.collect(upTo: 64 * 1024)
        let pairs = FormBody.urlEncoded(String(buffer: buffer))
        var form: [String: String] = [:]
        for (name, value) in pairs where form[name] == nil { form[name] = value }
        try checkCSRF(form, request: request, session: identity.session)
        let scopes = pairs.filter { $0.0 == "scope" }.compactMap { Scope(rawValue: $0.1) }
        do {
            let (_, token) = try await stores.credentials.createPersonalToken(
                userID: user.id, name: form["name"] ?? "", scopes: scopes, lifetime: 90 * 86400, jurisdictionID: user.jurisdictionID,
                source: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor))
            var response = try await accountPage(request, identity: identity, user: user, extra: ["newToken": token])
            response.status = .created
            return response
        } catch let error as CivitasError {
            return try await accountPage(
                request, identity: identity, user: user, status: .badRequest,
                errors: [FieldError(field: error.field == "scopes" ? "scope-read" : "name", message: error.message)])
        }
    }

    func revokeToken(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, user) = try await signedInStaff(request) else { return redirect("/signin") }
        let form = try await readForm(request)
        try checkCSRF(form, request: request, session: identity.session)
        guard let id = context.parameters.get("id").flatMap(Int64.init),
            try await stores.credentials.personalTokens(userID: user.id).contains(where: { $0.id == id })
        else { throw WebFailure(status: .notFound, title: tr(request, "staff_token_missing_title"), message: tr(request, "staff_token_missing_text")) }
        try await stores.credentials.revokePersonalToken(
            id: id, jurisdictionID: user.jurisdictionID, actor: "staff:\(user.id)",
            source: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor))
        return redirect("/account")
    }

    // MARK: staff

    func home(for identity: Identity) -> String { identity.user?.kind == .staff ? "/staff" : "/account" }

    func departmentText(_ scope: DepartmentScope) -> String {
        switch scope {
        case .all: "all departments"
        case .only(let names): names.sorted().joined(separator: ", ")
        }
    }

    func expiredLink(_ request: Request) -> Response {
        page(
            "message", title: tr(request, "link_expired_title"), request: request, identity: nil,
            values: ["paragraphs": [tr(request, "link_expired_text")],
                     "linkURL": "/password/forgot", "linkText": tr(request, "link_expired_again")],
            status: .notFound)
    }

    func readForm(_ request: Request) async throws -> [String: String] {
        Self.firstValues(try await readFormPairs(request))
    }

    /// Every field of a posted form in order, repeated names included (checkboxes).
    func readFormPairs(_ request: Request, upTo limit: Int = 64 * 1024) async throws -> [(String, String)] {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/x-www-form-urlencoded" else {
            throw WebFailure(status: .unsupportedMediaType, title: "Form not understood", message: "Send the form as application/x-www-form-urlencoded.")
        }
        return FormBody.urlEncoded(String(buffer: try await request.body.collect(upTo: limit)))
    }

    /// A posted form that may carry a file (multipart) or not (url-encoded): its fields' first values and its first
    /// file. A body over `limit` is answered with `tooLarge`.
    func readFormWithFile(_ request: Request, upTo limit: Int, tooLarge: String) async throws -> ([String: String], UploadedFile?) {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw WebFailure(status: .contentTooLarge, title: "Too large", message: tooLarge)
        }
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
    func checkCSRF(_ form: [String: String], request: Request, session: Session?) throws {
        let expected = session?.csrfToken ?? request.cookies[Self.csrfCookie]?.value ?? ""
        guard let given = form["csrf"], !expected.isEmpty, constantTimeEqual(given, expected) else {
            throw WebFailure(
                status: .forbidden, title: tr(request, "form_expired_title"), message: tr(request, "form_expired_text"))
        }
    }

    func page(
        _ template: String, title: String, request: Request, identity: Identity?, values: [String: Any],
        status: HTTPResponse.Status = .ok, errors: [FieldError] = [], script: Bool = false, map: Bool = false
    ) -> Response {
        var context = values
        let language = Catalog.language(of: request)
        context["title"] = title
        context["site"] = configuration.jurisdiction.name
        context["lang"] = language.rawValue
        context["t"] = catalog.all(language)
        let signedIn = identity.map { !$0.awaitingSecondFactor && $0.user != nil } ?? false
        context["signedIn"] = signedIn
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
        if let asked = request.uri.queryParameters.get("lang"), Language(rawValue: asked) != nil {
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

    /// The time step of the current, previous or next 30-second window whose code matches (clock drift allowance).
    static func matchingStep(code: String, secret: String, now: Date = Date()) -> Int64? {
        guard let number = Int(code) else { return nil }
        let totp = TOTP(secret: secret)
        for offset in [0, -1, 1] {
            let date = now.addingTimeInterval(TimeInterval(offset * 30))
            if totp.compute(date: date) == number { return Int64(date.timeIntervalSince1970 / 30) }
        }
        return nil
    }

    /// A recovery code: 10 characters from an alphabet without look-alikes, shown as xxxxx-xxxxx.
    static func recoveryCode() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        let chars = (0..<10).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        return String(chars[0..<5]) + "-" + String(chars[5..<10])
    }

    static func normalizeRecovery(_ text: String) -> String {
        let plain = text.lowercased().filter { $0.isLetter || $0.isNumber }
        guard plain.count == 10 else { return plain }
        return String(plain.prefix(5)) + "-" + String(plain.suffix(5))
    }

    static func grouped(_ key: String) -> String {
        stride(from: 0, to: key.count, by: 4).map { start -> String in
            let from = key.index(key.startIndex, offsetBy: start)
            let to = key.index(from, offsetBy: min(4, key.count - start))
            return String(key[from..<to])
        }.joined(separator: " ")
    }
}

/// A failure on a page, shown as a page (not JSON) with its status.
struct WebFailure: Error {
    var status: HTTPResponse.Status
    var title: String
    var message: String
}

struct WebFailureMiddleware: RouterMiddleware {
    let controller: WebAuthController

    func handle(
        _ request: Request, context: CivitasRequestContext, next: (Request, CivitasRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let failure as WebFailure {
            return controller.page(
                "message", title: failure.title, request: request, identity: nil, values: ["paragraphs": [failure.message]],
                status: failure.status)
        }
    }
}

/// The page templates, loaded once at start.
struct Views: Sendable {
    let library: MustacheLibrary

    /// Where the templates are in the build.
    static var folder: URL? { Bundle.module.url(forResource: "templates", withExtension: nil, subdirectory: "Resources") }

    static func load() async throws -> Views {
        guard let url = folder else {
            throw CivitasError(.unavailable, code: "templates_missing", message: "The page templates are missing from the build.")
        }
        return Views(library: try await MustacheLibrary(directory: url.path))
    }

    func render(_ template: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: template) ?? "<!doctype html><title>Error</title><p>Page template \(template) is missing.</p>"
    }
}
