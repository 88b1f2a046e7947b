import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird

/// The account page's own changes: the name and phone number we use, and a new password.
extension Web {
    func saveDetails(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let user = identity.user, !identity.awaitingSecondFactor else {
            return signInFirst(request)
        }
        let form = try await checkedForm(request, session: identity.session)
        do {
            try await stores.users.setDetails(
                id: user.id, name: form["name"] ?? "", phone: form["phone"] ?? "", jurisdictionID: user.jurisdictionID,
                actor: identity.actor.auditName)
        } catch let error as CivitasError {
            var typed = user
            typed.displayName = form["name"] ?? ""
            typed.phone = form["phone"] ?? ""
            return try await accountPage(
                request, identity: identity, user: typed, status: .badRequest,
                errors: [FieldError(field: error.field ?? "name", message: explain(error, request))])
        }
        return redirect("/account?saved=details#details")
    }

    func changePassword(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await auth.identifySession(request), let session = identity.session, let user = identity.user,
            !identity.awaitingSecondFactor
        else { return signInFirst(request) }
        let form = try await checkedForm(request, session: session)
        guard let hash = user.passwordHash else { return redirect("/account") }
        guard try await passwords.verify(form["current-password"] ?? "", hash: hash) else {
            try await stores.users.recordFailedSignIn(
                id: user.id, lockAfter: configuration.security.lockoutAttempts, lockFor: configuration.security.lockoutDuration)
            return try await accountPage(
                request, identity: identity, user: user, status: .badRequest,
                errors: [FieldError(field: "current-password", message: tr(request, "account_password_wrong"))])
        }
        let new = form["new-password"] ?? ""
        do { try Passwords.validate(new, email: user.email) } catch let error as CivitasError {
            return try await accountPage(
                request, identity: identity, user: user, status: .badRequest,
                errors: [FieldError(field: "new-password", message: explain(error, request))])
        }
        try await stores.users.changePassword(
            id: user.id, hash: try await passwords.hash(new), jurisdictionID: user.jurisdictionID, actor: identity.actor.auditName)
        // Anyone else signed in with the old password is signed out; this browser stays signed in.
        try await stores.sessions.deleteOthers(userID: user.id, keeping: session.idHash)
        return redirect("/account?saved=password#password")
    }
}
