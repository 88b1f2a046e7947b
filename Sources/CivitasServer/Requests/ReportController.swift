import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Residents report a problem one question per page (the GOV.UK pattern): service, its questions, location,
/// possible duplicates, description and photos, contact details, check, send. Every page works without JavaScript;
/// the map, address suggestions and the device's location are added by /assets/civitas.js where it runs.
/// The answers so far live in a draft in the database, named by a random id in the page address, so any instance
/// serves any page.
struct ReportController: PageController {
    let web: Web

    func addRoutes(to root: Router<CivitasRequestContext>) {
        let router = pageRoutes(root)
        router.get("report", use: servicePage)
        router.post("report", use: chooseService)
        router.get("report/:draft/details", use: detailsPage)
        router.post("report/:draft/details", use: details)
        router.get("report/:draft/location", use: locationPage)
        router.post("report/:draft/location", use: location)
        router.get("report/:draft/duplicates", use: duplicatesPage)
        router.get("report/:draft/follow/:id", use: followPage)
        router.post("report/:draft/follow/:id", use: follow)
        router.get("report/:draft/description", use: descriptionPage)
        router.post("report/:draft/description", use: describe)
        router.get("report/:draft/contact", use: contactPage)
        router.post("report/:draft/contact", use: contact)
        router.get("report/:draft/check", use: checkPage)
        router.post("report/:draft/check", use: submit)
        router.get("addresses", use: addressSuggestions)
    }

    // MARK: the draft

    struct Draft {
        var id: String
        var data: [String: [String]]

        func value(_ name: String) -> String? { data[name]?.first }
        var serviceCode: String? { value("service") }
        var coordinate: Coordinate? {
            guard let lat = value("lat").flatMap(Double.init), let long = value("long").flatMap(Double.init) else { return nil }
            return Coordinate(latitude: lat, longitude: long)
        }
    }

    func draft(_ context: CivitasRequestContext, request: Request) async throws -> Draft {
        guard let id = context.parameters.get("draft"), let data = try await stores.drafts.load(id, jurisdictionID: jurisdiction) else {
            throw WebFailure(status: .notFound, title: t(request, "draft_expired_title"), message: t(request, "draft_expired_text"))
        }
        return Draft(id: id, data: data)
    }

    /// The draft's service, in the reader's language when `request` is given (to show it), else as stored (to file).
    func service(of draft: Draft, for request: Request? = nil) async throws -> ServiceDefinition {
        guard let code = draft.serviceCode, let service = try await stores.services.find(code: code, jurisdictionID: jurisdiction) else {
            throw WebFailure(status: .notFound, title: "Service not found", message: "Choose the service again at /report.")
        }
        return request.map { service.localized(Catalog.language(of: $0)) } ?? service
    }

    /// Every service a resident can report, in their language.
    func reportableServices(_ request: Request) async throws -> [ServiceDefinition] {
        let language = Catalog.language(of: request)
        return try await stores.services.all(jurisdictionID: jurisdiction).filter { $0.type != .batch }.map { $0.localized(language) }
    }

    func t(_ request: Request, _ key: String, _ values: [String: String] = [:]) -> String {
        catalog.text(key, Catalog.language(of: request), values)
    }

    func form(_ request: Request, session: Session?) async throws -> [String: [String]] {
        let buffer = try await web.body(request, upTo: configuration.maxBodySize, tooLarge: t(request, "error_form_too_large"))
        let parsed: FormBody
        do {
            parsed = try FormBody.parse(contentType: request.headers[.contentType], body: buffer)
        } catch {
            throw WebFailure(status: .badRequest, title: "Form not understood", message: "Go back, reload the page and try again.")
        }
        var fields: [String: [String]] = [:]
        for (name, value) in parsed.fields { fields[name, default: []].append(value) }
        try web.checkCSRF(fields.mapValues { $0.first ?? "" }, request: request, session: session)
        return fields
    }

    func identity(_ request: Request) async throws -> Identity? { try await web.pageIdentity(request) }

    /// "Change" on the check page returns there after the one answer (the GOV.UK pattern): a step opened with
    /// `?return=check` posts back with it, its Back link goes to the check page, and saving goes there too.
    func returningToCheck(_ request: Request) -> Bool { request.query.get("return") == "check" }

    /// The values a step's page needs for that: `returnQuery` for its form's action, and the Back link.
    func changeValues(_ request: Request, draft: Draft) -> [String: Any] {
        guard returningToCheck(request) else { return ["returnQuery": ""] }
        return ["returnQuery": "?return=check", "back": "/report/\(draft.id)/check"]
    }

    /// Where a step goes once its answer is saved: the next step, or back to the check page.
    func next(_ request: Request, draft: Draft, _ step: String) -> Response {
        web.redirect("/report/\(draft.id)/\(returningToCheck(request) ? "check" : step)")
    }

    // MARK: 1. service

    func servicePage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await identity(request)
        let services = try await reportableServices(request)
        let query = request.query.get("q")?.trimmingCharacters(in: .whitespaces) ?? ""
        var values: [String: Any] = ["q": query]
        if !query.isEmpty {
            let settings = try await stores.serviceSettings.all(jurisdictionID: jurisdiction)
            let matches = ServiceSearch.rank(query, in: services, searchWords: settings.mapValues(\.searchWords)).map(\.service)
            values["searched"] = true
            values["resultsTitle"] = t(request, "service_results", ["q": query])
            values["noResults"] = matches.isEmpty ? t(request, "service_none", ["q": query]) : ""
            values["results"] = matches.map { serviceItem($0, checked: false) }
        }
        let groups = Dictionary(grouping: services, by: \.group).sorted { $0.key < $1.key }
        values["groups"] = groups.enumerated().map { index, group in
            ["name": group.key, "index": index, "services": group.value.sorted { $0.name < $1.name }.map { serviceItem($0, checked: false) }]
        }
        return web.page("requests/report-service", title: t(request, "service_title"), request: request, identity: identity, values: values)
    }

    func serviceItem(_ service: ServiceDefinition, checked: Bool) -> [String: Any] {
        ["code": service.code, "name": service.name, "description": service.description, "checked": checked]
    }

    func chooseService(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await identity(request)
        let fields = try await form(request, session: identity?.session)
        guard let code = fields["service"]?.first, let service = try await stores.services.find(code: code, jurisdictionID: jurisdiction),
            service.type != .batch
        else {
            let services = try await reportableServices(request)
            let groups = Dictionary(grouping: services, by: \.group).sorted { $0.key < $1.key }
            return web.page(
                "requests/report-service", title: t(request, "service_title"), request: request, identity: identity,
                values: [
                    "groups": groups.enumerated().map { index, group in
                        [
                            "name": group.key, "index": index,
                            "services": group.value.sorted { $0.name < $1.name }.map { serviceItem($0, checked: false) },
                        ]
                    }
                ],
                status: .badRequest, errors: [FieldError(field: "service-0", message: t(request, "service_missing"))])
        }
        let id = try await stores.drafts.create(jurisdictionID: jurisdiction)
        try await stores.drafts.save(id, data: ["service": [service.code]], jurisdictionID: jurisdiction)
        let questions = service.attributes.contains { $0.variable }
        return web.redirect("/report/\(id)/\(questions ? "details" : "location")")
    }

}
