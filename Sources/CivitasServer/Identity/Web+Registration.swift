import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import Mustache
import NIOCore

/// Registration with email confirmation, and resetting a forgotten password (also how new staff set theirs).
extension Web {
    // MARK: registration and email confirmation

    func registerPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        page("identity/register", title: tr(request, "register_title"), request: request, identity: nil, values: [:])
    }

    func register(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await checkedForm(request, session: nil)
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
            return page(
                "identity/register", title: tr(request, "register_title"), request: request, identity: nil, values: ["email": emailText],
                status: .badRequest, errors: errors)
        }
        if let wait = try await limiter.exceeded("signin:ip:" + address, limit: configuration.security.signInPerMinute) {
            return page(
                "identity/register", title: tr(request, "register_title"), request: request, identity: nil, values: ["email": emailText],
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
            try await mailLink(
                request, to: user, purpose: .verifyEmail, lifetime: 7 * 86400, path: "/verify-email",
                subject: "mail_confirm_subject", body: "mail_confirm_body")
        }
        return page(
            "app/message", title: tr(request, "check_email_title"), request: request, identity: nil,
            values: [
                "paragraphs": [tr(request, "register_sent", ["email": email])],
                "linkURL": "/signin", "linkText": tr(request, "nav_signin"),
            ])
    }

    func verifyEmailPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let token = request.query.get("token") ?? ""
        guard token.count <= 128,
            try await stores.users.peekToken(token, purposes: [.verifyEmail], jurisdictionID: configuration.jurisdiction.id) != nil
        else { return resendConfirmationForm(request, expired: true, status: .notFound) }
        return page(
            "identity/confirm-token", title: tr(request, "confirm_title"), request: request, identity: try await auth.identifySession(request),
            values: ["lead": tr(request, "confirm_lead"), "action": "/verify-email", "token": token, "button": tr(request, "confirm_button")])
    }

    func verifyEmail(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await readForm(request)
        let identity = try await auth.identifySession(request)
        try checkCSRF(form, request: request, session: identity?.session)
        guard let token = form["token"], token.count <= 128,
            let userID = try await stores.users.consumeToken(token, purposes: [.verifyEmail], jurisdictionID: configuration.jurisdiction.id)
        else { return resendConfirmationForm(request, expired: true, status: .notFound) }
        try await stores.users.markEmailVerified(id: userID)
        return page(
            "app/message", title: tr(request, "confirmed_title"), request: request, identity: identity,
            values: [
                "paragraphs": [tr(request, "confirmed_text")], "linkURL": identity == nil ? "/signin" : "/account",
                "linkText": identity == nil ? "Sign in" : "Go to your account",
            ])
    }

    // MARK: password reset and staff set-up

    func forgotPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        page("identity/forgot", title: tr(request, "forgot_title"), request: request, identity: nil, values: [:])
    }

    func forgot(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await checkedForm(request, session: nil)
        let address = clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor)
        let emailText = form["email"] ?? ""
        guard let email = try? UserStore.validate(email: emailText) else {
            return page(
                "identity/forgot", title: tr(request, "forgot_title"), request: request, identity: nil, values: ["email": emailText],
                status: .badRequest,
                errors: [FieldError(field: "email", message: tr(request, "email_invalid"))])
        }
        if let wait = try await limiter.exceeded("signin:ip:" + address, limit: configuration.security.signInPerMinute) {
            return page(
                "identity/forgot", title: tr(request, "forgot_title"), request: request, identity: nil, values: ["email": emailText],
                status: .tooManyRequests, errors: [FieldError(field: "email", message: tr(request, "error_too_many", ["seconds": String(wait)]))])
        }
        let jurisdiction = configuration.jurisdiction.id
        if let user = try await stores.users.find(email: email, jurisdictionID: jurisdiction), !user.disabled {
            try await mailLink(
                request, to: user, purpose: .resetPassword, lifetime: 3600, path: "/password/reset",
                subject: "mail_reset_subject", body: "mail_reset_body")
        }
        return page(
            "app/message", title: tr(request, "check_email_title"), request: request, identity: nil,
            values: ["paragraphs": [tr(request, "forgot_sent", ["email": email])]])
    }

    func resetPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let token = request.query.get("token") ?? ""
        guard token.count <= 128,
            let userID = try await stores.users.peekToken(token, purposes: [.resetPassword, .setUp], jurisdictionID: configuration.jurisdiction.id),
            let user = try await stores.users.find(id: userID)
        else { return expiredLink(request) }
        let heading = tr(request, user.passwordHash == nil ? "reset_choose" : "reset_choose_new")
        return page("identity/reset", title: heading, request: request, identity: nil, values: ["heading": heading, "token": token])
    }

    func reset(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await checkedForm(request, session: nil)
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
                "identity/reset", title: heading, request: request, identity: nil, values: ["heading": heading, "token": token], status: .badRequest,
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
            "app/message", title: tr(request, "password_saved_title"), request: request, identity: nil,
            values: [
                "paragraphs": [tr(request, "password_saved_text")]
                    + (user.kind == .staff && !user.totpEnabled
                        ? [tr(request, "password_saved_staff")] : []),
                "linkURL": "/signin", "linkText": tr(request, "nav_signin"),
            ])
        response.setCookie(expiredSessionCookie())
        return response
    }

    /// Asks for the address to send a new confirmation link to; after an expired link, says so first.
    func resendConfirmationForm(
        _ request: Request, expired: Bool, email: String = "", status: HTTPResponse.Status = .ok, errors: [FieldError] = []
    ) -> Response {
        page(
            "identity/resend-confirmation", title: tr(request, expired ? "confirm_expired_title" : "resend_title"), request: request,
            identity: nil, values: ["expired": expired, "email": email], status: status, errors: errors)
    }

    func resendConfirmationPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        resendConfirmationForm(request, expired: false)
    }

    /// Mails a new confirmation link to an account not confirmed yet. The answer is the same whoever asks, so the form
    /// does not tell who has an account; it is limited per address like sign-in.
    func resendConfirmation(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let form = try await checkedForm(request, session: nil)
        let address = clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor)
        let typed = form["email"]?.trimmingCharacters(in: .whitespaces) ?? ""
        guard let email = try? UserStore.validate(email: typed) else {
            return resendConfirmationForm(
                request, expired: false, email: typed, status: .badRequest,
                errors: [FieldError(field: "email", message: tr(request, "email_invalid"))])
        }
        if let wait = try await limiter.exceeded("signin:ip:" + address, limit: configuration.security.signInPerMinute) {
            return resendConfirmationForm(
                request, expired: false, email: typed, status: .tooManyRequests,
                errors: [FieldError(field: "email", message: tr(request, "error_too_many", ["seconds": String(wait)]))])
        }
        if let user = try await stores.users.find(email: email, jurisdictionID: configuration.jurisdiction.id), !user.emailVerified,
            !user.disabled
        {
            try await mailLink(
                request, to: user, purpose: .verifyEmail, lifetime: 7 * 86400, path: "/verify-email", subject: "mail_confirm_subject",
                body: "mail_confirm_body")
        }
        return page(
            "app/message", title: tr(request, "check_email_title"), request: request, identity: nil,
            values: ["paragraphs": [tr(request, "resend_sent", ["email": email])], "linkURL": "/signin", "linkText": tr(request, "nav_signin")])
    }

    /// Mails a one-time link (email confirmation, password reset) to an account, in the reader's language; `subject` and
    /// `body` are catalog keys, and the body gets the site's name and the link.
    func mailLink(
        _ request: Request, to user: User, purpose: UserStore.TokenPurpose, lifetime: TimeInterval, path: String, subject: String, body: String
    ) async throws {
        let jurisdiction = configuration.jurisdiction.id
        let token = try await stores.users.issueToken(userID: user.id, jurisdictionID: jurisdiction, purpose: purpose, lifetime: lifetime)
        try await stores.outbox.enqueue(
            to: user.email, subject: tr(request, subject),
            body: tr(request, body, ["site": configuration.jurisdiction.name, "link": "\(configuration.publicURL)\(path)?token=\(token)"]),
            jurisdictionID: jurisdiction)
    }
}
