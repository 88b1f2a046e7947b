import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import Mustache
import NIOCore

/// Signing in: a password, then for staff a second factor (an authenticator code or a recovery code), and setting one up.
extension Web {
    // MARK: sign-in

    func signInPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await auth.identifySession(request)
        let next = Self.safeNext(request.query.get("next"))
        if let identity, !identity.awaitingSecondFactor { return redirect(next ?? home(for: identity)) }
        return page("identity/signin", title: tr(request, "signin_title"), request: request, identity: nil, values: ["next": next ?? ""])
    }

    func signIn(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await checkedForm(request, session: nil)
        let address = clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor)
        let email = form["email"]?.trimmingCharacters(in: .whitespaces) ?? ""
        let password = form["password"] ?? ""
        let next = Self.safeNext(form["next"])
        var values: [String: Any] = ["email": email, "next": next ?? ""]
        if let wait = try await limiter.exceeded("signin:ip:" + address, limit: configuration.security.signInPerMinute) {
            return page(
                "identity/signin", title: tr(request, "signin_title"), request: request, identity: nil, values: values, status: .tooManyRequests,
                errors: [FieldError(field: "email", message: tr(request, "error_too_many", ["seconds": String(wait)]))])
        }
        let wrong = FieldError(field: "email", message: tr(request, "signin_wrong"))
        let user = email.isEmpty ? nil : try await stores.users.find(email: email, jurisdictionID: configuration.jurisdiction.id)
        guard let user, let hash = user.passwordHash, !user.disabled else {
            _ = try await passwords.verify(password, hash: passwords.decoy)
            return page(
                "identity/signin", title: tr(request, "signin_title"), request: request, identity: nil, values: values, status: .unauthorized,
                errors: [wrong])
        }
        if let locked = user.lockedUntil, locked > Date() {
            let minutes = max(1, Int((locked.timeIntervalSinceNow / 60).rounded(.up)))
            return page(
                "identity/signin", title: tr(request, "signin_title"), request: request, identity: nil, values: values, status: .unauthorized,
                errors: [FieldError(field: "email", message: tr(request, "signin_locked", ["minutes": String(minutes)]))])
        }
        guard try await passwords.verify(password, hash: hash) else {
            try await stores.users.recordFailedSignIn(
                id: user.id, lockAfter: configuration.security.lockoutAttempts, lockFor: configuration.security.lockoutDuration)
            values["email"] = email
            return page(
                "identity/signin", title: tr(request, "signin_title"), request: request, identity: nil, values: values, status: .unauthorized,
                errors: [wrong])
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
        let onward: String
        switch user.kind {
        case .resident: onward = next ?? home(for: user)
        case .staff: onward = user.totpEnabled ? "/signin/verify" + (next.map { "?next=" + Self.formEncode($0) } ?? "") : "/account/two-factor"
        }
        var response = redirect(onward)
        response.setCookie(sessionCookie(cookie))
        return response
    }

    func secondFactorPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), identity.awaitingSecondFactor, identity.user?.totpEnabled == true
        else { return redirect("/signin") }
        return page(
            "identity/second-factor", title: tr(request, "staff_code_title"), request: request, identity: identity,
            values: [
                "codeLead": tr(request, "staff_code_lead", ["site": configuration.jurisdiction.name]),
                "next": Self.safeNext(request.query.get("next")) ?? "",
            ])
    }

    func secondFactor(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), identity.awaitingSecondFactor,
            let session = identity.session, let user = identity.user, user.totpEnabled, let secret = user.totpSecret
        else { return redirect("/signin") }
        let form = try await checkedForm(request, session: session)
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
                    "app/message", title: tr(request, "staff_locked_title"), request: request, identity: nil,
                    values: ["paragraphs": [tr(request, "staff_locked_text")]],
                    status: .unauthorized)
                response.setCookie(expiredSessionCookie())
                return response
            }
            return page(
                "identity/second-factor", title: tr(request, "staff_code_title"), request: request, identity: identity,
                values: [
                    "codeLead": tr(request, "staff_code_lead", ["site": configuration.jurisdiction.name]),
                    "next": Self.safeNext(form["next"]) ?? "",
                ],
                status: .unauthorized, errors: [FieldError(field: "code", message: tr(request, "staff_code_wrong"))])
        }
        return try await upgrade(session: session, user: user, to: Self.safeNext(form["next"]) ?? home(for: user))
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
            "identity/two-factor-setup", title: tr(request, "staff_setup_title"), request: request, identity: identity,
            values: setupValues(request, url: url, key: key))
    }

    /// The set-up page's key three ways: a QR code to scan, the key to type, and a link for an app on this device.
    func setupValues(_ request: Request, url: String, key: String) -> [String: Any] {
        ["secret": Self.grouped(key), "otpauthURL": url, "qr": QRCode(text: url)?.svg(label: tr(request, "staff_setup_qr_label")) ?? ""]
    }

    func twoFactorSetup(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let session = identity.session, let user = identity.user,
            user.kind == .staff, !user.totpEnabled, let secret = user.totpSecret
        else { return redirect("/signin") }
        let form = try await checkedForm(request, session: session)
        let code = (form["code"] ?? "").filter { !$0.isWhitespace }
        guard code.count == 6, let step = Self.matchingStep(code: code, secret: secret) else {
            let url = TOTP(secret: secret).createAuthenticatorURL(label: user.email, issuer: configuration.jurisdiction.name)
            let key = URLComponents(string: url)?.queryItems?.first { $0.name == "secret" }?.value ?? ""
            return page(
                "identity/two-factor-setup", title: tr(request, "staff_setup_title"), request: request, identity: identity,
                values: setupValues(request, url: url, key: key), status: .badRequest,
                errors: [FieldError(field: "code", message: tr(request, "staff_setup_wrong"))])
        }
        let codes = (0..<10).map { _ in Self.recoveryCode() }
        try await stores.users.enableTOTP(id: user.id, step: step, recoveryCodeHashes: codes.map { SecureRandom.sha256Hex($0) })
        try await stores.audit.append(
            AuditEvent(actor: "staff:\(user.id)", action: "user.two_factor_on", subject: "user:\(user.id)", source: nil),
            jurisdictionID: user.jurisdictionID)
        var upgraded = identity
        upgraded.session?.secondFactorAt = Date()
        let body = page(
            "identity/recovery-codes", title: tr(request, "staff_recovery_title"), request: request, identity: upgraded, values: ["codes": codes])
        return try await upgrade(session: session, user: user, to: "/staff", body: body)
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
