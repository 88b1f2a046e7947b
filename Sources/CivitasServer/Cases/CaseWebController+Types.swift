import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Case types for administrators: the list, importing a definition, one type with its diagram.
extension CaseWebController {
    func typesPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            try await typesView(request, signedIn: signedIn, notice: request.query.get("imported"))
        }
    }

    func typesView(
        _ request: Request, signedIn: StaffController.Staff, notice: String? = nil, mistakes: [String] = [], errors: [FieldError] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let types = try await stores.cases.types(jurisdictionID: jurisdiction)
        return web.page(
            "cases/staff-casetypes", title: t(request, "staff_casetypes_title"), request: request, identity: signedIn.identity,
            values: [
                "types": types.map { ["key": $0.key, "name": $0.name, "department": $0.department, "version": $0.version] }, "none": types.isEmpty,
                "canImport": Permissions.decide(signedIn.identity.actor, .manageCaseTypes, on: .jurisdiction(jurisdiction)).allowed,
                "notice": notice.map { t(request, "staff_casetypes_imported", ["name": $0]) } ?? "", "mistakes": mistakes,
                "hasMistakes": !mistakes.isEmpty,
            ],
            status: status, errors: errors)
    }

    /// Admins import a case type file from the browser, as `civitas casetypes import` does; every mistake is listed.
    func importTypePage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let (form, upload) = try await readForm(request, limit: 1_100_000)
            try web.checkCSRF(form, request: request, session: signedIn.identity.session)
            guard Permissions.decide(signedIn.identity.actor, .manageCaseTypes, on: .jurisdiction(jurisdiction)).allowed else {
                throw failure(request, .forbidden, "staff_cases_refused")
            }
            guard let upload, !upload.bytes.isEmpty, let text = String(validating: upload.bytes, as: UTF8.self) else {
                return try await typesView(
                    request, signedIn: signedIn, errors: [FieldError(field: "definition", message: t(request, "staff_casetypes_choose"))],
                    status: .badRequest)
            }
            do {
                let type = try await stores.cases.importType(text, createdBy: signedIn.identity.actor.auditName, jurisdictionID: jurisdiction)
                var components = URLComponents()
                components.queryItems = [URLQueryItem(name: "imported", value: "\(type.name) v\(type.version)")]
                return web.redirect("/staff/casetypes?" + (components.percentEncodedQuery ?? ""))
            } catch let error as CivitasError {
                let lines = error.message.split(separator: "\n").dropFirst().map(String.init)
                return try await typesView(
                    request, signedIn: signedIn, mistakes: lines.isEmpty ? [error.message] : lines,
                    errors: [FieldError(field: "definition", message: t(request, "staff_casetypes_mistakes"))], status: .badRequest)
            }
        }
    }

    /// A type as a diagram of its states and steps (drawn on the server as SVG, so it needs no script), with the
    /// same content as lists for screen readers and small screens.
    func typePage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let version = request.query.get("version").flatMap(Int.init)
            guard let key = context.parameters.get("key"), let type = try await stores.cases.type(key, version: version, jurisdictionID: jurisdiction)
            else {
                throw failure(request, .notFound, "cases_not_found")
            }
            return web.page(
                "cases/staff-casetype", title: type.name, request: request, identity: signedIn.identity,
                values: [
                    "name": type.name, "key": type.key, "version": type.version, "department": type.department, "description": type.description,
                    "diagram": CaseDiagram.svg(type),
                    "states": type.states.map { state -> [String: Any] in
                        [
                            "key": state.key, "label": state.label, "sla": state.serviceLevel?.description ?? "", "final": state.final,
                            "waiting": state.waitingOnApplicant,
                            "steps": type.transitions(from: state.key).map { step -> [String: Any] in
                                [
                                    "label": step.label, "to": type.state(step.to)?.label ?? step.to,
                                    "by": step.by.map(\.name).sorted().joined(separator: ", "),
                                    "guard": CaseDiagram.guardText(step, type),
                                ]
                            },
                        ]
                    },
                    "rules": type.rules.map { ["id": $0.id, "version": $0.version, "label": $0.label, "when": $0.condition.source] },
                    "automations": type.automations.map { ["name": $0.name] },
                    "questions": type.fields.map {
                        ["label": $0.label, "type": $0.type.rawValue, "required": $0.required, "when": $0.when?.source ?? ""]
                    },
                ])
        }
    }
}
