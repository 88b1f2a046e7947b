import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The dispatcher's day plan: choose a department and a day, plan the open requests onto the crews on shift (saved as
/// the next version), and read each crew's ordered stops with times, load, distance and the reason for each stop,
/// what could not be planned and why, and the stops on a map.
struct DispatchController: StaffPageController {
    let staff: StaffController

    func addRoutes(to root: Router<CivitasRequestContext>) {
        let router = pageRoutes(root)
        router.get("staff/plan", use: page)
        router.post("staff/plan", use: plan)
        router.get("staff/plan.json", use: mapData)
        router.post("staff/plan/pin", use: pin)
    }

    func t(_ key: String, _ values: [String: String] = [:]) -> String { web.catalog.text(key, .english, values) }

    /// The department and day asked for, defaulting to the staff member's first department and today.
    func choice(_ parameters: [String: String], user: User) async throws -> (department: String, day: String, departments: [String]) {
        let services = try await stores.services.all(jurisdictionID: jurisdiction)
        let departments = Array(Set(services.compactMap(\.department))).filter { user.departments.contains($0) }.sorted()
        let department = parameters["department"].flatMap { departments.contains($0) ? $0 : nil } ?? departments.first ?? ""
        let day =
            parameters["date"].flatMap { $0.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil ? $0 : nil }
            ?? DayPlanner(zone: configuration.jurisdiction.timeZone).day(of: configuration.now())
        return (department, day, departments)
    }

    func page(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            var parameters: [String: String] = [:]
            for (key, value) in request.query { parameters[String(key)] = String(value) }
            return try await view(request, signedIn: signedIn, parameters: parameters)
        }
    }

    func view(
        _ request: Request, signedIn: StaffController.Staff, parameters: [String: String], errors: [FieldError] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let (department, day, departments) = try await choice(parameters, user: signedIn.user)
        let crews = try await stores.crews.list(department: department, jurisdictionID: jurisdiction)
        var values: [String: Any] = [
            "departments": departments.map { ["name": $0, "selected": $0 == department] }, "day": day, "department": department,
            "crews": crews.map {
                [
                    "name": $0.name, "shift": "\($0.shift.daysText) \($0.shift.hours)", "vehicle": $0.vehicle,
                    "capacity": DayPlanner.number($0.capacity),
                ]
            },
            "noCrews": crews.isEmpty,
            "canPlan": Permissions.decide(
                signedIn.identity.actor, .planWork, on: .record(jurisdictionID: jurisdiction, department: department, residentID: nil)
            ).allowed,
        ]
        if let saved = try await stores.plans.latest(department: department, day: day, jurisdictionID: jurisdiction) {
            let zone = configuration.jurisdiction.timeZone
            let format = DateFormatter()
            format.timeZone = zone
            format.dateFormat = "HH:mm"
            var query = ServiceRequestQuery(jurisdictionID: jurisdiction)
            query.ids = saved.stops.map(\.requestID) + saved.unplanned.map(\.requestID)
            query.includePrivate = false
            let requests = Dictionary(try await stores.requests.search(query).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let names = Dictionary(crews.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
            let byCrew = Dictionary(grouping: saved.stops, by: \.crewID)
            let pins = try await stores.plans.pins(department: department, day: day, jurisdictionID: jurisdiction)
            let canPlan = values["canPlan"] as? Bool ?? false
            func choices(_ requestID: Int64) -> [[String: Any]] {
                crews.map { ["id": $0.id, "name": $0.name, "selected": pins[requestID] == $0.id] }
            }
            let people = try await staff.people()
            values["plan"] = [
                "version": saved.version, "distance": DayPlanner.distance(saved.distance),
                "summary": web.catalog.text(
                    "staff_plan_summary", .english,
                    [
                        "planned": String(saved.stops.count), "total": String(saved.stops.count + saved.unplanned.count),
                        "distance": DayPlanner.distance(saved.distance), "who": people.name(saved.createdBy, request, web: web),
                    ]),
            ]
            values["itineraries"] = byCrew.keys.sorted { (names[$0] ?? "") < (names[$1] ?? "") }.map { crewID -> [String: Any] in
                let stops = byCrew[crewID] ?? []
                return [
                    "crew": names[crewID] ?? "crew \(crewID)", "count": stops.count,
                    "stops": stops.enumerated().map { index, stop -> [String: Any] in
                        let found = requests[stop.requestID]
                        return [
                            "n": index + 1, "from": format.string(from: stop.starts), "to": format.string(from: stop.ends), "id": stop.requestID,
                            "service": found?.serviceName ?? "", "address": found?.location.address ?? "", "reason": stop.reason,
                            "kept": pins[stop.requestID] != nil, "canPlan": canPlan, "crewChoices": choices(stop.requestID),
                            "department": department, "day": day,
                        ]
                    },
                ]
            }
            values["hasUnplanned"] = !saved.unplanned.isEmpty
            values["unplanned"] = saved.unplanned.map { item -> [String: Any] in
                [
                    "id": item.requestID, "service": requests[item.requestID]?.serviceName ?? "", "reason": item.reason, "canPlan": canPlan,
                    "crewChoices": choices(item.requestID), "department": department, "day": day,
                ]
            }
            var components = URLComponents()
            components.queryItems = [URLQueryItem(name: "department", value: department), URLQueryItem(name: "date", value: day)]
            values["mapData"] = "/staff/plan.json?" + (components.percentEncodedQuery ?? "")
        }
        values["notice"] = parameters["done"] != nil ? t("staff_plan_saved") : ""
        return web.page(
            "field/staff-plan", title: t("staff_plan_title"), request: request, identity: signedIn.identity, values: values, status: status,
            errors: errors, map: values["plan"] != nil)
    }

    func plan(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let form = try await web.checkedForm(request, session: signedIn.identity.session)
            let (department, day, _) = try await choice(form, user: signedIn.user)
            if let refused = try await refusedPlanning(request, signedIn: signedIn, form: form, department: department) { return refused }
            return try await replan(request, signedIn: signedIn, form: form, department: department, day: day)
        }
    }

    /// The page again with a refusal, when the signed-in person may not plan this department's day; nil when they may.
    func refusedPlanning(_ request: Request, signedIn: StaffController.Staff, form: [String: String], department: String) async throws -> Response? {
        let target = PermissionTarget.record(jurisdictionID: jurisdiction, department: department, residentID: nil)
        guard !Permissions.decide(signedIn.identity.actor, .planWork, on: target).allowed else { return nil }
        return try await view(
            request, signedIn: signedIn, parameters: form,
            errors: [FieldError(field: "department", message: t("staff_refused", ["what": "planning"]))], status: .forbidden)
    }

    /// Plans the day (after `before`, e.g. keeping a stop with a crew), saves it as the next version and shows it;
    /// a refusal from the store is shown on the page.
    func replan(
        _ request: Request, signedIn: StaffController.Staff, form: [String: String], department: String, day: String,
        before: () async throws -> Void = {}
    ) async throws -> Response {
        do {
            try await before()
            let plan = try await Planning.plan(department: department, day: day, stores: stores, configuration: configuration)
            _ = try await Planning.save(plan, department: department, stores: stores, jurisdictionID: jurisdiction, actor: signedIn.origin.actor)
        } catch let error as CivitasError {
            return try await view(
                request, signedIn: signedIn, parameters: form, errors: [FieldError(field: error.field ?? "department", message: error.message)],
                status: .badRequest)
        }
        var components = URLComponents()
        components.queryItems = [
            URLQueryItem(name: "department", value: department), URLQueryItem(name: "date", value: day), URLQueryItem(name: "done", value: "1"),
        ]
        return web.redirect("/staff/plan?" + (components.percentEncodedQuery ?? ""))
    }

    /// Keeps a request with a crew (or lets it go), then plans the day again around it, as the next version.
    func pin(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let form = try await web.checkedForm(request, session: signedIn.identity.session)
            let (department, day, _) = try await choice(form, user: signedIn.user)
            if let refused = try await refusedPlanning(request, signedIn: signedIn, form: form, department: department) { return refused }
            guard let requestID = form["request"].flatMap(Int64.init),
                try await stores.requests.find(id: requestID, jurisdictionID: jurisdiction, includePrivate: false)?.agencyResponsible == department
            else { throw WebFailure(status: .notFound, title: t("staff_plan_title"), message: t("staff_crew_not_found")) }
            return try await replan(request, signedIn: signedIn, form: form, department: department, day: day) {
                try await stores.plans.pin(
                    requestID: requestID, to: form["crew"].flatMap(Int64.init), department: department, day: day, jurisdictionID: jurisdiction,
                    actor: signedIn.origin.actor)
            }
        }
    }

    /// The saved plan's stops as GeoJSON, labelled with their crew and order.
    func mapData(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            var parameters: [String: String] = [:]
            for (key, value) in request.query { parameters[String(key)] = String(value) }
            let (department, day, _) = try await choice(parameters, user: signedIn.user)
            var features: [[String: Any]] = []
            if let saved = try await stores.plans.latest(department: department, day: day, jurisdictionID: jurisdiction) {
                let names = Dictionary(
                    try await stores.crews.list(department: department, jurisdictionID: jurisdiction).map { ($0.id, $0.name) },
                    uniquingKeysWith: { first, _ in first })
                var query = ServiceRequestQuery(jurisdictionID: jurisdiction)
                query.ids = saved.stops.map(\.requestID)
                query.includePrivate = false
                let requests = Dictionary(try await stores.requests.search(query).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
                var positions: [Int64: Int] = [:]
                for stop in saved.stops {
                    positions[stop.crewID, default: 0] += 1
                    guard let found = requests[stop.requestID], let lat = found.location.latitude, let long = found.location.longitude else {
                        continue
                    }
                    features.append([
                        "type": "Feature", "geometry": ["type": "Point", "coordinates": [long, lat]],
                        "properties": [
                            "id": stop.requestID, "service": "\(names[stop.crewID] ?? "crew") #\(positions[stop.crewID]!): \(found.serviceName)",
                            "status": found.status.rawValue, "url": "/staff/requests/\(stop.requestID)",
                        ],
                    ])
                }
            }
            return try geoJSON(features)
        }
    }
}
