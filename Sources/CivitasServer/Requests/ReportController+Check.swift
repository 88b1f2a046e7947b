import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Step 7: check the answers and send.
extension ReportController {
    // MARK: 7. check and send

    func checkPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        return try await checkView(request, draft: draft)
    }

    func checkView(_ request: Request, draft: Draft, errors: [FieldError] = [], status: HTTPResponse.Status = .ok) async throws -> Response {
        let service = try await service(of: draft, for: request)
        var answers: [[String: Any]] = []
        for attribute in service.orderedAttributes where attribute.variable {
            let given = draft.data["attribute[\(attribute.code)]"] ?? []
            let shown = given.map { key in attribute.values.first { $0.key == key }?.name ?? key }
            answers.append([
                "label": attribute.description, "value": shown.isEmpty ? t(request, "check_none") : shown.joined(separator: ", "),
                "change": "/report/\(draft.id)/details?return=check",
            ])
        }
        let place =
            draft.value("address")
            ?? draft.coordinate.map { String(format: "%.5f, %.5f", $0.latitude, $0.longitude) } ?? t(request, "check_none")
        let contact = [draft.value("name"), draft.value("email"), draft.value("phone")].compactMap { $0 }
        let identity = try await identity(request)
        return web.page(
            "requests/report-check", title: t(request, "check_title"), request: request, identity: identity,
            values: [
                "draft": draft.id, "service": service.name, "answers": answers, "where": place,
                "description": draft.value("description") ?? t(request, "check_none"),
                "photos": (draft.data["photo"] ?? []).isEmpty
                    ? t(request, "check_none") : t(request, "check_photos_count", ["count": String((draft.data["photo"] ?? []).count)]),
                "contact": contact.isEmpty ? t(request, "check_none") : contact.joined(separator: ", "),
                "anonymous": contact.isEmpty && identity?.user == nil,
                "back": "/report/\(draft.id)/contact",
            ], status: status, errors: errors)
    }

    func submit(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let identity = try await identity(request)
        _ = try await form(request, session: identity?.session)
        let service = try await service(of: draft)
        let resident = identity?.user.flatMap { $0.kind == .resident ? $0 : nil }
        var pairs: [(String, String)] = [("service_code", service.code)]
        if let coordinate = draft.coordinate {
            pairs += [("lat", String(coordinate.latitude)), ("long", String(coordinate.longitude))]
        }
        for (name, key) in [("address", "address_string"), ("zipcode", "zipcode"), ("description", "description"), ("phone", "phone")] {
            if let value = draft.value(name) { pairs.append((key, value)) }
        }
        if let name = draft.value("name") { pairs.append(("first_name", name)) }
        if let email = draft.value("email") ?? resident?.email { pairs.append(("email", email)) }
        for (key, values) in draft.data where key.hasPrefix("attribute[") {
            for value in values { pairs.append((key + "[]", value)) }
        }
        switch NewServiceRequest.validate(Open311Parameters(pairs), service: service) {
        case .failure(let failures):
            // The pages checked each answer; this only happens when the service changed meanwhile.
            let errors = failures.errors.map { FieldError(field: "submit", message: $0.message) }
            return try await checkView(request, draft: draft, errors: errors, status: .badRequest)
        case .success(let new):
            let created = try await stores.requests.create(
                new, service: service, jurisdictionID: jurisdiction, source: "web", photoIDs: draft.data["photo"] ?? [],
                actor: identity?.actor.auditName ?? "anonymous", residentID: resident?.id,
                origin: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor),
                language: Catalog.language(of: request), confirm: true)
            try await stores.drafts.delete(draft.id)
            return web.redirect("/requests/\(created.id)?sent=1")
        }
    }
}
