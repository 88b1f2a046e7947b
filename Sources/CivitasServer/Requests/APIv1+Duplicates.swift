import CivitasCore
import CivitasStore
import Foundation
import Hummingbird

/// `/api/v1/.../duplicates`: what staff see on a request's page and what a resident is asked before submitting, for
/// partners' systems, scored by the same code (`DuplicateScoring` through `ServiceRequestStore.duplicates`).
extension APIv1Controller {
    func addDuplicateRoutes(to api: RouterGroup<CivitasRequestContext>) {
        api.get("service-requests/:id/duplicates", use: requestDuplicates)
        api.get("duplicates", use: checkDuplicates)
    }

    /// The likely duplicates of a request staff or a partner may read: open, unmerged requests of its service within
    /// the service's radius and window, best first, each with its score and the reasons in words.
    func requestDuplicates(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readable(request, context: context, identity: identity)
        if case .resident = identity.actor {
            throw Problem.forbidden("the likely duplicates of a request are for staff and partner systems")
        }
        guard found.status == .open, try await stores.requests.parent(of: found.id, jurisdictionID: found.jurisdictionID) == nil,
            let lat = found.location.latitude, let long = found.location.longitude
        else { return json(["items": [Any](), "policy": NSNull()]) }
        let settings = try await stores.serviceSettings.settings(for: found.serviceCode, jurisdictionID: found.jurisdictionID)
        let probe = DuplicateProbe(
            serviceCode: found.serviceCode, location: Coordinate(latitude: lat, longitude: long), at: found.requestedAt,
            description: found.description)
        let matches = try await stores.requests.duplicates(
            of: probe, policy: settings.duplicates, jurisdictionID: found.jurisdictionID, excluding: found.id)
        return json(["items": matches.prefix(20).map(matchObject), "policy": policyObject(settings.duplicates)])
    }

    /// The check a resident gets before submitting: open requests of `service_code` near `lat`,`long` now.
    func checkDuplicates(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        guard let jurisdiction = identity.actor.jurisdictionID else { throw Problem.unauthenticated(nil) }
        let parameters = try Self.query(request)
        guard let code = parameters["service_code"], !code.isEmpty else {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "service_code is required.", field: "service_code")
        }
        guard let service = try await stores.services.find(code: code, jurisdictionID: jurisdiction) else {
            throw Problem(.notFound, code: "service_not_found", detail: "There is no service \(code).", field: "service_code")
        }
        func degrees(_ name: String, _ limit: Double) throws -> Double {
            guard let text = parameters[name], let value = Double(text), value.isFinite, abs(value) <= limit else {
                throw Problem(
                    .badRequest, code: "invalid_parameter", detail: "\(name) is required: a number from -\(Int(limit)) to \(Int(limit)).",
                    field: name)
            }
            return value
        }
        let location = Coordinate(latitude: try degrees("lat", 90), longitude: try degrees("long", 180))
        let description = parameters["description"].flatMap { $0.isEmpty ? nil : $0 }
        if let description, description.unicodeScalars.count > 4000 {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "description may have at most 4000 characters.", field: "description")
        }
        let settings = try await stores.serviceSettings.settings(for: service.code, jurisdictionID: jurisdiction)
        let probe = DuplicateProbe(serviceCode: service.code, location: location, at: Date(), description: description)
        let matches = try await stores.requests.duplicates(of: probe, policy: settings.duplicates, jurisdictionID: jurisdiction)
        // A resident filing is offered the five best, as on the report page.
        return json(["items": matches.prefix(5).map(matchObject), "policy": policyObject(settings.duplicates)])
    }

    func matchObject(_ match: DuplicateMatch) -> [String: Any] {
        [
            "id": match.id, "score": (match.score * 1000).rounded() / 1000, "distance_m": Int(match.distanceMetres.rounded()),
            "age_seconds": Int(match.age.rounded()),
            "text_similarity": match.textSimilarity.map { ($0 * 1000).rounded() / 1000 } ?? NSNull(),
            "reasons": match.explanation, "url": "/api/v1/service-requests/\(match.id)",
        ]
    }

    func policyObject(_ policy: DuplicatePolicy) -> [String: Any] {
        ["radius_m": policy.radiusMetres, "window_hours": Int(policy.window / 3600)]
    }
}
