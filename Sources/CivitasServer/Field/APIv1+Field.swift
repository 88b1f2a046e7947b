import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird

/// `/api/v1` for field work, through the same calls as the dispatcher's and the crew's pages: crews, the day plan
/// (read, plan now, keep a stop with a crew), and crew actions under an `Idempotency-Key`.
extension APIv1Controller {
    func addFieldRoutes(to api: RouterGroup<CivitasRequestContext>) {
        api.get("crews", use: crews)
        api.get("plans", use: latestPlan)
        api.post("plans", use: makePlan)
        api.post("plans/pins", use: pinStop)
        api.post("service-requests/:id/crew-actions", use: crewAction)
        api.get("service-requests/:id/appointment", use: appointment)
        api.put("service-requests/:id/appointment", use: setAppointment)
    }

    func appointment(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readable(request, context: context, identity: identity)
        let window = try await stores.requests.appointments(ids: [found.id], jurisdictionID: found.jurisdictionID)[found.id]
        return json(appointmentObject(found.id, window))
    }

    /// Every request has this sub-resource; without an appointment its times are null.
    func appointmentObject(_ id: Int64, _ window: DateInterval?) -> [String: Any] {
        guard let window else { return ["service_request_id": id, "starts": NSNull(), "ends": NSNull(), "text": NSNull()] }
        let zone = configuration.jurisdiction.timeZone
        return [
            "service_request_id": id, "starts": W3CDateTime.format(window.start, timeZone: zone),
            "ends": W3CDateTime.format(window.end, timeZone: zone),
            "text": Appointment.describe(window, zone: zone),
        ]
    }

    /// Sets the time agreed with the resident for the crew's visit (planning starts the work inside it), or clears it
    /// when both times are null. The sub-resource is never deleted: a request always has one, perhaps empty.
    func setAppointment(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readable(request, context: context, identity: identity)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["starts", "ends"])
        var times: [Date] = []
        let clearing: Bool
        if case .null? = body["starts"], case .null? = body["ends"] {
            clearing = true
        } else {
            clearing = false
            for field in ["starts", "ends"] {
                guard case .string(let text)? = body[field], let date = W3CDateTime.parse(text, defaultZone: configuration.jurisdiction.timeZone)
                else {
                    throw Problem(
                        .badRequest, code: "invalid_field",
                        detail: "\(field) must be a date and time like 2026-11-24T10:00:00-05:00 (both null clears the appointment).", field: field)
                }
                times.append(date)
            }
        }
        try require(identity, .assignRequest, on: Self.target(found))
        var window: DateInterval?
        if !clearing {
            guard times[1] > times[0], times[1].timeIntervalSince(times[0]) <= ServiceRequestStore.longestAppointment else {
                throw Problem(
                    .badRequest, code: "appointment_invalid", detail: "An appointment ends after it starts, at most 12 hours later.", field: "ends")
            }
            window = DateInterval(start: times[0], end: times[1])
        }
        try await stores.requests.setAppointment(
            id: found.id, window, jurisdictionID: found.jurisdictionID, by: origin(identity, request, context),
            zone: configuration.jurisdiction.timeZone)
        return json(appointmentObject(found.id, window))
    }

    func department(_ value: String?, field: String = "department") throws -> String {
        guard let value, !value.isEmpty, value.unicodeScalars.count <= 100 else {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "department is required (at most 100 characters).", field: field)
        }
        return value
    }

    func day(_ value: String?) throws -> String {
        guard let value, value.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) != nil else {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "date must be a day like 2026-11-24.", field: "date")
        }
        _ = try DayPlanner(zone: configuration.jurisdiction.timeZone).midnight(of: value)
        return value
    }

    func crewObject(_ crew: Crew) -> [String: Any] {
        [
            "id": crew.id, "name": crew.name, "department": crew.department,
            "depot": ["name": crew.depotName, "lat": crew.depot.latitude, "long": crew.depot.longitude],
            "vehicle": crew.vehicle, "capacity": crew.capacity, "skills": crew.skills.sorted(),
            "services": crew.services.map { $0.sorted() as Any } ?? NSNull(),
            "shift": ["days": crew.shift.days.sorted(), "start": Shift.clock(crew.shift.start), "end": Shift.clock(crew.shift.end)],
        ]
    }

    func crews(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        try require(identity, .readRequests, on: .jurisdiction(configuration.jurisdiction.id))
        let wanted = try Self.query(request)["department"].flatMap { $0.isEmpty ? nil : $0 }.map { try department($0) }
        let scope: DepartmentScope
        switch identity.actor {
        case .staff(_, _, _, let departments, _), .partner(_, _, _, let departments): scope = departments
        default: scope = .only([])
        }
        let found = try await stores.crews.list(department: wanted, jurisdictionID: configuration.jurisdiction.id).filter {
            scope.contains($0.department)
        }
        return json(["items": found.map(crewObject)])
    }

    func planObject(_ saved: SavedPlan) -> [String: Any] {
        [
            "id": saved.id, "department": saved.department, "date": saved.day, "version": saved.version, "created_by": saved.createdBy,
            "distance_m": saved.distance.rounded(),
            "stops": saved.stops.map { stop -> [String: Any] in
                [
                    "crew_id": stop.crewID, "service_request_id": stop.requestID, "arrives_at": rfc3339(stop.arrives),
                    "starts_at": rfc3339(stop.starts),
                    "ends_at": rfc3339(stop.ends), "reason": stop.reason,
                ]
            },
            "unplanned": saved.unplanned.map { ["service_request_id": $0.requestID, "reason": $0.reason] as [String: Any] },
        ]
    }

    func latestPlan(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let parameters = try Self.query(request)
        let department = try department(parameters["department"])
        let day = try day(parameters["date"])
        try require(identity, .readRequests, on: .record(jurisdictionID: configuration.jurisdiction.id, department: department, residentID: nil))
        guard let saved = try await stores.plans.latest(department: department, day: day, jurisdictionID: configuration.jurisdiction.id) else {
            throw Problem(.notFound, code: "plan_not_found", detail: "\(department) has no plan for \(day) yet.")
        }
        return json(planObject(saved))
    }

    /// Planning is for the department's dispatchers, never for partner systems.
    func requireDispatcher(_ identity: Identity, department: String) throws {
        guard case .staff = identity.actor else { throw Problem.forbidden("partner systems do not plan crews' days") }
        try require(identity, .planWork, on: .record(jurisdictionID: configuration.jurisdiction.id, department: department, residentID: nil))
    }

    func makePlan(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["department", "date"])
        guard case .string(let rawDepartment)? = body["department"], case .string(let rawDay)? = body["date"] else {
            throw Problem(.badRequest, code: "invalid_field", detail: "department and date are required strings.", field: "department")
        }
        let department = try department(rawDepartment)
        let day = try day(rawDay)
        try requireDispatcher(identity, department: department)
        return try await savedPlan(department: department, day: day, identity: identity)
    }

    func pinStop(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["department", "date", "service_request_id", "crew_id"])
        guard case .string(let rawDepartment)? = body["department"], case .string(let rawDay)? = body["date"],
            case .integer(let requestID)? = body["service_request_id"], requestID >= 1
        else {
            throw Problem(
                .badRequest, code: "invalid_field", detail: "department, date and service_request_id are required.", field: "service_request_id")
        }
        var crewID: Int64?
        switch body["crew_id"] {
        case .integer(let id)? where id >= 1: crewID = id
        case .null?: crewID = nil
        default: throw Problem(.badRequest, code: "invalid_field", detail: "crew_id must be a crew id, or null to let the stop go.", field: "crew_id")
        }
        let department = try department(rawDepartment)
        let day = try day(rawDay)
        try requireDispatcher(identity, department: department)
        guard
            try await stores.requests.find(id: requestID, jurisdictionID: configuration.jurisdiction.id, includePrivate: false)?.agencyResponsible
                == department
        else {
            throw Problem(.notFound, code: "request_not_found", detail: "There is no service request \(requestID) in \(department).")
        }
        try await stores.plans.pin(
            requestID: requestID, to: crewID, department: department, day: day, jurisdictionID: configuration.jurisdiction.id,
            actor: identity.actor.auditName)
        return try await savedPlan(department: department, day: day, identity: identity)
    }

    func crewAction(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readable(request, context: context, identity: identity)
        guard let key = request.headers[HTTPField.Name("Idempotency-Key")!], !key.isEmpty else {
            throw Problem(
                .badRequest, code: "idempotency_key_missing", detail: "Send an Idempotency-Key header (16 to 100 letters, digits or dashes).",
                field: "Idempotency-Key")
        }
        let body = try await jsonBody(request, context: context, upTo: 12_000_000)
        try rejectUnknown(body, allowed: ["action", "note", "photo"])
        guard case .string(let raw)? = body["action"], let action = CrewAction(rawValue: raw) else {
            throw Problem(.badRequest, code: "invalid_field", detail: "action must be arrive, resolve or cannot_do.", field: "action")
        }
        var note: String?
        switch body["note"] {
        case nil: note = nil
        case .string(let text)?: note = text
        default: throw Problem(.badRequest, code: "invalid_field", detail: "note must be text.", field: "note")
        }
        var photo: MediaUpload?
        switch body["photo"] {
        case nil: photo = nil
        case .string(let encoded)?:
            guard let data = Data(base64Encoded: encoded), data.count <= Photo.maximumBytes else {
                throw Problem(
                    .badRequest, code: "invalid_field", detail: "photo must be a JPEG or PNG image of at most 8 MB, in base64.", field: "photo")
            }
            guard let (kind, bytes) = Photo.stripped([UInt8](data)) else {
                throw Problem(.badRequest, code: "invalid_field", detail: "photo must be a JPEG or PNG image.", field: "photo")
            }
            photo = MediaUpload(contentType: kind.rawValue, bytes: bytes)
        default: throw Problem(.badRequest, code: "invalid_field", detail: "photo must be a base64 text.", field: "photo")
        }
        try require(identity, action == .resolve ? .changeStatus : .addNote, on: Self.target(found))
        guard case .staff(let userID, _, _, _, _) = identity.actor,
            let crew = try await stores.crews.list(department: found.agencyResponsible, jurisdictionID: found.jurisdictionID)
                .first(where: { $0.members.contains(userID) })
        else { throw Problem.forbidden("only a member of one of the department's crews records crew actions") }
        let result = try await stores.requests.crewAction(
            action, requestID: found.id, key: key, note: note, userID: userID, crewName: crew.name, jurisdictionID: found.jurisdictionID,
            by: origin(identity, request, context), photo: photo)
        return json(
            ["outcome": result.outcome.rawValue, "message": result.message, "replayed": result.replayed],
            status: result.outcome == .conflict ? .conflict : .ok)
    }

    /// Plans the department's day afresh and saves it as the next version: 201 with the plan.
    func savedPlan(department: String, day: String, identity: Identity) async throws -> Response {
        let plan = try await Planning.plan(department: department, day: day, stores: stores, configuration: configuration, seconds: 2)
        let saved = try await Planning.save(
            plan, department: department, stores: stores, jurisdictionID: configuration.jurisdiction.id, actor: identity.actor.auditName)
        return json(planObject(saved), status: .created)
    }
}
