import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/api/v1/service-requests/{id}/merge` and `/unmerge`: joining duplicates into a request, and undoing that.
extension APIv1Controller {
    func addMergeRoutes(to api: RouterGroup<CivitasRequestContext>) {
        api.post("service-requests/:id/merge", use: merge)
        api.post("service-requests/:id/unmerge", use: unmerge)
    }

    /// Merges duplicates into the request in the path: the same store call as the staff console's merge.
    func merge(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readable(request, context: context, identity: identity)
        try require(identity, .mergeRequests, on: Self.target(found))
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["duplicates"])
        guard case .array(let items)? = body["duplicates"], (1...100).contains(items.count) else {
            throw Problem(
                .badRequest, code: "merge_empty", detail: "duplicates must list 1 to 100 request ids.", field: "duplicates")
        }
        let ids = try items.map { item -> Int64 in
            guard case .integer(let id) = item, id >= 1 else {
                throw Problem(
                    .badRequest, code: "invalid_field", detail: "duplicates must be request ids (whole numbers from 1).", field: "duplicates")
            }
            return id
        }
        let parent = try await stores.requests.merge(
            ids, into: found.id, jurisdictionID: found.jurisdictionID, departments: departments(identity), by: origin(identity, request, context))
        return json(summary(parent))
    }

    /// Undoes the merge of one duplicate into the request in the path: the same store call as the staff console's undo.
    func unmerge(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readable(request, context: context, identity: identity)
        try require(identity, .mergeRequests, on: Self.target(found))
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["duplicate"])
        guard case .integer(let id)? = body["duplicate"], id >= 1 else {
            throw Problem(
                .badRequest, code: "invalid_field", detail: "duplicate must be the id of a request merged into this one.", field: "duplicate")
        }
        // The duplicate must be one the caller may merge too; one it may not is answered as if it did not exist.
        if let child = try await stores.requests.find(id: id, jurisdictionID: found.jurisdictionID),
            !Permissions.decide(identity.actor, .mergeRequests, on: Self.target(child)).allowed
        {
            throw CivitasError(.conflict, code: "unmerge_unknown", message: "There is no service request \(id) you can separate.", field: "duplicate")
        }
        let child = try await stores.requests.unmerge(
            id, from: found.id, jurisdictionID: found.jurisdictionID, departments: departments(identity),
            by: origin(identity, request, context))
        return json(summary(child.request))
    }

    private func departments(_ identity: Identity) -> DepartmentScope {
        switch identity.actor {
        case .staff(_, _, _, let scope, _), .partner(_, _, _, let scope): scope
        default: .all
        }
    }
}
