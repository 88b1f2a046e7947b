import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// One service request as staff see it, and the actions on it (status, assignee, priority, notes).
extension StaffController {
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
            "id": found.id, "pageID": found.id, "service": found.serviceName, "open": found.status == .open,
            "status": t(request, found.status == .open ? "request_status_open" : "request_status_closed"),
            "statusNotes": found.statusNotes ?? "", "description": found.description ?? "",
            "address": try await web.place(found.location, request: request),
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
            values["anonymous"] = [found.reporter.firstName, found.reporter.lastName, found.reporter.email, found.reporter.phone]
                .allSatisfy { ($0 ?? "").isEmpty }
            let service = try await stores.services.find(code: found.serviceCode, jurisdictionID: jurisdiction)
            values["answers"] = found.attributes.sorted { $0.key < $1.key }.map { code, given -> [String: Any] in
                let attribute = service?.attributes.first { $0.code == code }
                let shown = given.map { key in attribute?.values.first { $0.key == key }?.name ?? key }
                return ["code": attribute?.description ?? code, "value": shown.joined(separator: ", ")]
            }
        }
        let colleagues = try await colleagues(of: staff)
        let people = try await people()
        values["assignee"] = found.assigneeID.map { people.name("staff:\($0)", request, web: web) } ?? ""
        let notes = try await stores.requests.notes(id: found.id, jurisdictionID: jurisdiction, includeInternal: may(.readInternalNotes))
        var timeline: [[String: Any]] = [
            ["when": RequestPagesController.date(found.requestedAt, zone: zone, language: .english), "what": t(request, "request_history_opened")]
        ]
        for note in notes {
            timeline.append([
                "when": RequestPagesController.date(note.createdAt, zone: zone, language: .english), "what": note.status.rawValue,
                "note": note.body, "internal": note.visibility == .internal, "author": people.name(note.author, request, web: web),
            ])
        }
        values["timeline"] = timeline
        values["followers"] = try await stores.requests.followerCount(requestID: found.id, jurisdictionID: jurisdiction)
        values["viewedBy"] = groupedViews(
            try await stores.requests.views(of: found.id, jurisdictionID: jurisdiction, limit: 500), people: people, request: request)
        let parent = try await stores.requests.parent(of: found.id, jurisdictionID: jurisdiction)
        if let parent { values["parent"] = parent }
        let children = try await stores.requests.children(of: found.id, jurisdictionID: jurisdiction)
        values["children"] = children.map { ["id": $0] }
        values.merge(try await unmergeValues(found, parent: parent, children: children, staff: staff, request: request)) { $1 }
        // Likely duplicates after submit: open requests of the same service nearby, explained in words.
        if found.status == .open, let lat = found.location.latitude, let long = found.location.longitude, values["parent"] == nil {
            let settings = try await stores.serviceSettings.settings(for: found.serviceCode, jurisdictionID: jurisdiction)
            let probe = DuplicateProbe(
                serviceCode: found.serviceCode, location: Coordinate(latitude: lat, longitude: long), at: found.requestedAt,
                description: found.description)
            let matches = try await stores.requests.duplicates(
                of: probe, policy: settings.duplicates, jurisdictionID: jurisdiction, excluding: found.id)
            values["duplicates"] = matches.prefix(10).map { ["id": $0.id, "why": $0.explanation, "score": String(format: "%.2f", $0.score)] }
            values["hasDuplicates"] = !matches.isEmpty
        }
        values["canStatus"] = may(.changeStatus)
        values["canAssign"] = may(.assignRequest)
        values["canPriority"] = may(.setPriority)
        values["canNote"] = may(.addNote)
        values["canMerge"] = may(.mergeRequests)
        values["canAct"] = may(.changeStatus) || may(.assignRequest) || may(.setPriority) || may(.addNote)
        values["colleagues"] =
            colleagues
            .filter { $0.departments.contains(found.agencyResponsible) }
            .map { ["id": $0.id, "email": $0.email, "selected": $0.id == found.assigneeID] }
        values["priorities"] = RequestPriority.allCases.map { ["value": $0.rawValue, "selected": $0 == found.priority] }
        values["templates"] = try await stores.templates.list(serviceCode: found.serviceCode, jurisdictionID: jurisdiction).map {
            ["id": $0.id, "title": $0.title, "body": $0.body, "status": $0.status?.rawValue ?? ""]
        }
        values["notice"] = doneNotice(request)
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
            "requests/staff-request", title: t(request, "staff_request_title", ["id": String(found.id), "service": found.serviceName]),
            request: request,
            identity: staff.identity, values: values, status: status, errors: errors, map: values["hasSpot"] != nil)
    }

    func act(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let pairs = try await web.readFormPairs(request)
            let form = Web.firstValues(pairs)
            try web.checkCSRF(form, request: request, session: staff.identity.session)
            let found = try await readable(context, staff: staff)
            var change = RequestChange()
            var templateTitle: String?
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
                let template = try await stores.templates.list(serviceCode: found.serviceCode, jurisdictionID: jurisdiction).first(where: {
                    $0.id == templateID
                })
            {
                note = template.body
                templateTitle = template.title
                change.noteTranslations = template.translations
                if change.status == nil, let status = template.status, status != found.status, may(.changeStatus) { change.status = status }
            }
            if !note.isEmpty {
                if may(.addNote) {
                    change.note = note
                    // Internal unless the public is chosen: a slip keeps a staff remark among staff.
                    change.noteVisibility = form["visibility"] == "public" ? .public : .internal
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
            // Closing and prepared responses are shown first, in words, and saved when confirmed.
            if form["confirmed"] != "1", change.status == .closed || templateTitle != nil {
                return confirmPage(
                    request, staff: staff, id: found.id, action: "/staff/requests/\(found.id)",
                    lines: describe(change, request, people: try await people()), note: change.note, template: templateTitle,
                    spanish: change.noteVisibility == .public ? change.noteTranslations[.spanish] : nil,
                    told: try await told(change, found: found, request), fields: pairs)
            }
            do {
                _ = try await stores.requests.update(id: found.id, jurisdictionID: jurisdiction, change: change, by: staff.origin)
            } catch let error as CivitasError {
                return try await requestView(
                    request, staff: staff, context: context, errors: [FieldError(field: "actions", message: error.message)], status: .badRequest)
            }
            return web.redirect("/staff/requests/\(found.id)?done=\(Self.doneKeys(change))")
        }
    }

    /// Sets or clears the time agreed with the resident for the crew's visit: a day and a window within it.
}
