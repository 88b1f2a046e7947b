import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Steps 3 and 4: where the problem is, then likely duplicates nearby, which the resident can follow instead.
extension ReportController {
    // MARK: 3. location

    func locationPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let service = try await service(of: draft, for: request)
        return try await locationForm(
            request, draft: draft, service: service,
            values: ["address": draft.value("address") ?? "", "lat": draft.value("lat") ?? "", "long": draft.value("long") ?? ""])
    }

    func locationForm(
        _ request: Request, draft: Draft, service: ServiceDefinition, values extra: [String: Any], errors: [FieldError] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        var values = extra
        values["draft"] = draft.id
        values["back"] = service.attributes.contains { $0.variable } ? "/report/\(draft.id)/details" : "/report"
        values.merge(changeValues(request, draft: draft)) { $1 }
        let centre = try await mapCentre()
        values["centreLat"] = String(format: "%.5f", centre.latitude)
        values["centreLong"] = String(format: "%.5f", centre.longitude)
        values["addressError"] = errors.first { $0.field == "address" }?.message ?? ""
        return web.page(
            "requests/report-location", title: t(request, "location_title"), request: request, identity: try await identity(request), values: values,
            status: status, errors: errors, script: true, map: true)
    }

    /// Where the map opens: the middle of the jurisdiction's open requests, else of its address points.
    func mapCentre() async throws -> Coordinate {
        if let centre = try await stores.requests.centre(jurisdictionID: jurisdiction) { return centre }
        return Coordinate(latitude: 39.2904, longitude: -76.6122)
    }

    func location(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        var draft = try await draft(context, request: request)
        let identity = try await identity(request)
        let fields = try await form(request, session: identity?.session)
        let service = try await service(of: draft, for: request)
        let typed = fields["address"]?.first?.trimmingCharacters(in: .whitespaces) ?? ""
        let lat = fields["lat"]?.first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let long = fields["long"]?.first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        var values: [String: Any] = ["address": typed, "lat": fields["lat"]?.first ?? "", "long": fields["long"]?.first ?? ""]

        var chosen: AddressPoint?
        if let lat, let long, (-90...90).contains(lat), (-180...180).contains(long) {
            let spot = Coordinate(latitude: lat, longitude: long)
            let near = try await stores.addresses.nearest(to: spot, jurisdictionID: jurisdiction)
            chosen = AddressPoint(address: typed.isEmpty ? (near?.address ?? "") : typed, zipcode: near?.zipcode, location: spot)
        } else if !typed.isEmpty {
            let found = try await stores.addresses.search(typed, jurisdictionID: jurisdiction, limit: 8)
            let key = AddressPoint.searchKey(typed)
            // An entry as typed; else a house number the points lack on a street they have (placed between its
            // neighbours); else the entries that start so; else streets spelled nearly so ("Did you mean").
            var choices = found
            var message = t(request, "location_choose")
            if let exact = found.first(where: { AddressPoint.searchKey($0.address) == key }) ?? (found.count == 1 ? found.first : nil) {
                chosen = exact
            } else if found.isEmpty, let placed = try await stores.addresses.onSameStreet(typed, jurisdictionID: jurisdiction) {
                chosen = placed
            } else if found.isEmpty {
                choices = try await stores.addresses.similarStreets(typed, jurisdictionID: jurisdiction)
                message = t(request, "location_did_you_mean", ["address": typed])
            }
            if chosen == nil {
                guard !choices.isEmpty else {
                    return try await locationForm(
                        request, draft: draft, service: service, values: values,
                        errors: [
                            FieldError(
                                field: "address",
                                message: t(request, fields["js"]?.first == "1" ? "location_none" : "location_none_no_map", ["address": typed]))
                        ], status: .badRequest)
                }
                values["choices"] = choices.enumerated().map { index, point in
                    ["id": "choice-\(index)", "address": point.address, "zipcode": point.zipcode ?? ""]
                }
                values["choose"] = true
                return try await locationForm(
                    request, draft: draft, service: service, values: values, errors: [FieldError(field: "choice-0", message: message)],
                    status: .badRequest)
            }
        } else if lat != nil || long != nil || !(fields["lat"]?.first ?? "").isEmpty || !(fields["long"]?.first ?? "").isEmpty {
            return try await locationForm(
                request, draft: draft, service: service, values: values,
                errors: [FieldError(field: "lat", message: t(request, fields["js"]?.first == "1" ? "location_missing" : "location_missing_no_map"))],
                status: .badRequest)
        } else {
            return try await locationForm(
                request, draft: draft, service: service, values: values,
                errors: [
                    FieldError(field: "address", message: t(request, fields["js"]?.first == "1" ? "location_missing" : "location_missing_no_map"))
                ], status: .badRequest)
        }
        guard let chosen else { throw WebFailure(status: .badRequest, title: "Location", message: "Choose a location.") }
        draft.data["lat"] = [String(chosen.location.latitude)]
        draft.data["long"] = [String(chosen.location.longitude)]
        draft.data["address"] = chosen.address.isEmpty ? nil : [chosen.address]
        draft.data["zipcode"] = chosen.zipcode.map { [$0] }
        try await stores.drafts.save(draft.id, data: draft.data, jurisdictionID: jurisdiction)
        let matches = try await duplicateMatches(draft: draft, service: service)
        return next(request, draft: draft, matches.isEmpty ? "description" : "duplicates")
    }

    /// Open requests that may be the same problem, by the service's own radius and window.
    func duplicateMatches(draft: Draft, service: ServiceDefinition) async throws -> [DuplicateMatch] {
        guard let coordinate = draft.coordinate else { return [] }
        let settings = try await stores.serviceSettings.settings(for: service.code, jurisdictionID: jurisdiction)
        // A hidden service's reports are not shown to the public, so none is offered as "the same problem" either.
        guard settings.visibility != .hidden else { return [] }
        let probe = DuplicateProbe(serviceCode: service.code, location: coordinate, at: Date(), description: draft.value("description"))
        return Array(try await stores.requests.duplicates(of: probe, policy: settings.duplicates, jurisdictionID: jurisdiction).prefix(5))
    }

    /// Suggestions while typing an address: JSON for the page script, `[{"address": ..., "lat": ..., "long": ...}]`.
    func addressSuggestions(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let text = request.query.get("q") ?? ""
        let found = text.count > 200 ? [] : try await stores.addresses.search(text, jurisdictionID: jurisdiction, limit: 8)
        let items = found.map {
            ["address": $0.address, "zipcode": $0.zipcode ?? "", "lat": $0.location.latitude, "long": $0.location.longitude] as [String: Any]
        }
        let data = try JSONSerialization.data(withJSONObject: items, options: [.sortedKeys])
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: 4. duplicates, and following one instead

    func duplicatesPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let service = try await service(of: draft, for: request)
        let matches = try await duplicateMatches(draft: draft, service: service)
        guard !matches.isEmpty else { return web.redirect("/report/\(draft.id)/description") }
        let blurred = try await stores.serviceSettings.settings(for: service.code, jurisdictionID: jurisdiction).visibility == .blurred
        var items: [[String: Any]] = []
        for match in matches {
            guard let found = try await stores.requests.find(id: match.id, jurisdictionID: jurisdiction, includePrivate: false) else { continue }
            let followers = try await stores.requests.followerCount(requestID: match.id, jurisdictionID: jurisdiction)
            items.append([
                "id": match.id,
                "summary": t(
                    request, "duplicates_item",
                    ["service": found.serviceName, "distance": String(Int(match.distanceMetres.rounded())), "ago": ago(match.age, request)]),
                "description": found.description ?? "", "address": blurred ? "" : try await web.place(found.location, request: request),
                "followers": followers > 0 ? t(request, "duplicates_followers", ["count": String(followers)]) : "",
            ])
        }
        return web.page(
            "requests/report-duplicates", title: t(request, "duplicates_title"), request: request, identity: try await identity(request),
            values: ["draft": draft.id, "items": items, "back": "/report/\(draft.id)/location"])
    }

    func ago(_ interval: TimeInterval, _ request: Request) -> String {
        let minutes = Int(interval / 60)
        if minutes < 1 { return t(request, "ago_now") }
        if minutes < 60 { return t(request, "ago_minutes", ["n": String(minutes)]) }
        if minutes < 48 * 60 { return t(request, "ago_hours", ["n": String(minutes / 60)]) }
        return t(request, "ago_days", ["n": String(minutes / 1440)])
    }

    func followPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let identity = try await identity(request)
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw HTTPError(.notFound) }
        return web.page(
            "requests/report-follow", title: t(request, "follow_title", ["id": String(id)]), request: request, identity: identity,
            values: [
                "draft": draft.id, "id": id, "email": identity?.user?.email ?? draft.value("email") ?? "",
                "back": "/report/\(draft.id)/duplicates",
            ])
    }

    func follow(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let identity = try await identity(request)
        let fields = try await form(request, session: identity?.session)
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw HTTPError(.notFound) }
        let email = (fields["email"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        let language = Catalog.language(of: request)
        let resident = identity?.user.flatMap { $0.kind == .resident ? $0 : nil }
        do {
            let follower = try await stores.requests.follow(
                requestID: id, jurisdictionID: jurisdiction, email: email, userID: resident?.id, language: language,
                actor: identity?.actor.auditName ?? "anonymous",
                source: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor))
            try await stores.drafts.delete(draft.id)
            return web.page(
                "app/message", title: t(request, "follow_done_title", ["id": String(follower.requestID)]), request: request, identity: identity,
                values: [
                    "paragraphs": [t(request, "follow_done_lead", ["email": follower.email])],
                    "linkURL": "/requests/\(follower.requestID)", "linkText": t(request, "request_merged_link", ["id": String(follower.requestID)]),
                ])
        } catch let error as CivitasError where error.code == "email_invalid" {
            return web.page(
                "requests/report-follow", title: t(request, "follow_title", ["id": String(id)]), request: request, identity: identity,
                values: [
                    "draft": draft.id, "id": id, "email": email, "emailError": t(request, "email_invalid"), "back": "/report/\(draft.id)/duplicates",
                ],
                status: .badRequest, errors: [FieldError(field: "email", message: t(request, "email_invalid"))])
        }
    }
}
