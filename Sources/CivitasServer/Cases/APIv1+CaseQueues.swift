import CivitasCore
import CivitasStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1/case-queues` and `/api/v1/cases/assign`: taking work from a queue, queue health, and assigning cases.
extension APIv1Controller {
    func pullCase(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["queue"])
        var queue: String?
        switch body["queue"] {
        case nil: break
        case .string(let name)?: queue = name
        default: throw Problem(.badRequest, code: "invalid_field", detail: "queue must be a queue's name.", field: "queue")
        }
        try require(identity, .workCases, on: .jurisdiction(jurisdiction))
        guard case .staff(let userID, _, _, _, _) = identity.actor else { throw Problem.forbidden("only staff pull cases from queues") }
        let skills = try await stores.cases.skills(userID: userID)
        guard
            let pulled = try await stores.cases.pull(
                userID: userID, departments: CaseAccess.departments(identity.actor), skills: skills, queue: queue, jurisdictionID: jurisdiction)
        else { return Response(status: .noContent) }
        let type = try await stores.cases.type(pulled.typeKey, version: pulled.typeVersion, jurisdictionID: jurisdiction)
        return json(try await caseObject(pulled, type: type, full: false, staffView: true))
    }

    func queueHealth(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        try require(identity, .superviseCases, on: .jurisdiction(jurisdiction))
        guard case .staff = identity.actor else { throw Problem.forbidden("queues are supervised by staff, not partner systems") }
        let health = try await stores.cases.health(departments: CaseAccess.departments(identity.actor), jurisdictionID: jurisdiction)
        return json([
            "items": health.map { queue -> [String: Any] in
                [
                    "name": queue.name, "department": queue.department, "skills": queue.skills, "waiting": queue.waiting,
                    "unassigned": queue.unassigned,
                    "oldest": queue.oldest.map(rfc3339) ?? NSNull(), "at_risk": queue.atRisk, "overdue": queue.overdue,
                ]
            }
        ])
    }

    func assignCases(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["ids", "assignee_id"])
        guard case .array(let items)? = body["ids"], !items.isEmpty, items.count <= 1000 else {
            throw Problem(.badRequest, code: "invalid_field", detail: "ids lists 1 to 1000 case ids.", field: "ids")
        }
        let ids = try items.map { item -> Int64 in
            guard case .integer(let id) = item else { throw Problem(.badRequest, code: "invalid_field", detail: "ids lists case ids.", field: "ids") }
            return id
        }
        var assignee: Int64?
        switch body["assignee_id"] {
        case .null?: assignee = nil
        case .integer(let id)?: assignee = id
        default:
            throw Problem(
                .badRequest, code: "invalid_field", detail: "assignee_id is a staff member's id, or null to return the cases to their queue.",
                field: "assignee_id")
        }
        try require(identity, .superviseCases, on: .jurisdiction(jurisdiction))
        guard case .staff = identity.actor else { throw Problem.forbidden("cases are reassigned by staff, not partner systems") }
        for id in ids {
            guard let found = try await stores.cases.find(id: id, jurisdictionID: jurisdiction),
                Permissions.decide(identity.actor, .superviseCases, on: CaseAccess.target(found)).allowed
            else { throw Problem.notFound("case \(id)") }
        }
        if let assignee {
            guard let user = try await stores.users.find(id: assignee), user.kind == .staff, user.jurisdictionID == jurisdiction else {
                throw Problem(.badRequest, code: "assignee_unknown", detail: "There is no staff member \(assignee).", field: "assignee_id")
            }
        }
        try await stores.cases.assign(ids, to: assignee, by: try caller(identity), jurisdictionID: jurisdiction)
        return json(["assigned": ids.count, "assignee_id": assignee.map { $0 as Any } ?? NSNull()])
    }
}
