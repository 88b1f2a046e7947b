import CivitasCore
import CivitasStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1/webhooks`: partners subscribe to case events and read their deliveries.
extension APIv1Controller {
    func partnerClient(_ identity: Identity) throws -> (String, [String]) {
        guard case .partner(let client, _, let scopes, _) = identity.actor else { throw Problem.forbidden("webhooks are for partner systems") }
        guard scopes.contains(.casesRead) else { throw Problem.forbidden("the token lacks the cases:read scope") }
        return (client, CaseAccess.departments(identity.actor))
    }

    func listWebhooks(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let (client, _) = try partnerClient(identity)
        let hooks = try await stores.cases.webhooks(clientID: client, jurisdictionID: identity.actor.jurisdictionID ?? "")
        return json(["items": hooks.map { ["id": $0.id, "url": $0.url, "events": $0.events, "active": $0.active] }])
    }

    /// Subscribes the calling partner to case events. The secret is shown once: deliveries carry
    /// `Civitas-Signature: t=UNIX,v1=HEX` where HEX is HMAC-SHA256 of "UNIX.BODY" with it.
    func createWebhook(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["url", "events"])
        guard case .string(let url)? = body["url"] else {
            throw Problem(.badRequest, code: "invalid_field", detail: "url is required.", field: "url")
        }
        var events: [String] = []
        switch body["events"] {
        case nil: break
        case .array(let items)?:
            events = try items.map { item in
                guard case .string(let name) = item else {
                    throw Problem(.badRequest, code: "invalid_field", detail: "events lists event types.", field: "events")
                }
                return name
            }
        default: throw Problem(.badRequest, code: "invalid_field", detail: "events lists event types.", field: "events")
        }
        let (client, departments) = try partnerClient(identity)
        let (hook, secret) = try await stores.cases.subscribe(
            clientID: client, url: url, events: events, departments: departments, jurisdictionID: identity.actor.jurisdictionID ?? "",
            allowPrivate: configuration.webhookAllowPrivate)
        return json(["id": hook.id, "url": hook.url, "events": hook.events, "active": true, "secret": secret], status: .created)
    }

    func deleteWebhook(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        guard let id = context.parameters.get("id").flatMap(Int64.init), id >= 1 else {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "The webhook id must be a positive whole number.", field: "id")
        }
        let (client, _) = try partnerClient(identity)
        try await stores.cases.unsubscribe(id, clientID: client, jurisdictionID: identity.actor.jurisdictionID ?? "")
        return Response(status: .noContent)
    }

    func webhookDeliveries(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let (client, _) = try partnerClient(identity)
        let log = try await stores.cases.deliveries(clientID: client, jurisdictionID: identity.actor.jurisdictionID ?? "")
        return json([
            "items": log.map { delivery -> [String: Any] in
                [
                    "id": delivery.id, "webhook_id": delivery.webhookID, "event_id": delivery.eventID, "event_type": delivery.eventType,
                    "attempts": delivery.attempts, "delivered_at": delivery.deliveredAt.map(rfc3339) ?? NSNull(),
                    "last_status": delivery.lastStatus ?? NSNull(), "last_error": delivery.lastError ?? NSNull(),
                    "next_attempt_at": rfc3339(delivery.nextAttemptAt),
                ]
            }
        ])
    }
}
