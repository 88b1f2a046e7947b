import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The public side of requests: the home page, a page per request by its reference number (status, public notes,
/// history, map; nobody's personal data), following a request, "My requests", the public list and map with filters,
/// and unsubscribing from a request's mail. Sensitive services are hidden or blurred as each service is configured.
struct RequestPagesController: PageController {
    let web: Web

    func addRoutes(to root: Router<CivitasRequestContext>) {
        let router = pageRoutes(root)
        router.get("/", use: home)
        router.get("find", use: find)
        router.get("requests", use: list)
        router.get("requests/map.json", use: mapData)
        router.get("requests/:id", use: show)
        router.post("requests/:id/follow", use: follow)
        router.post("requests/:id/update", use: residentUpdate)
        router.get("my/requests", use: mine)
        router.get("unsubscribe/:token", use: unsubscribePage)
        router.post("unsubscribe/:token", use: unsubscribe)
        let scripts = configuration.map.scriptsPath
        router.get("assets/leaflet/**") { request, context -> Response in
            try Self.leafletFile(context.parameters.getCatchAll().joined(separator: "/"), folder: scripts)
        }
    }

    func t(_ request: Request, _ key: String, _ values: [String: String] = [:]) -> String {
        web.catalog.text(key, Catalog.language(of: request), values)
    }

    func identity(_ request: Request) async throws -> Identity? { try await web.pageIdentity(request) }

    // MARK: home and finding a request by reference

    func home(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        web.page("app/home", title: t(request, "home_title"), request: request, identity: try await identity(request), values: [:])
    }

    func find(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let text = (request.query.get("reference") ?? "").filter(\.isNumber)
        if let id = Int64(text), id > 0, try await stores.requests.find(id: id, jurisdictionID: jurisdiction, includePrivate: false) != nil {
            return web.redirect("/requests/\(id)")
        }
        return web.page(
            "app/home", title: t(request, "home_title"), request: request, identity: try await identity(request),
            values: ["reference": request.query.get("reference") ?? "", "referenceError": t(request, "request_not_found")],
            status: .notFound, errors: [FieldError(field: "reference", message: t(request, "request_not_found"))])
    }

    // MARK: one request

    func show(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await requestPage(request, context: context)
    }

    func requestPage(
        _ request: Request, context: CivitasRequestContext, values extra: [String: Any] = [:], errors: [FieldError] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        guard let id = context.parameters.get("id").flatMap(Int64.init), id > 0,
            let found = try await stores.requests.find(id: id, jurisdictionID: jurisdiction, includePrivate: false)
        else {
            throw WebFailure(status: .notFound, title: t(request, "request_not_found"), message: t(request, "request_not_found"))
        }
        let identity = try await identity(request)
        let language = Catalog.language(of: request)
        let settings = try await stores.serviceSettings.settings(for: found.serviceCode, jurisdictionID: jurisdiction)
        let zone = configuration.jurisdiction.timeZone
        var values = extra
        values["id"] = id
        values["service"] = try await localNames(request)[found.serviceCode] ?? found.serviceName
        values["open"] = found.status == .open
        values["statusText"] = t(request, found.status == .open ? "request_status_open" : "request_status_closed")
        values["reported"] = Self.date(found.requestedAt, zone: zone, language: language)
        values["expected"] = found.status == .open ? found.expectedAt.map { Self.date($0, zone: zone, language: language) } ?? "" : ""
        values["description"] = found.description ?? ""
        values["statusNotes"] = found.statusNotes ?? ""
        values["sent"] = request.query.get("sent") == "1"
        // A sensitive service shows no exact place: no address, and a spot blurred to a 200 m cell on the map.
        switch settings.visibility {
        case .public:
            values["where"] = try await web.place(found.location, request: request)
            if let lat = found.location.latitude, let long = found.location.longitude {
                values["lat"] = String(lat)
                values["long"] = String(long)
                values["hasSpot"] = true
            }
        case .blurred:
            if let lat = found.location.latitude, let long = found.location.longitude {
                let blurred = Coordinate(latitude: lat, longitude: long).blurred(toCell: 200)
                values["lat"] = String(blurred.latitude)
                values["long"] = String(blurred.longitude)
                values["hasSpot"] = true
            }
        case .hidden:
            break
        }
        values["followers"] = try await stores.requests.followerCount(requestID: id, jurisdictionID: jurisdiction)
        if let parent = try await stores.requests.parent(of: id, jurisdictionID: jurisdiction) {
            values["merged"] = t(request, "request_merged", ["id": String(parent)])
            values["mergedLink"] = "/requests/\(parent)"
            values["mergedLinkText"] = t(request, "request_merged_link", ["id": String(parent)])
        }
        var history: [[String: Any]] = [
            ["when": Self.date(found.requestedAt, zone: zone, language: language), "what": t(request, "request_history_opened")]
        ]
        let steps = try await stores.requests.publicHistory(id: id, jurisdictionID: jurisdiction)
        for step in steps {
            history.append([
                "when": Self.date(step.at, zone: zone, language: language),
                "what": t(request, step.status == .open ? "request_status_open" : "request_status_closed"),
                "note": step.note.map { step.translations[language] ?? $0 } ?? "",
            ])
        }
        // The latest public note, in the reader's language when it was sent with a translation.
        if let latest = steps.last(where: { $0.note != nil && $0.note == found.statusNotes }), let translated = latest.translations[language] {
            values["statusNotes"] = translated
        }
        values["history"] = history
        values["photos"] = try await stores.requests.photoIDs(id: id, jurisdictionID: jurisdiction).map { ["url": "/media/\($0)"] }
        values["email"] = values["email"] ?? identity?.user?.email ?? ""
        values.merge(try await residentActions(request, found: found, identity: identity)) { given, _ in given }
        return web.page(
            "requests/request", title: t(request, "request_title", ["id": String(id), "service": values["service"] as? String ?? found.serviceName]),
            request: request,
            identity: identity, values: values, status: status, errors: errors, map: values["hasSpot"] != nil)
    }

    static func date(_ date: Date, zone: TimeZone, language: Language) -> String {
        let format = DateFormatter()
        format.locale = Locale(identifier: language == .spanish ? "es_US" : "en_US")
        format.timeZone = zone
        format.dateStyle = .long
        format.timeStyle = .short
        return format.string(from: date)
    }

    func follow(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await identity(request)
        let form = try await web.checkedForm(request, session: identity?.session)
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw HTTPError(.notFound) }
        let email = (form["email"] ?? "").trimmingCharacters(in: .whitespaces)
        let resident = identity?.user.flatMap { $0.kind == .resident ? $0 : nil }
        do {
            let follower = try await stores.requests.follow(
                requestID: id, jurisdictionID: jurisdiction, email: email, userID: resident?.id, language: Catalog.language(of: request),
                actor: identity?.actor.auditName ?? "anonymous",
                source: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor))
            return web.page(
                "app/message", title: t(request, "follow_done_title", ["id": String(follower.requestID)]), request: request, identity: identity,
                values: [
                    "paragraphs": [t(request, "follow_done_lead", ["email": follower.email])], "linkURL": "/requests/\(follower.requestID)",
                    "linkText": t(request, "request_merged_link", ["id": String(follower.requestID)]),
                ])
        } catch let error as CivitasError where error.code == "email_invalid" {
            return try await requestPage(
                request, context: context, values: ["email": email, "emailError": t(request, "email_invalid")],
                errors: [FieldError(field: "email", message: t(request, "email_invalid"))], status: .badRequest)
        } catch let error as CivitasError where error.code == "request_not_found" {
            throw WebFailure(status: .notFound, title: t(request, "request_not_found"), message: t(request, "request_not_found"))
        }
    }

    // MARK: my requests

    func mine(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await identity(request), let user = identity.user else { return web.signInFirst(request) }
        let found = try await stores.requests.followedBy(userID: user.id, email: user.email, jurisdictionID: jurisdiction)
        let language = Catalog.language(of: request)
        // The visit time agreed for what they reported themselves (not for what they only follow).
        let zone = configuration.jurisdiction.timeZone
        let visits = try await stores.requests.appointments(
            ids: found.filter { $0.residentID == user.id && $0.status == .open }.map(\.id), jurisdictionID: jurisdiction)
        let names = try await localNames(request)
        let places = try await web.places(found, request: request)
        let items = found.map { item -> [String: Any] in
            [
                "id": item.id, "service": names[item.serviceCode] ?? item.serviceName,
                "status": t(request, item.status == .open ? "request_status_open" : "request_status_closed"),
                "address": places[item.id] ?? "", "when": Self.date(item.requestedAt, zone: zone, language: language),
                "relation": t(request, item.residentID == user.id ? "my_reported" : "my_following"),
                "visit": visits[item.id].map { t(request, "my_visit", ["when": Appointment.describe($0, zone: zone, language: language)]) } ?? "",
            ]
        }
        return web.page(
            "requests/my-requests", title: t(request, "my_title"), request: request, identity: identity,
            values: ["items": items, "none": items.isEmpty])
    }

    // MARK: the public list and map

    struct Filters {
        var query: ServiceRequestQuery
        var values: [String: Any]
        var blurred: Set<String>
    }

    func filters(_ request: Request) async throws -> Filters {
        let parameters = request.query
        var query = ServiceRequestQuery(jurisdictionID: jurisdiction)
        query.includePrivate = false
        let services = try await stores.services.all(jurisdictionID: jurisdiction)
        let settings = try await stores.serviceSettings.all(jurisdictionID: jurisdiction)
        let visible = services.filter { settings[$0.code]?.visibility != .hidden }
        let chosen = parameters.get("service").flatMap { code in visible.first { $0.code == code } }
        // Hidden services never appear, even when asked for by name.
        query.serviceCodes = chosen.map { [$0.code] } ?? visible.map(\.code)
        if query.serviceCodes.isEmpty { query.serviceCodes = ["-"] }
        let status = parameters.get("status").flatMap(RequestStatus.init(rawValue:))
        if let status { query.statuses = [status] }
        let days = parameters.get("days").flatMap(Int.init).flatMap { [7, 30, 90, 365].contains($0) ? $0 : nil }
        if let days { query.requestedFrom = Date().addingTimeInterval(-TimeInterval(days) * 86_400) }
        if let bbox = parameters.get("bbox"), let area = try? BoundingBox.parse(bbox) { query.area = area }
        let values: [String: Any] = [
            "services": visible.map { $0.localized(Catalog.language(of: request)) }.sorted { $0.name < $1.name }.map {
                ["code": $0.code, "name": $0.name, "selected": $0.code == chosen?.code]
            },
            "statusOpen": status == .open, "statusClosed": status == .closed,
            "days": [7, 30, 90, 365].map { ["value": $0, "label": t(request, "requests_days", ["days": String($0)]), "selected": $0 == days] },
            "bbox": parameters.get("bbox") ?? "",
        ]
        return Filters(query: query, values: values, blurred: Set(settings.filter { $0.value.visibility == .blurred }.map(\.key)))
    }

    func list(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        var filters = try await filters(request)
        let page = 50
        filters.query.limit = page + 1
        if let cursor = request.query.get("cursor"), let after = try? RequestCursor.parse(cursor) { filters.query.after = after }
        let found = try await stores.requests.search(filters.query)
        let language = Catalog.language(of: request)
        var values = filters.values
        let names = try await localNames(request)
        let places = try await web.places(found.prefix(page).filter { !filters.blurred.contains($0.serviceCode) }, request: request)
        values["items"] = found.prefix(page).map { item -> [String: Any] in
            [
                "id": item.id, "service": names[item.serviceCode] ?? item.serviceName, "open": item.status == .open,
                "status": t(request, item.status == .open ? "request_status_open" : "request_status_closed"),
                "address": places[item.id] ?? "",
                "when": Self.date(item.requestedAt, zone: configuration.jurisdiction.timeZone, language: language),
            ]
        }
        values["none"] = found.isEmpty
        if found.count > page, let last = found.prefix(page).last {
            var components = URLComponents()
            components.queryItems =
                request.query.filter { $0.key != "cursor" }.map { URLQueryItem(name: String($0.key), value: String($0.value)) }
                + [URLQueryItem(name: "cursor", value: RequestCursor(after: last).token)]
            values["more"] = "/requests?" + (components.percentEncodedQuery ?? "")
        }
        var mapQuery = URLComponents()
        mapQuery.queryItems = request.query.filter { $0.key != "cursor" }.map {
            URLQueryItem(name: String($0.key), value: String($0.value))
        }
        values["mapData"] = "/requests/map.json?" + (mapQuery.percentEncodedQuery ?? "")
        return web.page(
            "requests/requests", title: t(request, "requests_title"), request: request, identity: try await identity(request), values: values,
            map: true)
    }

    /// The listed requests as GeoJSON points for the map (up to 2,000), sensitive ones blurred, no personal data.
    func mapData(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        var filters = try await filters(request)
        filters.query.limit = 2000
        let found = try await stores.requests.search(filters.query)
        let names = try await localNames(request)
        let features: [[String: Any]] = found.compactMap { item in
            guard var lat = item.location.latitude, var long = item.location.longitude else { return nil }
            if filters.blurred.contains(item.serviceCode) {
                let blurred = Coordinate(latitude: lat, longitude: long).blurred(toCell: 200)
                (lat, long) = (blurred.latitude, blurred.longitude)
            }
            return [
                "type": "Feature", "geometry": ["type": "Point", "coordinates": [long, lat]],
                "properties": [
                    "id": item.id, "service": names[item.serviceCode] ?? item.serviceName, "status": item.status.rawValue,
                    "url": "/requests/\(item.id)",
                ],
            ]
        }
        return try geoJSON(features)
    }

    // MARK: unsubscribe

    func unsubscribePage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        // A GET only asks: mail scanners open links, and must not unsubscribe anyone.
        let token = context.parameters.get("token") ?? ""
        guard let target = try await stores.requests.unsubscribeTarget(token: token) else { return unknownUnsubscribe(request) }
        let id = String(target.requestID)
        let found = try await stores.requests.find(id: target.requestID, jurisdictionID: jurisdiction, includePrivate: false)
        let localNames = try await localNames(request)
        let what = [found.map { localNames[$0.serviceCode] ?? $0.serviceName }, found?.location.address].compactMap { $0 }.joined(separator: ", ")
        return web.page(
            "requests/unsubscribe", title: t(request, "unsubscribe_title", ["id": id]), request: request, identity: try await identity(request),
            values: [
                "token": token, "id": id,
                "lead": t(request, what.isEmpty ? "unsubscribe_lead_plain" : "unsubscribe_lead", ["id": id, "what": what]),
                "to": t(request, "unsubscribe_to", ["email": Self.masked(target.email)]),
                "stopped": target.stopped ? t(request, "unsubscribe_done", ["id": id]) : "",
            ])
    }

    /// Service names in the reader's language, by code.
    func localNames(_ request: Request) async throws -> [String: String] {
        let language = Catalog.language(of: request)
        return Dictionary(try await stores.services.all(jurisdictionID: jurisdiction).map { ($0.code, $0.name(in: language)) }) { first, _ in first }
    }

    func unknownUnsubscribe(_ request: Request) -> Response {
        web.page(
            "app/message", title: t(request, "unsubscribe_unknown_title"), request: request, identity: nil,
            values: ["paragraphs": [t(request, "unsubscribe_unknown")], "linkURL": "/my/requests", "linkText": t(request, "nav_my")],
            status: .notFound)
    }

    /// An address shown to whoever holds the link, enough to recognise it: "a•••@example.org".
    static func masked(_ email: String) -> String {
        guard let at = email.firstIndex(of: "@"), at > email.startIndex else { return "•••" }
        return String(email[email.startIndex]) + "•••" + String(email[at...])
    }

    func unsubscribe(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        // One-click unsubscribe (RFC 8058) posts "List-Unsubscribe=One-Click" without our form token; the token in the
        // address is the proof, so no CSRF token is needed here, and the only effect is to stop mail.
        guard let id = try await stores.requests.unsubscribe(token: token) else { return unknownUnsubscribe(request) }
        return web.page(
            "app/message", title: t(request, "unsubscribe_done_title"), request: request, identity: nil,
            values: [
                "paragraphs": [t(request, "unsubscribe_done", ["id": String(id)])], "linkURL": "/requests/\(id)",
                "linkText": t(request, "request_merged_link", ["id": String(id)]),
            ])
    }

    // MARK: Leaflet from the machine's own copy

    static let leafletFiles: [String: String] = [
        "leaflet.js": "text/javascript; charset=utf-8", "leaflet.css": "text/css; charset=utf-8",
        "leaflet.markercluster.js": "text/javascript; charset=utf-8", "MarkerCluster.css": "text/css; charset=utf-8",
        "MarkerCluster.Default.css": "text/css; charset=utf-8", "images/marker-icon.png": "image/png",
        "images/marker-icon-2x.png": "image/png", "images/marker-shadow.png": "image/png", "images/layers.png": "image/png",
        "images/layers-2x.png": "image/png",
    ]

    static func leafletFile(_ path: String, folder: String) throws -> Response {
        guard let type = leafletFiles[path], let data = FileManager.default.contents(atPath: folder + "/" + path) else {
            throw HTTPError(.notFound)
        }
        return Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=86400"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
