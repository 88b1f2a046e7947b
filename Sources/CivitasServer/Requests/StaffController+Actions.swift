import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Appointments with the resident, merging duplicates, and bulk actions on a selection.
extension StaffController {
    func appointment(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let form = try await web.checkedForm(request, session: staff.identity.session)
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
                guard let midnight = try? planner.midnight(of: form["day"] ?? ""), let from = minutes(form["from"]), let to = minutes(form["to"]),
                    to > from
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
            return web.redirect("/staff/requests/\(found.id)?done=appointment")
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
            let named = children.map { "#\($0)" }.joined(separator: ", ")
            if form["confirmed"] != "1", !children.isEmpty {
                return confirmPage(
                    request, staff: staff, id: found.id, action: "/staff/requests/\(found.id)/merge",
                    lines: [
                        t(request, "staff_will_merge", ["children": named, "parent": "#\(parent)"]),
                        t(request, "staff_will_merge_people", ["parent": "#\(parent)"]),
                    ], note: nil, template: nil, told: "", fields: pairs)
            }
            do {
                try await stores.requests.merge(
                    children, into: parent, jurisdictionID: jurisdiction, departments: staff.user.departments, by: staff.origin)
            } catch let error as CivitasError {
                return try await requestView(
                    request, staff: staff, context: context, errors: [FieldError(field: "merge", message: error.message)], status: .badRequest)
            }
            return web.redirect("/staff/requests/\(parent)?done=merged&ids=" + Web.formEncode(named))
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
                    let template = try await stores.templates.list(serviceCode: nil, jurisdictionID: jurisdiction).first(where: {
                        $0.id == templateID
                    })
                {
                    change.note = template.body
                    change.noteTranslations = template.translations
                }
            default:
                throw WebFailure(status: .badRequest, title: t(request, "staff_bulk_title"), message: t(request, "staff_bulk_action"))
            }
            var requests: [ServiceRequest] = []
            for id in ids {
                guard let found = try await stores.requests.find(id: id, jurisdictionID: jurisdiction, includePrivate: false),
                    Permissions.decide(staff.identity.actor, permission, on: Self.target(found)).allowed
                else {
                    throw WebFailure(
                        status: .forbidden, title: t(request, "staff_bulk_title"), message: t(request, "staff_bulk_refused", ["id": String(id)]))
                }
                requests.append(found)
            }
            try await stores.requests.updateAll(requests.map(\.id), jurisdictionID: jurisdiction, change: change, by: staff.origin)
            return web.redirect(back + (back.hasSuffix("?") ? "" : "&") + "done=1")
        }
    }
}
