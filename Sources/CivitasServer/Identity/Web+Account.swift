import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import Mustache
import NIOCore

/// The account page: sign-out here and everywhere, deleting the account, and staff's personal API tokens.
extension Web {
    // MARK: account

    func account(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let user = identity.user else { return signInFirst(request) }
        if identity.awaitingSecondFactor { return redirect(user.totpEnabled ? "/signin/verify" : "/account/two-factor") }
        return try await accountPage(request, identity: identity, user: user)
    }

    /// The account page's "send the confirmation again", for a signed-in resident whose address is not confirmed.
    func resendOwnConfirmation(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let user = identity.user, !identity.awaitingSecondFactor else {
            return redirect("/signin")
        }
        _ = try await checkedForm(request, session: identity.session)
        if !user.emailVerified {
            try await mailLink(
                request, to: user, purpose: .verifyEmail, lifetime: 7 * 86400, path: "/verify-email", subject: "mail_confirm_subject",
                body: "mail_confirm_body")
        }
        return try await accountPage(request, identity: identity, user: user, extra: ["notice": tr(request, "resend_sent", ["email": user.email])])
    }

    func accountPage(
        _ httpRequest: Request, identity: Identity, user: User, status: HTTPResponse.Status = .ok, errors: [FieldError] = [],
        extra: [String: Any] = [:]
    ) async throws -> Response {
        let sessions = try await stores.sessions.count(userID: user.id)
        var values: [String: Any] = [
            "email": user.email, "verified": user.emailVerified, "isStaff": user.kind == .staff, "isResident": user.kind == .resident,
            "role": user.role?.rawValue ?? "", "departments": departmentText(user.departments), "sessionCount": sessions,
            "name": user.displayName, "phone": user.phone, "hasPassword": user.passwordHash != nil, "isAdmin": user.role == .admin,
        ]
        switch httpRequest.query["saved"] {
        case "details": values["notice"] = tr(httpRequest, "account_details_saved")
        case "password": values["notice"] = tr(httpRequest, "account_password_changed")
        default: break
        }
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
            let places = try await places(mine, request: httpRequest)
            values["requests"] = mine.map { request -> [String: Any] in
                [
                    "id": request.id, "service": request.serviceName,
                    "status": tr(httpRequest, request.status == .open ? "request_status_open" : "request_status_closed"),
                    "address": places[request.id] ?? "",
                    "requested": request.requestedAt.formatted(
                        Date.FormatStyle(date: .abbreviated, time: .omitted, timeZone: configuration.jurisdiction.timeZone)),
                ]
            }
        }
        values.merge(extra) { $1 }
        return page(
            "identity/account", title: tr(httpRequest, "account_title"), request: httpRequest, identity: identity, values: values, status: status,
            errors: errors)
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
        guard let identity = try await auth.identifySession(request), let user = identity.user else { return signInFirst(request) }
        let form = try await checkedForm(request, session: identity.session)
        try await stores.sessions.deleteAll(userID: user.id)
        var response = page(
            "app/message", title: tr(request, "signed_out_title"), request: request, identity: nil,
            values: ["paragraphs": [tr(request, "signed_out_text")], "linkURL": "/signin", "linkText": tr(request, "signed_out_again")])
        response.setCookie(expiredSessionCookie())
        return response
    }

    func deleteAccount(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let user = identity.user, user.kind == .resident,
            let hash = user.passwordHash
        else { return signInFirst(request) }
        let form = try await checkedForm(request, session: identity.session)
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
            "app/message", title: tr(request, "account_deleted_title"), request: request, identity: nil,
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
        guard let (identity, user) = try await signedInStaff(request) else { return signInFirst(request) }
        let buffer = try await body(request, upTo: 64 * 1024, tooLarge: "The form is too large.")
        let pairs = try Self.formPairs(buffer)
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
        guard let (identity, user) = try await signedInStaff(request) else { return signInFirst(request) }
        let form = try await checkedForm(request, session: identity.session)
        guard let id = context.parameters.get("id").flatMap(Int64.init),
            try await stores.credentials.personalTokens(userID: user.id).contains(where: { $0.id == id })
        else {
            throw WebFailure(status: .notFound, title: tr(request, "staff_token_missing_title"), message: tr(request, "staff_token_missing_text"))
        }
        try await stores.credentials.revokePersonalToken(
            id: id, jurisdictionID: user.jurisdictionID, actor: "staff:\(user.id)",
            source: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor))
        return redirect("/account")
    }
}
