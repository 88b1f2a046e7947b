import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The staff console for service requests: the queue with its filters, saved views and map data.
extension StaffController {
    func addRequestRoutes(to root: Router<CivitasRequestContext>) {
        let router = pageRoutes(root)
        router.get("staff", use: queue)
        router.get("staff/map.json", use: mapData)
        router.get("staff/requests/:id", use: requestPage)
        router.post("staff/requests/:id", use: act)
        router.post("staff/requests/:id/merge", use: merge)
        router.post("staff/requests/:id/unmerge", use: unmerge)
        router.post("staff/requests/:id/appointment", use: appointment)
        router.post("staff/bulk", use: bulk)
        router.post("staff/views", use: saveView)
        router.post("staff/views/:id/delete", use: deleteView)
        router.get("staff/templates", use: templatesPage)
        router.post("staff/templates", use: createTemplate)
        router.post("staff/templates/:id/delete", use: deleteTemplate)
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
            "services": services.sorted { $0.name < $1.name }.map {
                ["code": $0.code, "name": $0.name, "selected": $0.code == query.serviceCodes.first]
            },
            "statuses": [
                ("open", t(request, "request_status_open")), ("closed", t(request, "request_status_closed")), ("all", t(request, "staff_any")),
            ]
            .map { ["value": $0.0, "label": $0.1, "selected": (parameters["status"] ?? "open") == $0.0] },
            "slas": [SLAState.breached, .threeQuarters, .half, .onTrack].map {
                ["value": $0.rawValue, "label": t(request, "staff_sla_" + $0.rawValue), "selected": $0 == sla]
            },
            "dayChoices": [1, 7, 30, 90].map {
                ["value": $0, "label": $0 == 1 ? t(request, "staff_day_one") : t(request, "staff_days", ["n": String($0)]), "selected": $0 == days]
            },
            "assignees": [
                ["value": "me", "label": t(request, "staff_assignee_me"), "selected": parameters["assignee"] == "me"],
                ["value": "none", "label": t(request, "staff_assignee_none"), "selected": parameters["assignee"] == "none"],
            ]
                + colleagues.map { ["value": String($0.id), "label": $0.email, "selected": parameters["assignee"] == String($0.id)] },
            "bbox": parameters["bbox"] ?? "", "q": parameters["q"] ?? "",
        ]
        var components = URLComponents()
        components.queryItems = Self.filterNames.compactMap { name in
            parameters[name].flatMap { $0.isEmpty ? nil : URLQueryItem(name: name, value: $0) }
        }
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
            for (key, value) in request.query { parameters[String(key)] = String(value) }
            let views = try await stores.savedViews.list(userID: staff.user.id, jurisdictionID: jurisdiction)
            if let viewID = parameters["view"].flatMap(Int64.init), let view = views.first(where: { $0.id == viewID }) {
                for (name, value) in (try? FormBody.urlEncoded(view.query)) ?? [] where Self.filterNames.contains(name) { parameters[name] = value }
            }
            let filters = try await filters(parameters, staff: staff, request: request)
            let sorted = try await sortedQueue(filters)
            let names = Dictionary(filters.colleagues.map { ($0.id, $0.email) }, uniquingKeysWith: { first, _ in first })
            var values = filters.values
            // Rows sent with a spot and no address are named by the nearest address point (the first hundred of them).
            let places = try await web.places(
                Array(sorted.prefix(500).map(\.request).filter { ($0.location.address ?? "").isEmpty }.prefix(100)), request: request)
            values["items"] = sorted.prefix(500).map { item in
                [
                    "id": item.request.id, "service": item.request.serviceName,
                    "address": places[item.request.id] ?? item.request.location.address ?? "",
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
            values["notice"] = request.query.get("done").map { _ in t(request, "staff_done") } ?? ""
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
            for (key, value) in request.query { parameters[String(key)] = String(value) }
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
}
