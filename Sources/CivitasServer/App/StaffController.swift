import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The staff console's frame, which every staff page uses: who the signed-in staff member is (past their second
/// factor), and the guard that sends anyone else to sign in or answers 403. The console's pages are extensions by
/// capability: `Requests/StaffController+*.swift` (the queue, a request's page and its actions, saved views and
/// response templates), and the case and dispatch controllers that hold a `StaffController`. Every action goes through
/// the same store calls as the API, so it is checked and audited the same way.
struct StaffController: PageController {
    let web: Web

    func t(_ request: Request, _ key: String, _ values: [String: String] = [:]) -> String {
        web.catalog.text(key, .english, values)
    }

    struct Staff {
        var identity: Identity
        var user: User
        var origin: ChangeOrigin
    }

    /// The signed-in staff member past their second factor, or the answer to give instead.
    func staff(_ request: Request, context: CivitasRequestContext) async throws -> Result<Staff, StaffRefusal> {
        guard let identity = try await web.auth.identifySession(request), let user = identity.user else {
            return .failure(StaffRefusal(response: web.signInFirst(request)))
        }
        if identity.awaitingSecondFactor {
            return .failure(StaffRefusal(response: web.redirect(user.totpEnabled ? "/signin/verify" : "/account/two-factor")))
        }
        guard Permissions.decide(identity.actor, .useStaffConsole, on: .jurisdiction(user.jurisdictionID)).allowed else {
            return .failure(
                StaffRefusal(
                    response: web.page(
                        "app/message", title: t(request, "staff_only"), request: request, identity: identity,
                        values: ["paragraphs": [t(request, "staff_only_text")], "linkURL": "/account", "linkText": t(request, "nav_account")],
                        status: .forbidden)))
        }
        let origin = ChangeOrigin(
            actor: identity.actor.auditName,
            source: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor))
        return .success(Staff(identity: identity, user: user, origin: origin))
    }

    struct StaffRefusal: Error { var response: Response }

    func signedIn(_ request: Request, context: CivitasRequestContext) async throws -> Staff {
        switch try await staff(request, context: context) {
        case .success(let staff): return staff
        case .failure(let refusal): throw refusal
        }
    }

    /// Turns a refusal into its page; everything else passes through.
    func guarded(_ request: Request, context: CivitasRequestContext, _ body: (Staff) async throws -> Response) async throws -> Response {
        do {
            return try await body(try await signedIn(request, context: context))
        } catch let refusal as StaffRefusal {
            return refusal.response
        }
    }

}
