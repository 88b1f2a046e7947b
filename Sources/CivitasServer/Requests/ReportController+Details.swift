import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Step 2 of a report: the service's own questions.
extension ReportController {
    // MARK: 2. the service's questions

    func detailsPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let service = try await service(of: draft, for: request)
        return try await detailsForm(request, draft: draft, service: service, answers: draft.data, errors: [:])
    }

    func detailsForm(
        _ request: Request, draft: Draft, service: ServiceDefinition, answers: [String: [String]], errors: [String: String],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let fields: [[String: Any]] = service.orderedAttributes.map { attribute in
            let name = "attr_\(attribute.code)"
            let given = answers["attribute[\(attribute.code)]"] ?? []
            var field: [String: Any] = [
                "name": name, "label": attribute.description, "required": attribute.required, "error": errors[name] ?? "",
                "hasError": errors[name] != nil, "value": given.first ?? "", "informational": !attribute.variable,
            ]
            switch attribute.datatype {
            case .string: field["isString"] = true
            case .number: field["isNumber"] = true
            case .datetime: field["isDatetime"] = true
            case .text: field["isText"] = true
            case .singlevaluelist, .multivaluelist:
                field[attribute.datatype == .singlevaluelist ? "isSingle" : "isMulti"] = true
                field["options"] = attribute.values.enumerated().map { index, value in
                    ["key": value.key, "text": value.name, "field": name, "id": "\(name)-\(index)", "checked": given.contains(value.key)]
                }
                field["firstID"] = "\(name)-0"
            }
            return field
        }
        let identity = try await identity(request)
        return web.page(
            "requests/report-details", title: t(request, "details_title", ["service": service.name]), request: request, identity: identity,
            values: ["draft": draft.id, "fields": fields, "service": service.name, "back": "/report"].merging(changeValues(request, draft: draft)) {
                $1
            },
            status: status,
            errors: fields.compactMap { field in
                guard let message = field["error"] as? String, !message.isEmpty, let name = field["name"] as? String else { return nil }
                return FieldError(field: (field["firstID"] as? String) ?? name, message: message)
            })
    }

    func details(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        var draft = try await draft(context, request: request)
        let identity = try await identity(request)
        let fields = try await form(request, session: identity?.session)
        let service = try await service(of: draft, for: request)
        var answers: [String: [String]] = [:]
        var errors: [String: String] = [:]
        let zone = configuration.jurisdiction.timeZone
        for attribute in service.orderedAttributes where attribute.variable {
            let name = "attr_\(attribute.code)"
            let given = (fields[name] ?? []).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
            var values = given
            if given.isEmpty {
                if attribute.required { errors[name] = t(request, "details_required") }
                continue
            }
            switch attribute.datatype {
            case .number:
                if values.count != 1 || Double(values[0].replacingOccurrences(of: ",", with: ".")) == nil {
                    errors[name] = t(request, "details_number")
                } else {
                    values = [values[0].replacingOccurrences(of: ",", with: ".")]
                }
            case .datetime:
                // A browser's datetime-local gives "2026-11-23T10:30", in the jurisdiction's time.
                if let date = W3CDateTime.parse(values[0], defaultZone: zone) {
                    values = [W3CDateTime.format(date, timeZone: zone)]
                } else {
                    errors[name] = t(request, "details_datetime")
                }
            case .singlevaluelist, .multivaluelist:
                let keys = Set(attribute.values.map(\.key))
                if !values.allSatisfy(keys.contains) || (attribute.datatype == .singlevaluelist && values.count > 1) {
                    errors[name] = t(request, "details_choose")
                }
            case .string, .text:
                if values.contains(where: { $0.unicodeScalars.count > (attribute.datatype == .string ? 1000 : 4000) }) {
                    errors[name] = t(request, "details_too_long")
                }
            }
            answers["attribute[\(attribute.code)]"] = values
        }
        if !errors.isEmpty {
            // Keep what was typed, so nothing is lost.
            var shown = answers
            for attribute in service.orderedAttributes {
                if let raw = fields["attr_\(attribute.code)"] { shown["attribute[\(attribute.code)]"] = raw }
            }
            return try await detailsForm(request, draft: draft, service: service, answers: shown, errors: errors, status: .badRequest)
        }
        for key in draft.data.keys where key.hasPrefix("attribute[") { draft.data[key] = nil }
        draft.data.merge(answers) { $1 }
        try await stores.drafts.save(draft.id, data: draft.data, jurisdictionID: jurisdiction)
        return next(request, draft: draft, "location")
    }
}
