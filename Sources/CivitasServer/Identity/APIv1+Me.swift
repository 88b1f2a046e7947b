import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /api/v1/me`: who the caller is, with their role, departments and scopes.
extension APIv1Controller {
    func addIdentityRoutes(to api: RouterGroup<CivitasRequestContext>) {
        api.get("me", use: me)
    }

    func me(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        var object: [String: Any] = ["jurisdiction_id": identity.actor.jurisdictionID ?? ""]
        switch identity.actor {
        case .anonymous: throw Problem.unauthenticated(nil)
        case .resident(let id, _):
            object.merge(["actor": "resident", "id": String(id), "role": NSNull(), "departments": [String](), "scopes": [String]()]) { $1 }
        case .staff(let id, _, let role, let departments, let scopes):
            object.merge([
                "actor": "staff", "id": String(id), "role": role.rawValue, "departments": departments.names,
                "scopes": (scopes.map { Array($0) } ?? Scope.allCases).map(\.rawValue).sorted(),
            ]) { $1 }
        case .partner(let client, _, let scopes, let departments):
            object.merge([
                "actor": "partner", "id": client, "role": NSNull(), "departments": departments.names,
                "scopes": scopes.map(\.rawValue).sorted(),
            ]) { $1 }
        }
        return json(object)
    }
}
