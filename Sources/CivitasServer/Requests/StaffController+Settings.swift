import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Saved views and the response templates staff pick from when they change a status.
extension StaffController {
    // MARK: saved views

    func saveView(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let form = try await web.checkedForm(request, session: staff.identity.session)
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
            let form = try await web.checkedForm(request, session: staff.identity.session)
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
                "id": $0.id, "title": $0.title, "body": $0.body, "spanish": $0.translations[.spanish] ?? "",
                "service": $0.serviceCode.map { names[$0] ?? $0 } ?? t(request, "staff_all_services"),
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
            let form = try await web.checkedForm(request, session: staff.identity.session)
            if let refused = try await templatesRefusal(request, staff: staff) { return refused }
            let service = form["service"].flatMap { $0.isEmpty ? nil : $0 }
            do {
                try await stores.templates.create(
                    serviceCode: service, title: form["title"] ?? "", body: form["body"] ?? "",
                    status: form["status"].flatMap(RequestStatus.init(rawValue:)), translations: [.spanish: form["body-es"] ?? ""],
                    jurisdictionID: jurisdiction, actor: staff.origin.actor)
            } catch let error as CivitasError {
                return try await templatesView(
                    request, staff: staff, values: ["title": form["title"] ?? "", "body": form["body"] ?? "", "bodyES": form["body-es"] ?? ""],
                    errors: [FieldError(field: error.field ?? "title", message: error.message)], status: .badRequest)
            }
            return web.redirect("/staff/templates")
        }
    }

    func deleteTemplate(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let form = try await web.checkedForm(request, session: staff.identity.session)
            if let refused = try await templatesRefusal(request, staff: staff) { return refused }
            guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw HTTPError(.notFound) }
            try await stores.templates.delete(id: id, jurisdictionID: jurisdiction, actor: staff.origin.actor)
            return web.redirect("/staff/templates")
        }
    }

    /// The templates page with a 403 and its reason, for staff who may not change templates; nil for those who may.
    func templatesRefusal(_ request: Request, staff: Staff) async throws -> Response? {
        guard Permissions.decide(staff.identity.actor, .manageTemplates, on: .jurisdiction(jurisdiction)).allowed else {
            return try await templatesView(
                request, staff: staff, errors: [FieldError(field: "title", message: t(request, "staff_refused", ["what": "templates"]))],
                status: .forbidden)
        }
        return nil
    }
}
