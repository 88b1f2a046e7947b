import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/crew`: a crew member's day on a phone or tablet: today's itinerary from the latest plan, a navigation link per
/// stop, and per stop "arrived", "resolved" (with a note for the public) or "can't do" (with the reason). Each
/// action carries an idempotency key chosen when the page was drawn, so sending it twice applies it once, and a
/// request someone else closed meanwhile is shown as a conflict.
struct CrewController: StaffPageController {
    let staff: StaffController

    func addRoutes(to root: Router<CivitasRequestContext>) {
        let router = pageRoutes(root)
        router.get("crew", use: page)
        router.post("crew/stops/:id", use: act)
        router.get("crew/stops.json", use: mapData)
        // The service worker lives at the root so its scope can cover /crew.
        router.get("crew-sw.js") { _, _ -> Response in
            guard let url = Bundle.module.url(forResource: "crew-sw", withExtension: "js", subdirectory: "Resources/static"),
                let data = FileManager.default.contents(atPath: url.path)
            else { throw HTTPError(.notFound) }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/javascript; charset=utf-8", .cacheControl: "no-cache",
                    // The worker's own policy: it may fetch from this site only.
                    .contentSecurityPolicy: "default-src 'none'; connect-src 'self'",
                ],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    func t(_ key: String, _ values: [String: String] = [:]) -> String { web.catalog.text(key, .english, values) }

    func today() -> String { DayPlanner(zone: configuration.jurisdiction.timeZone).day(of: configuration.now()) }

    func page(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            try await view(request, signedIn: signedIn, notice: request.query.get("notice"))
        }
    }

    /// A note refused on one stop's form: shown by that field, with that stop's card open at the form.
    struct NoteError {
        var stop: Int64
        var field: String
        var message: String
    }

    func view(
        _ request: Request, signedIn: StaffController.Staff, notice: String?, noteError: NoteError? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let day = request.query.get("date") ?? today()
        let planner = DayPlanner(zone: configuration.jurisdiction.timeZone)
        let midnight = (try? planner.midnight(of: day)) ?? configuration.now()
        let crews = try await stores.crews.list(department: nil, jurisdictionID: jurisdiction).filter { $0.members.contains(signedIn.user.id) }
        let format = DateFormatter()
        format.timeZone = configuration.jurisdiction.timeZone
        format.dateFormat = "HH:mm"
        var itineraries: [[String: Any]] = []
        for crew in crews {
            guard let plan = try await stores.plans.latest(department: crew.department, day: day, jurisdictionID: jurisdiction) else {
                itineraries.append(["crew": crew.name, "none": true])
                continue
            }
            let stops = plan.stops.filter { $0.crewID == crew.id }
            var query = ServiceRequestQuery(jurisdictionID: jurisdiction)
            query.ids = stops.map(\.requestID)
            query.includePrivate = false
            let requests = Dictionary(try await stores.requests.search(query).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            // One step at a time: "Arrived" first; once the arrival is recorded that day, what was done there.
            let arrived = try await stores.requests.arrivals(stops.map(\.requestID), since: midnight, jurisdictionID: jurisdiction)
            itineraries.append([
                "crew": crew.name, "none": stops.isEmpty,
                "stops": stops.enumerated().compactMap { index, stop -> [String: Any]? in
                    guard let found = requests[stop.requestID] else { return nil }
                    var item: [String: Any] = [
                        "n": index + 1, "id": found.id, "from": format.string(from: stop.starts), "to": format.string(from: stop.ends),
                        "service": found.serviceName, "address": found.location.address ?? "", "description": found.description ?? "",
                        "open": found.status == .open, "status": t(found.status == .open ? "request_status_open" : "request_status_closed"),
                        // A fresh key per action and page: the same key comes back if the form is sent again.
                        "keyArrive": UUID().uuidString, "keyResolve": UUID().uuidString, "keyCannot": UUID().uuidString,
                        "arrived": arrived.contains(found.id) || noteError?.stop == found.id,
                    ]
                    if let noteError, noteError.stop == found.id { item[noteError.field + "Error"] = noteError.message }
                    if let lat = found.location.latitude, let long = found.location.longitude {
                        item["navigate"] = "https://www.openstreetmap.org/directions?to=\(lat)%2C\(long)"
                        item["geo"] = "geo:\(lat),\(long)"
                    }
                    return item
                },
            ])
        }
        return web.page(
            "field/crew", title: t("staff_crew_title"), request: request, identity: signedIn.identity,
            values: [
                "day": day, "dayName": Self.dayName(midnight, zone: configuration.jurisdiction.timeZone), "itineraries": itineraries,
                "noCrew": crews.isEmpty, "notice": notice ?? "",
                "queued": request.query.get("queued") != nil, "mapData": "/crew/stops.json?date=\(day)",
            ], status: status, errors: noteError.map { [FieldError(field: "\($0.field)-\($0.stop)", message: $0.message)] } ?? [], script: true,
            map: !crews.isEmpty)
    }

    /// Today's stops of the crew member's crews as GeoJSON, numbered in order, for the map above the list.
    func mapData(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let day = request.query.get("date") ?? today()
            let crews = try await stores.crews.list(department: nil, jurisdictionID: jurisdiction).filter { $0.members.contains(signedIn.user.id) }
            var features: [[String: Any]] = []
            for crew in crews {
                guard let plan = try await stores.plans.latest(department: crew.department, day: day, jurisdictionID: jurisdiction) else { continue }
                let stops = plan.stops.filter { $0.crewID == crew.id }
                var query = ServiceRequestQuery(jurisdictionID: jurisdiction)
                query.ids = stops.map(\.requestID)
                query.includePrivate = false
                let requests = Dictionary(try await stores.requests.search(query).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
                for (index, stop) in stops.enumerated() {
                    guard let found = requests[stop.requestID], let lat = found.location.latitude, let long = found.location.longitude else {
                        continue
                    }
                    features.append([
                        "type": "Feature", "geometry": ["type": "Point", "coordinates": [long, lat]],
                        "properties": [
                            "id": found.id, "service": "\(index + 1). \(found.serviceName)", "status": found.status.rawValue,
                            "url": "#stop-\(found.id)",
                        ],
                    ])
                }
            }
            return try geoJSON(features)
        }
    }

    func act(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            // A plain form, or (when "Resolved" carries a photo) a multipart one.
            let (form, upload) = try await web.readFormWithFile(
                request, upTo: Photo.maximumBytes + 64 * 1024, tooLarge: web.catalog.text("photos_size", .english))
            try web.checkCSRF(form, request: request, session: signedIn.identity.session)
            guard let id = context.parameters.get("id").flatMap(Int64.init),
                let found = try await stores.requests.find(id: id, jurisdictionID: jurisdiction, includePrivate: false)
            else { throw WebFailure(status: .notFound, title: t("staff_crew_title"), message: t("staff_crew_not_found")) }
            guard let action = form["action"].flatMap(CrewAction.init(rawValue:)) else {
                throw WebFailure(status: .badRequest, title: t("staff_crew_title"), message: t("staff_crew_action_unknown"))
            }
            let crews = try await stores.crews.list(department: found.agencyResponsible, jurisdictionID: jurisdiction)
                .filter { $0.members.contains(signedIn.user.id) }
            let permission: Permission = action == .resolve ? .changeStatus : .addNote
            let target = PermissionTarget.record(jurisdictionID: jurisdiction, department: found.agencyResponsible, residentID: found.residentID)
            guard let crew = crews.first, Permissions.decide(signedIn.identity.actor, permission, on: target).allowed else {
                return try await view(request, signedIn: signedIn, notice: t("staff_crew_refused"), status: .forbidden)
            }
            var photo: MediaUpload?
            if let upload, !upload.bytes.isEmpty {
                guard upload.bytes.count <= Photo.maximumBytes else {
                    return try await view(request, signedIn: signedIn, notice: web.catalog.text("photos_size", .english), status: .contentTooLarge)
                }
                guard let (kind, bytes) = Photo.stripped(upload.bytes) else {
                    return try await view(request, signedIn: signedIn, notice: web.catalog.text("photos_type", .english), status: .badRequest)
                }
                photo = MediaUpload(contentType: kind.rawValue, bytes: bytes)
            }
            do {
                let result = try await stores.requests.crewAction(
                    action, requestID: id, key: form["key"] ?? "", note: form["note"], userID: signedIn.user.id, crewName: crew.name,
                    jurisdictionID: jurisdiction, by: signedIn.origin, photo: photo)
                var components = URLComponents()
                components.queryItems = [URLQueryItem(name: "notice", value: result.message)]
                return web.redirect("/crew?" + (components.percentEncodedQuery ?? ""))
            } catch let error as CivitasError {
                if error.field == "note", action != .arrive {
                    let field = action == .resolve ? "done" : "why"
                    return try await view(
                        request, signedIn: signedIn, notice: nil, noteError: NoteError(stop: id, field: field, message: error.message),
                        status: .badRequest)
                }
                return try await view(request, signedIn: signedIn, notice: error.message, status: error.kind == .conflict ? .conflict : .badRequest)
            }
        }
    }

    /// The day as a crew says it: "Tuesday, November 24, 2026".
    static func dayName(_ date: Date, zone: TimeZone) -> String {
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US")
        format.timeZone = zone
        format.dateStyle = .full
        format.timeStyle = .none
        return format.string(from: date)
    }
}
