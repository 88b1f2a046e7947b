import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The staff console: a department's queue as a list and a map, sorted by urgency with SLA badges, filters and saved
/// views; a request's page with its whole timeline, who viewed it, likely duplicates explained in words, and the
/// actions (status with response templates, assignee, priority, public or internal note, merge); bulk actions on a
/// selection; response templates per service. Every action goes through the same store calls as the API, so it is
/// checked and audited the same way.
struct StaffController: Sendable {
    let web: Web
    var stores: Stores { web.stores }
    var configuration: AppConfiguration { web.configuration }
    var jurisdiction: String { configuration.jurisdiction.id }

    func addRoutes(to root: Router<CivitasRequestContext>) {
        let router = root.group().add(middleware: WebFailureMiddleware(controller: web))
        router.get("staff", use: queue)
        router.get("staff/map.json", use: mapData)
        router.get("staff/requests/:id", use: requestPage)
        router.post("staff/requests/:id", use: act)
        router.post("staff/requests/:id/merge", use: merge)
        router.post("staff/requests/:id/appointment", use: appointment)
        router.post("staff/bulk", use: bulk)
        router.post("staff/views", use: saveView)
        router.post("staff/views/:id/delete", use: deleteView)
        router.get("staff/templates", use: templatesPage)
        router.post("staff/templates", use: createTemplate)
        router.post("staff/templates/:id/delete", use: deleteTemplate)
    }

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
            return .failure(StaffRefusal(response: web.redirect("/signin")))
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

    // MARK: the queue

    struct QueueFilters {
        var query: ServiceRequestQuery
        var sla: SLAState?
        var values: [String: Any]
        var string: String
        /// Staff sharing a department with the viewer (for the assignee filter and names).
        var colleagues: [User]
    }

    static let filterNames = ["service", "status", "sla", "days", "bbox", "assignee", "q"]

    func filters(_ parameters: [String: String], staff: Staff, request: Request) async throws -> QueueFilters {
        var query = ServiceRequestQuery(jurisdictionID: jurisdiction)
        query.departments = staff.user.departments
        query.includePrivate = false
        query.limit = 5000
        let services = try await stores.services.all(jurisdictionID: jurisdiction).filter { staff.user.departments.contains($0.department) }
        if let code = parameters["service"], services.contains(where: { $0.code == code }) { query.serviceCodes = [code] }
        let status = parameters["status"].map { $0 == "all" ? nil : RequestStatus(rawValue: $0) } ?? .open
        if let status { query.statuses = [status] }
        let sla = parameters["sla"].flatMap(SLAState.init(rawValue:))
        let days = parameters["days"].flatMap(Int.init).flatMap { [1, 7, 30, 90].contains($0) ? $0 : nil }
        if let days { query.requestedFrom = Date().addingTimeInterval(-TimeInterval(days) * 86_400) }
        if let bbox = parameters["bbox"], let area = try? BoundingBox.parse(bbox) { query.area = area }
        switch parameters["assignee"] {
        case "me"?: query.assigneeID = .some(staff.user.id)
        case "none"?: query.assigneeID = .some(nil)
        case let value?: if let id = Int64(value) { query.assigneeID = .some(id) }
        case nil: break
        }
        if let text = parameters["q"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty, text.count <= 200 { query.text = text }
        let colleagues = try await colleagues(of: staff)
        let values: [String: Any] = [
            "services": services.sorted { $0.name < $1.name }.map { ["code": $0.code, "name": $0.name, "selected": $0.code == query.serviceCodes.first] },
            "statuses": [("open", t(request, "request_status_open")), ("closed", t(request, "request_status_closed")), ("all", t(request, "staff_any"))]
                .map { ["value": $0.0, "label": $0.1, "selected": (parameters["status"] ?? "open") == $0.0] },
            "slas": [SLAState.breached, .threeQuarters, .half, .onTrack].map {
                ["value": $0.rawValue, "label": t(request, "staff_sla_" + $0.rawValue), "selected": $0 == sla]
            },
            "dayChoices": [1, 7, 30, 90].map { ["value": $0, "label": t(request, "staff_days", ["n": String($0)]), "selected": $0 == days] },
            "assignees": [["value": "me", "label": t(request, "staff_assignee_me"), "selected": parameters["assignee"] == "me"],
                ["value": "none", "label": t(request, "staff_assignee_none"), "selected": parameters["assignee"] == "none"]]
                + colleagues.map { ["value": String($0.id), "label": $0.email, "selected": parameters["assignee"] == String($0.id)] },
            "bbox": parameters["bbox"] ?? "", "q": parameters["q"] ?? "",
        ]
        var components = URLComponents()
        components.queryItems = Self.filterNames.compactMap { name in parameters[name].flatMap { $0.isEmpty ? nil : URLQueryItem(name: name, value: $0) } }
        return QueueFilters(query: query, sla: sla, values: values, string: components.percentEncodedQuery ?? "", colleagues: colleagues)
    }

    /// Active staff who share a department with `staff` (those a request can be assigned to).
    func colleagues(of staff: Staff) async throws -> [User] {
        try await stores.users.list(jurisdictionID: jurisdiction, kind: .staff).filter { user in
            guard !user.disabled else { return false }
            switch (staff.user.departments, user.departments) {
            case (.all, _), (_, .all): return true
            case (.only(let mine), .only(let theirs)): return !mine.isDisjoint(with: theirs)
            }
        }.sorted { $0.email < $1.email }
    }

    /// The queue, most urgent first: breached, then least time left, then oldest; filtered by SLA state if asked.
    func sortedQueue(_ filters: QueueFilters, now: Date = Date()) async throws -> [(request: ServiceRequest, clock: SLAClock)] {
        let found = try await stores.requests.search(filters.query)
        return found.map { ($0, SLAClock(requestedAt: $0.requestedAt, expectedAt: $0.expectedAt, status: $0.status, now: now)) }
            .filter { filters.sla == nil || $0.1.state == filters.sla }
            .sorted { SLAClock.urgencyOrder(($0.1, $0.0.requestedAt, $0.0.id), ($1.1, $1.0.requestedAt, $1.0.id)) }
    }

    func queue(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            var parameters: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { parameters[String(key)] = String(value) }
            let views = try await stores.savedViews.list(userID: staff.user.id, jurisdictionID: jurisdiction)
            if let viewID = parameters["view"].flatMap(Int64.init), let view = views.first(where: { $0.id == viewID }) {
                for (name, value) in FormBody.urlEncoded(view.query) where Self.filterNames.contains(name) { parameters[name] = value }
            }
            let filters = try await filters(parameters, staff: staff, request: request)
            let sorted = try await sortedQueue(filters)
            let names = Dictionary(filters.colleagues.map { ($0.id, $0.email) }, uniquingKeysWith: { first, _ in first })
            var values = filters.values
            values["items"] = sorted.prefix(500).map { item in
                [
                    "id": item.request.id, "service": item.request.serviceName, "address": item.request.location.address ?? "",
                    "age": age(Date().timeIntervalSince(item.request.requestedAt)), "priority": item.request.priority.rawValue,
                    "urgent": item.request.priority == .urgent || item.request.priority == .high,
                    "sla": item.clock.state.rawValue, "slaLabel": t(request, "staff_sla_" + item.clock.state.rawValue),
                    "hasSLA": item.clock.state != .none,
                    "assignee": item.request.assigneeID.map { names[$0] ?? "staff \($0)" } ?? "",
                    "status": t(request, item.request.status == .open ? "request_status_open" : "request_status_closed"),
                ] as [String: Any]
            }
            values["count"] = t(request, "staff_count", ["count": String(sorted.count)])
            values["truncated"] = sorted.count > 500
            values["none"] = sorted.isEmpty
            values["mapData"] = "/staff/map.json?" + filters.string
            values["filterQuery"] = filters.string
            values["views"] = views.map { ["id": $0.id, "name": $0.name] }
            values["email"] = staff.user.email
            values["role"] = staff.user.role?.rawValue ?? ""
            values["departments"] = web.departmentText(staff.user.departments)
            values["canManageTemplates"] = Permissions.decide(staff.identity.actor, .manageTemplates, on: .jurisdiction(jurisdiction)).allowed
            values["templates"] = try await stores.templates.list(serviceCode: nil, jurisdictionID: jurisdiction).map {
                ["id": $0.id, "title": $0.title]
            }
            values["notice"] = request.uri.queryParameters.get("done").map { _ in t(request, "staff_done") } ?? ""
            return web.page(
                "requests/staff-queue", title: t(request, "staff_queue_title"), request: request, identity: staff.identity, values: values, map: true)
        }
    }

    func age(_ interval: TimeInterval) -> String {
        let hours = Int(interval / 3600)
        if hours < 1 { return "\(max(0, Int(interval / 60))) min" }
        if hours < 48 { return "\(hours) h" }
        return "\(hours / 24) days"
    }

    /// The queue on the map: points coloured by SLA state, merged duplicates already folded into their parent.
    func mapData(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            var parameters: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { parameters[String(key)] = String(value) }
            let filters = try await filters(parameters, staff: staff, request: request)
            let sorted = try await sortedQueue(filters)
            let merged = try await stores.requests.childCounts(jurisdictionID: jurisdiction)
            let features: [[String: Any]] = sorted.prefix(5000).compactMap { item in
                guard let lat = item.request.location.latitude, let long = item.request.location.longitude else { return nil }
                return [
                    "type": "Feature", "geometry": ["type": "Point", "coordinates": [long, lat]],
                    "properties": [
                        "id": item.request.id, "service": item.request.serviceName, "status": item.request.status.rawValue,
                        "sla": item.clock.state.rawValue, "url": "/staff/requests/\(item.request.id)",
                        "duplicates": merged[item.request.id] ?? 0,
                    ],
                ]
            }
            return try geoJSON(features)
        }
    }

    // MARK: one request

    func requestPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            try await requestView(request, staff: staff, context: context)
        }
    }

    func readable(_ context: CivitasRequestContext, staff: Staff) async throws -> ServiceRequest {
        guard let id = context.parameters.get("id").flatMap(Int64.init),
            let found = try await stores.requests.find(id: id, jurisdictionID: jurisdiction),
            Permissions.decide(staff.identity.actor, .readRequests, on: Self.target(found)).allowed
        else { throw WebFailure(status: .notFound, title: "Not found", message: "There is no request with that number in your departments.") }
        return found
    }

    static func target(_ request: ServiceRequest) -> PermissionTarget {
        .record(jurisdictionID: request.jurisdictionID, department: request.agencyResponsible, residentID: request.residentID)
    }

    func requestView(
        _ request: Request, staff: Staff, context: CivitasRequestContext, errors: [FieldError] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let found = try await readable(context, staff: staff)
        let target = Self.target(found)
        let actor = staff.identity.actor
        func may(_ permission: Permission) -> Bool { Permissions.decide(actor, permission, on: target).allowed }
        var values: [String: Any] = [
            "id": found.id, "service": found.serviceName, "open": found.status == .open,
            "status": t(request, found.status == .open ? "request_status_open" : "request_status_closed"),
            "statusNotes": found.statusNotes ?? "", "description": found.description ?? "", "address": found.location.address ?? "",
            "priority": found.priority.rawValue, "department": found.agencyResponsible ?? "",
        ]
        let zone = configuration.jurisdiction.timeZone
        let clock = SLAClock(requestedAt: found.requestedAt, expectedAt: found.expectedAt, status: found.status, now: Date())
        values["sla"] = clock.state.rawValue
        values["slaLabel"] = t(request, "staff_sla_" + clock.state.rawValue)
        values["hasSLA"] = clock.state != .none
        values["reported"] = RequestPagesController.date(found.requestedAt, zone: zone, language: .english)
        values["expected"] = found.expectedAt.map { RequestPagesController.date($0, zone: zone, language: .english) } ?? ""
        if let lat = found.location.latitude, let long = found.location.longitude {
            values["lat"] = String(lat)
            values["long"] = String(long)
            values["hasSpot"] = true
        }
        // Personal data: shown only to those allowed, and every showing is in the audit chain.
        if may(.readPersonalData) {
            try await stores.requests.recordPersonalRead(found, by: staff.origin, purpose: "staff console")
            values["personal"] = true
            values["reporterName"] = [found.reporter.firstName, found.reporter.lastName].compactMap { $0 }.joined(separator: " ")
            values["reporterEmail"] = found.reporter.email ?? ""
            values["reporterPhone"] = found.reporter.phone ?? ""
            let service = try await stores.services.find(code: found.serviceCode, jurisdictionID: jurisdiction)
            values["answers"] = found.attributes.sorted { $0.key < $1.key }.map { code, given -> [String: Any] in
                let attribute = service?.attributes.first { $0.code == code }
                let shown = given.map { key in attribute?.values.first { $0.key == key }?.name ?? key }
                return ["code": attribute?.description ?? code, "value": shown.joined(separator: ", ")]
            }
        }
        let colleagues = try await colleagues(of: staff)
        let names = Dictionary(colleagues.map { ($0.id, $0.email) }, uniquingKeysWith: { first, _ in first })
        values["assignee"] = found.assigneeID.map { names[$0] ?? "staff \($0)" } ?? ""
        let notes = try await stores.requests.notes(id: found.id, jurisdictionID: jurisdiction, includeInternal: may(.readInternalNotes))
        var timeline: [[String: Any]] = [["when": RequestPagesController.date(found.requestedAt, zone: zone, language: .english), "what": t(request, "request_history_opened")]]
        for note in notes {
            timeline.append([
                "when": RequestPagesController.date(note.createdAt, zone: zone, language: .english), "what": note.status.rawValue,
                "note": note.body, "internal": note.visibility == .internal, "author": note.author,
            ])
        }
        values["timeline"] = timeline
        values["followers"] = try await stores.requests.followerCount(requestID: found.id, jurisdictionID: jurisdiction)
        values["viewedBy"] = try await stores.requests.views(of: found.id, jurisdictionID: jurisdiction, limit: 20).map {
            ["who": $0.actor, "purpose": $0.purpose ?? "", "when": RequestPagesController.date($0.at, zone: zone, language: .english)]
        }
        if let parent = try await stores.requests.parent(of: found.id, jurisdictionID: jurisdiction) {
            values["parent"] = parent
        }
        values["children"] = try await stores.requests.children(of: found.id, jurisdictionID: jurisdiction).map { ["id": $0] }
        // Likely duplicates after submit: open requests of the same service nearby, explained in words.
        if found.status == .open, let lat = found.location.latitude, let long = found.location.longitude, values["parent"] == nil {
            let settings = try await stores.serviceSettings.settings(for: found.serviceCode, jurisdictionID: jurisdiction)
            let probe = DuplicateProbe(
                serviceCode: found.serviceCode, location: Coordinate(latitude: lat, longitude: long), at: found.requestedAt,
                description: found.description)
            let matches = try await stores.requests.duplicates(of: probe, policy: settings.duplicates, jurisdictionID: jurisdiction, excluding: found.id)
            values["duplicates"] = matches.prefix(10).map { ["id": $0.id, "why": $0.explanation, "score": String(format: "%.2f", $0.score)] }
            values["hasDuplicates"] = !matches.isEmpty
        }
        values["canStatus"] = may(.changeStatus)
        values["canAssign"] = may(.assignRequest)
        values["canPriority"] = may(.setPriority)
        values["canNote"] = may(.addNote)
        values["canMerge"] = may(.mergeRequests)
        values["canAct"] = may(.changeStatus) || may(.assignRequest) || may(.setPriority) || may(.addNote)
        values["colleagues"] = colleagues
            .filter { $0.departments.contains(found.agencyResponsible) }
            .map { ["id": $0.id, "email": $0.email, "selected": $0.id == found.assigneeID] }
        values["priorities"] = RequestPriority.allCases.map { ["value": $0.rawValue, "selected": $0 == found.priority] }
        values["templates"] = try await stores.templates.list(serviceCode: found.serviceCode, jurisdictionID: jurisdiction).map {
            ["id": $0.id, "title": $0.title, "body": $0.body, "status": $0.status?.rawValue ?? ""]
        }
        values["notice"] = request.uri.queryParameters.get("done").map { _ in t(request, "staff_done") } ?? ""
        values["canAppoint"] = found.status == .open && may(.assignRequest)
        if let window = try await stores.requests.appointments(ids: [found.id], jurisdictionID: jurisdiction)[found.id] {
            values["appointment"] = Appointment.describe(window, zone: zone)
            values["appointmentDay"] = DayPlanner(zone: zone).day(of: window.start)
            let clock = DateFormatter()
            clock.timeZone = zone
            clock.dateFormat = "HH:mm"
            values["appointmentFrom"] = clock.string(from: window.start)
            values["appointmentTo"] = clock.string(from: window.end)
        }
        return web.page(
            "requests/staff-request", title: t(request, "staff_request_title", ["id": String(found.id), "service": found.serviceName]), request: request,
            identity: staff.identity, values: values, status: status, errors: errors, map: values["hasSpot"] != nil)
    }

    func act(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let form = try await web.readForm(request)
            try web.checkCSRF(form, request: request, session: staff.identity.session)
            let found = try await readable(context, staff: staff)
            var change = RequestChange()
            var refused: [String] = []
            let target = Self.target(found)
            func may(_ permission: Permission) -> Bool { Permissions.decide(staff.identity.actor, permission, on: target).allowed }
            if let text = form["status"], !text.isEmpty, let status = RequestStatus(rawValue: text), status != found.status {
                if may(.changeStatus) { change.status = status } else { refused.append("status") }
            }
            if let text = form["assignee"], text != (found.assigneeID.map(String.init) ?? "") {
                if may(.assignRequest) { change.assigneeID = .some(Int64(text)) } else { refused.append("assignee") }
            }
            if let text = form["priority"], let priority = RequestPriority(rawValue: text), priority != found.priority {
                if may(.setPriority) { change.priority = priority } else { refused.append("priority") }
            }
            var note = (form["note"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if note.isEmpty, let templateID = form["template"].flatMap(Int64.init),
                let template = try await stores.templates.list(serviceCode: found.serviceCode, jurisdictionID: jurisdiction).first(where: { $0.id == templateID })
            {
                note = template.body
                if change.status == nil, let status = template.status, status != found.status, may(.changeStatus) { change.status = status }
            }
            if !note.isEmpty {
                if may(.addNote) {
                    change.note = note
                    change.noteVisibility = form["visibility"] == "internal" ? .internal : .public
                } else {
                    refused.append("note")
                }
            }
            guard refused.isEmpty else {
                return try await requestView(
                    request, staff: staff, context: context,
                    errors: [FieldError(field: "actions", message: t(request, "staff_refused", ["what": refused.joined(separator: ", ")]))],
                    status: .forbidden)
            }
            guard !change.isEmpty else {
                return try await requestView(
                    request, staff: staff, context: context, errors: [FieldError(field: "actions", message: t(request, "staff_nothing"))],
                    status: .badRequest)
            }
            do {
                _ = try await stores.requests.update(id: found.id, jurisdictionID: jurisdiction, change: change, by: staff.origin)
            } catch let error as CivitasError {
                return try await requestView(
                    request, staff: staff, context: context, errors: [FieldError(field: "actions", message: error.message)], status: .badRequest)
            }
            return web.redirect("/staff/requests/\(found.id)?done=1")
        }
    }

    /// Sets or clears the time agreed with the resident for the crew's visit: a day and a window within it.
    func appointment(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let form = try await web.readForm(request)
            try web.checkCSRF(form, request: request, session: staff.identity.session)
            let found = try await readable(context, staff: staff)
            guard Permissions.decide(staff.identity.actor, .assignRequest, on: Self.target(found)).allowed else {
                return try await requestView(
                    request, staff: staff, context: context,
                    errors: [FieldError(field: "appointment-day", message: t(request, "staff_refused", ["what": "appointment"]))], status: .forbidden)
            }
            let zone = configuration.jurisdiction.timeZone
            var window: DateInterval?
            if form["clear"] == nil {
                let planner = DayPlanner(zone: zone)
                func minutes(_ text: String?) -> Int? {
                    let parts = (text ?? "").split(separator: ":").compactMap { Int($0) }
                    guard parts.count == 2, (0...23).contains(parts[0]), (0...59).contains(parts[1]) else { return nil }
                    return parts[0] * 60 + parts[1]
                }
                guard let midnight = try? planner.midnight(of: form["day"] ?? ""), let from = minutes(form["from"]), let to = minutes(form["to"]), to > from
                else {
                    return try await requestView(
                        request, staff: staff, context: context,
                        errors: [FieldError(field: "appointment-day", message: t(request, "staff_appointment_invalid"))], status: .badRequest)
                }
                var calendar = Calendar(identifier: .gregorian)
                calendar.timeZone = zone
                // Clock times on that day, daylight-saving changes included.
                let start = calendar.date(byAdding: .minute, value: from, to: midnight)!
                let end = calendar.date(byAdding: .minute, value: to, to: midnight)!
                window = DateInterval(start: start, end: end)
            }
            do {
                try await stores.requests.setAppointment(id: found.id, window, jurisdictionID: jurisdiction, by: staff.origin, zone: zone)
            } catch let error as CivitasError {
                return try await requestView(
                    request, staff: staff, context: context, errors: [FieldError(field: "appointment-day", message: error.message)],
                    status: error.kind == .conflict ? .conflict : .badRequest)
            }
            return web.redirect("/staff/requests/\(found.id)?done=1")
        }
    }

    func merge(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let pairs = try await web.readFormPairs(request)
            let form = Web.firstValues(pairs)
            try web.checkCSRF(form, request: request, session: staff.identity.session)
            let found = try await readable(context, staff: staff)
            guard Permissions.decide(staff.identity.actor, .mergeRequests, on: Self.target(found)).allowed else {
                return try await requestView(
                    request, staff: staff, context: context,
                    errors: [FieldError(field: "merge", message: t(request, "staff_refused", ["what": "merge"]))], status: .forbidden)
            }
            // Either "these duplicates into this request", or "this request into that parent".
            let parent: Int64
            let children: [Int64]
            if let text = form["parent"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
                guard let chosen = Int64(text.filter(\.isNumber)) else {
                    return try await requestView(
                        request, staff: staff, context: context, errors: [FieldError(field: "parent", message: t(request, "staff_merge_parent"))],
                        status: .badRequest)
                }
                (parent, children) = (chosen, [found.id])
            } else {
                (parent, children) = (found.id, pairs.filter { $0.0 == "duplicates" }.compactMap { Int64($0.1) })
            }
            do {
                try await stores.requests.merge(
                    children, into: parent, jurisdictionID: jurisdiction, departments: staff.user.departments, by: staff.origin)
            } catch let error as CivitasError {
                return try await requestView(
                    request, staff: staff, context: context, errors: [FieldError(field: "merge", message: error.message)], status: .badRequest)
            }
            return web.redirect("/staff/requests/\(parent)?done=1")
        }
    }

    /// One action on every selected request, each through the same checks as on its own page; all or nothing.
    func bulk(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let pairs = try await web.readFormPairs(request, upTo: 256 * 1024)
            let form = Web.firstValues(pairs)
            try web.checkCSRF(form, request: request, session: staff.identity.session)
            let ids = Array(Set(pairs.filter { $0.0 == "ids" }.compactMap { Int64($0.1) })).sorted()
            let back = "/staff?" + (form["filters"] ?? "")
            guard !ids.isEmpty, ids.count <= 500 else {
                throw WebFailure(status: .badRequest, title: t(request, "staff_bulk_title"), message: t(request, "staff_bulk_none"))
            }
            var change = RequestChange()
            var permission: Permission
            switch form["action"] ?? "" {
            case "assign_me":
                change.assigneeID = .some(staff.user.id)
                permission = .assignRequest
            case "unassign":
                change.assigneeID = .some(nil)
                permission = .assignRequest
            case "priority_high":
                change.priority = .high
                permission = .setPriority
            case "close":
                change.status = .closed
                permission = .changeStatus
                if let templateID = form["template"].flatMap(Int64.init),
                    let template = try await stores.templates.list(serviceCode: nil, jurisdictionID: jurisdiction).first(where: { $0.id == templateID })
                {
                    change.note = template.body
                }
            default:
                throw WebFailure(status: .badRequest, title: t(request, "staff_bulk_title"), message: t(request, "staff_bulk_action"))
            }
            var requests: [ServiceRequest] = []
            for id in ids {
                guard let found = try await stores.requests.find(id: id, jurisdictionID: jurisdiction, includePrivate: false),
                    Permissions.decide(staff.identity.actor, permission, on: Self.target(found)).allowed
                else {
                    throw WebFailure(status: .forbidden, title: t(request, "staff_bulk_title"), message: t(request, "staff_bulk_refused", ["id": String(id)]))
                }
                requests.append(found)
            }
            try await stores.requests.updateAll(requests.map(\.id), jurisdictionID: jurisdiction, change: change, by: staff.origin)
            return web.redirect(back + (back.hasSuffix("?") ? "" : "&") + "done=1")
        }
    }

    // MARK: saved views

    func saveView(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let form = try await web.readForm(request)
            try web.checkCSRF(form, request: request, session: staff.identity.session)
            do {
                let id = try await stores.savedViews.save(
                    name: form["name"] ?? "", query: form["filters"] ?? "", userID: staff.user.id, jurisdictionID: jurisdiction)
                return web.redirect("/staff?view=\(id)")
            } catch let error as CivitasError {
                throw WebFailure(status: .badRequest, title: t(request, "staff_views"), message: error.message)
            }
        }
    }

    func deleteView(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let form = try await web.readForm(request)
            try web.checkCSRF(form, request: request, session: staff.identity.session)
            guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw HTTPError(.notFound) }
            try await stores.savedViews.delete(id: id, userID: staff.user.id, jurisdictionID: jurisdiction)
            return web.redirect("/staff")
        }
    }

    // MARK: response templates

    func templatesPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            try await templatesView(request, staff: staff)
        }
    }

    func templatesView(
        _ request: Request, staff: Staff, values extra: [String: Any] = [:], errors: [FieldError] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let services = try await stores.services.all(jurisdictionID: jurisdiction)
        let names = Dictionary(services.map { ($0.code, $0.name) }, uniquingKeysWith: { first, _ in first })
        var values = extra
        values["canManage"] = Permissions.decide(staff.identity.actor, .manageTemplates, on: .jurisdiction(jurisdiction)).allowed
        values["templates"] = try await stores.templates.list(serviceCode: nil, jurisdictionID: jurisdiction).map {
            [
                "id": $0.id, "title": $0.title, "body": $0.body, "service": $0.serviceCode.map { names[$0] ?? $0 } ?? t(request, "staff_all_services"),
                "status": $0.status?.rawValue ?? "",
            ]
        }
        values["services"] = services.sorted { $0.name < $1.name }.map { ["code": $0.code, "name": $0.name] }
        return web.page(
            "requests/staff-templates", title: t(request, "staff_templates_title"), request: request, identity: staff.identity, values: values,
            status: status, errors: errors)
    }

    func createTemplate(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let form = try await web.readForm(request)
            try web.checkCSRF(form, request: request, session: staff.identity.session)
            guard Permissions.decide(staff.identity.actor, .manageTemplates, on: .jurisdiction(jurisdiction)).allowed else {
                return try await templatesView(
                    request, staff: staff, errors: [FieldError(field: "title", message: t(request, "staff_refused", ["what": "templates"]))],
                    status: .forbidden)
            }
            let service = form["service"].flatMap { $0.isEmpty ? nil : $0 }
            do {
                try await stores.templates.create(
                    serviceCode: service, title: form["title"] ?? "", body: form["body"] ?? "",
                    status: form["status"].flatMap(RequestStatus.init(rawValue:)), jurisdictionID: jurisdiction, actor: staff.origin.actor)
            } catch let error as CivitasError {
                return try await templatesView(
                    request, staff: staff, values: ["title": form["title"] ?? "", "body": form["body"] ?? ""],
                    errors: [FieldError(field: error.field ?? "title", message: error.message)], status: .badRequest)
            }
            return web.redirect("/staff/templates")
        }
    }

    func deleteTemplate(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let form = try await web.readForm(request)
            try web.checkCSRF(form, request: request, session: staff.identity.session)
            guard Permissions.decide(staff.identity.actor, .manageTemplates, on: .jurisdiction(jurisdiction)).allowed else {
                return try await templatesView(
                    request, staff: staff, errors: [FieldError(field: "title", message: t(request, "staff_refused", ["what": "templates"]))],
                    status: .forbidden)
            }
            guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw HTTPError(.notFound) }
            try await stores.templates.delete(id: id, jurisdictionID: jurisdiction, actor: staff.origin.actor)
            return web.redirect("/staff/templates")
        }
    }
}
