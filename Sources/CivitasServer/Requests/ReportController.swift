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
struct ReportController: Sendable {
    let web: Web
    var stores: Stores { web.stores }
    var configuration: AppConfiguration { web.configuration }
    var catalog: Catalog { web.catalog }
    var jurisdiction: String { configuration.jurisdiction.id }

    func addRoutes(to root: Router<CivitasRequestContext>) {
        let router = root.group().add(middleware: WebFailureMiddleware(controller: web))
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

    func service(of draft: Draft) async throws -> ServiceDefinition {
        guard let code = draft.serviceCode, let service = try await stores.services.find(code: code, jurisdictionID: jurisdiction) else {
            throw WebFailure(status: .notFound, title: "Service not found", message: "Choose the service again at /report.")
        }
        return service
    }

    func t(_ request: Request, _ key: String, _ values: [String: String] = [:]) -> String {
        catalog.text(key, Catalog.language(of: request), values)
    }

    func form(_ request: Request, session: Session?) async throws -> [String: [String]] {
        let buffer = try await request.body.collect(upTo: configuration.maxBodySize)
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

    // MARK: 1. service

    func servicePage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await identity(request)
        let services = try await stores.services.all(jurisdictionID: jurisdiction).filter { $0.type != .batch }
        let query = request.uri.queryParameters.get("q")?.trimmingCharacters(in: .whitespaces) ?? ""
        var values: [String: Any] = ["q": query]
        if !query.isEmpty {
            let words = DuplicateScoring.words(query)
            let matches = services.filter { service in
                let text = DuplicateScoring.words([service.name, service.description, service.keywords.joined(separator: " "), service.group].joined(separator: " "))
                return !words.isDisjoint(with: text) || service.name.localizedCaseInsensitiveContains(query)
            }
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
            let services = try await stores.services.all(jurisdictionID: jurisdiction).filter { $0.type != .batch }
            let groups = Dictionary(grouping: services, by: \.group).sorted { $0.key < $1.key }
            return web.page(
                "requests/report-service", title: t(request, "service_title"), request: request, identity: identity,
                values: [
                    "groups": groups.enumerated().map { index, group in
                        ["name": group.key, "index": index, "services": group.value.sorted { $0.name < $1.name }.map { serviceItem($0, checked: false) }]
                    }
                ],
                status: .badRequest, errors: [FieldError(field: "service-0", message: t(request, "service_missing"))])
        }
        let id = try await stores.drafts.create(jurisdictionID: jurisdiction)
        try await stores.drafts.save(id, data: ["service": [service.code]], jurisdictionID: jurisdiction)
        let questions = service.attributes.contains { $0.variable }
        return web.redirect("/report/\(id)/\(questions ? "details" : "location")")
    }

    // MARK: 2. the service's questions

    func detailsPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let service = try await service(of: draft)
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
            values: ["draft": draft.id, "fields": fields, "service": service.name, "back": "/report"], status: status,
            errors: fields.compactMap { field in
                guard let message = field["error"] as? String, !message.isEmpty, let name = field["name"] as? String else { return nil }
                return FieldError(field: (field["firstID"] as? String) ?? name, message: message)
            })
    }

    func details(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        var draft = try await draft(context, request: request)
        let identity = try await identity(request)
        let fields = try await form(request, session: identity?.session)
        let service = try await service(of: draft)
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
        return web.redirect("/report/\(draft.id)/location")
    }

    // MARK: 3. location

    func locationPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let service = try await service(of: draft)
        return try await locationForm(
            request, draft: draft, service: service,
            values: ["address": draft.value("address") ?? "", "lat": draft.value("lat") ?? "", "long": draft.value("long") ?? ""])
    }

    func locationForm(
        _ request: Request, draft: Draft, service: ServiceDefinition, values extra: [String: Any], errors: [FieldError] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        var values = extra
        values["draft"] = draft.id
        values["back"] = service.attributes.contains { $0.variable } ? "/report/\(draft.id)/details" : "/report"
        let centre = try await mapCentre()
        values["centreLat"] = String(format: "%.5f", centre.latitude)
        values["centreLong"] = String(format: "%.5f", centre.longitude)
        values["addressError"] = errors.first { $0.field == "address" }?.message ?? ""
        return web.page(
            "requests/report-location", title: t(request, "location_title"), request: request, identity: try await identity(request), values: values,
            status: status, errors: errors, script: true, map: true)
    }

    /// Where the map opens: the middle of the jurisdiction's open requests, else of its address points.
    func mapCentre() async throws -> Coordinate {
        if let centre = try await stores.requests.centre(jurisdictionID: jurisdiction) { return centre }
        return Coordinate(latitude: 39.2904, longitude: -76.6122)
    }

    func location(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        var draft = try await draft(context, request: request)
        let identity = try await identity(request)
        let fields = try await form(request, session: identity?.session)
        let service = try await service(of: draft)
        let typed = fields["address"]?.first?.trimmingCharacters(in: .whitespaces) ?? ""
        let lat = fields["lat"]?.first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        let long = fields["long"]?.first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        var values: [String: Any] = ["address": typed, "lat": fields["lat"]?.first ?? "", "long": fields["long"]?.first ?? ""]

        var chosen: AddressPoint?
        if let lat, let long, (-90...90).contains(lat), (-180...180).contains(long) {
            let spot = Coordinate(latitude: lat, longitude: long)
            let near = try await stores.addresses.nearest(to: spot, jurisdictionID: jurisdiction)
            chosen = AddressPoint(address: typed.isEmpty ? (near?.address ?? "") : typed, zipcode: near?.zipcode, location: spot)
        } else if !typed.isEmpty {
            let found = try await stores.addresses.search(typed, jurisdictionID: jurisdiction, limit: 8)
            let key = AddressPoint.searchKey(typed)
            if let exact = found.first(where: { AddressPoint.searchKey($0.address) == key }) ?? (found.count == 1 ? found.first : nil) {
                chosen = exact
            } else if found.isEmpty {
                return try await locationForm(
                    request, draft: draft, service: service, values: values,
                    errors: [FieldError(field: "address", message: t(request, "location_none", ["address": typed]))], status: .badRequest)
            } else {
                values["choices"] = found.enumerated().map { index, point in
                    ["id": "choice-\(index)", "address": point.address, "zipcode": point.zipcode ?? ""]
                }
                values["choose"] = true
                return try await locationForm(
                    request, draft: draft, service: service, values: values,
                    errors: [FieldError(field: "choice-0", message: t(request, "location_choose"))], status: .badRequest)
            }
        } else if lat != nil || long != nil || !(fields["lat"]?.first ?? "").isEmpty || !(fields["long"]?.first ?? "").isEmpty {
            return try await locationForm(
                request, draft: draft, service: service, values: values,
                errors: [FieldError(field: "lat", message: t(request, "location_missing"))], status: .badRequest)
        } else {
            return try await locationForm(
                request, draft: draft, service: service, values: values,
                errors: [FieldError(field: "address", message: t(request, "location_missing"))], status: .badRequest)
        }
        guard let chosen else { throw WebFailure(status: .badRequest, title: "Location", message: "Choose a location.") }
        draft.data["lat"] = [String(chosen.location.latitude)]
        draft.data["long"] = [String(chosen.location.longitude)]
        draft.data["address"] = chosen.address.isEmpty ? nil : [chosen.address]
        draft.data["zipcode"] = chosen.zipcode.map { [$0] }
        try await stores.drafts.save(draft.id, data: draft.data, jurisdictionID: jurisdiction)
        let matches = try await duplicateMatches(draft: draft, service: service)
        return web.redirect("/report/\(draft.id)/\(matches.isEmpty ? "description" : "duplicates")")
    }

    /// Open requests that may be the same problem, by the service's own radius and window.
    func duplicateMatches(draft: Draft, service: ServiceDefinition) async throws -> [DuplicateMatch] {
        guard let coordinate = draft.coordinate else { return [] }
        let settings = try await stores.serviceSettings.settings(for: service.code, jurisdictionID: jurisdiction)
        let probe = DuplicateProbe(serviceCode: service.code, location: coordinate, at: Date(), description: draft.value("description"))
        return Array(try await stores.requests.duplicates(of: probe, policy: settings.duplicates, jurisdictionID: jurisdiction).prefix(5))
    }

    /// Suggestions while typing an address: JSON for the page script, `[{"address": ..., "lat": ..., "long": ...}]`.
    func addressSuggestions(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let text = request.uri.queryParameters.get("q") ?? ""
        let found = text.count > 200 ? [] : try await stores.addresses.search(text, jurisdictionID: jurisdiction, limit: 8)
        let items = found.map { ["address": $0.address, "zipcode": $0.zipcode ?? "", "lat": $0.location.latitude, "long": $0.location.longitude] as [String: Any] }
        let data = try JSONSerialization.data(withJSONObject: items, options: [.sortedKeys])
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    // MARK: 4. duplicates, and following one instead

    func duplicatesPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let service = try await service(of: draft)
        let matches = try await duplicateMatches(draft: draft, service: service)
        guard !matches.isEmpty else { return web.redirect("/report/\(draft.id)/description") }
        var items: [[String: Any]] = []
        for match in matches {
            guard let found = try await stores.requests.find(id: match.id, jurisdictionID: jurisdiction, includePrivate: false) else { continue }
            let followers = try await stores.requests.followerCount(requestID: match.id, jurisdictionID: jurisdiction)
            items.append([
                "id": match.id,
                "summary": t(
                    request, "duplicates_item",
                    ["service": found.serviceName, "distance": String(Int(match.distanceMetres.rounded())), "ago": ago(match.age, request)]),
                "description": found.description ?? "", "address": found.location.address ?? "",
                "followers": followers > 0 ? t(request, "duplicates_followers", ["count": String(followers)]) : "",
            ])
        }
        return web.page(
            "requests/report-duplicates", title: t(request, "duplicates_title"), request: request, identity: try await identity(request),
            values: ["draft": draft.id, "items": items, "back": "/report/\(draft.id)/location"])
    }

    func ago(_ interval: TimeInterval, _ request: Request) -> String {
        let minutes = Int(interval / 60)
        if minutes < 1 { return t(request, "ago_now") }
        if minutes < 60 { return t(request, "ago_minutes", ["n": String(minutes)]) }
        if minutes < 48 * 60 { return t(request, "ago_hours", ["n": String(minutes / 60)]) }
        return t(request, "ago_days", ["n": String(minutes / 1440)])
    }

    func followPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let identity = try await identity(request)
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw HTTPError(.notFound) }
        return web.page(
            "requests/report-follow", title: t(request, "follow_title", ["id": String(id)]), request: request, identity: identity,
            values: [
                "draft": draft.id, "id": id, "email": identity?.user?.email ?? draft.value("email") ?? "",
                "back": "/report/\(draft.id)/duplicates",
            ])
    }

    func follow(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let identity = try await identity(request)
        let fields = try await form(request, session: identity?.session)
        guard let id = context.parameters.get("id").flatMap(Int64.init) else { throw HTTPError(.notFound) }
        let email = (fields["email"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        let language = Catalog.language(of: request)
        let resident = identity?.user.flatMap { $0.kind == .resident ? $0 : nil }
        do {
            let follower = try await stores.requests.follow(
                requestID: id, jurisdictionID: jurisdiction, email: email, userID: resident?.id, language: language,
                actor: identity?.actor.auditName ?? "anonymous",
                source: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor))
            try await stores.drafts.delete(draft.id)
            return web.page(
                "app/message", title: t(request, "follow_done_title", ["id": String(follower.requestID)]), request: request, identity: identity,
                values: [
                    "paragraphs": [t(request, "follow_done_lead", ["email": follower.email])],
                    "linkURL": "/requests/\(follower.requestID)", "linkText": t(request, "request_merged_link", ["id": String(follower.requestID)]),
                ])
        } catch let error as CivitasError where error.code == "email_invalid" {
            return web.page(
                "requests/report-follow", title: t(request, "follow_title", ["id": String(id)]), request: request, identity: identity,
                values: ["draft": draft.id, "id": id, "email": email, "emailError": t(request, "email_invalid"), "back": "/report/\(draft.id)/duplicates"],
                status: .badRequest, errors: [FieldError(field: "email", message: t(request, "email_invalid"))])
        }
    }

    // MARK: 5. description and photos

    func descriptionPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        return try await descriptionForm(request, draft: draft, description: draft.value("description") ?? "")
    }

    func descriptionForm(
        _ request: Request, draft: Draft, description: String, errors: [FieldError] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let service = try await service(of: draft)
        let duplicates = try await duplicateMatches(draft: draft, service: service)
        let photos = draft.data["photo"] ?? []
        return web.page(
            "requests/report-description", title: t(request, "description_title"), request: request, identity: try await identity(request),
            values: [
                "draft": draft.id, "description": description, "photoCount": photos.count, "hasPhotos": !photos.isEmpty,
                "photosKept": t(request, "photos_kept", ["count": String(photos.count)]),
                "photosLabel": t(request, "photos_label", ["optional": t(request, "optional")]),
                "descriptionError": errors.first { $0.field == "description" }?.message ?? "",
                "photosError": errors.first { $0.field == "photos" }?.message ?? "",
                "back": "/report/\(draft.id)/\(duplicates.isEmpty ? "location" : "duplicates")",
            ], status: status, errors: errors)
    }

    func describe(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        var draft = try await draft(context, request: request)
        let identity = try await identity(request)
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: configuration.maxBodySize)
        } catch {
            // Too much at once: say so on the page, keeping what the draft already has.
            return try await descriptionForm(
                request, draft: draft, description: draft.value("description") ?? "",
                errors: [FieldError(field: "photos", message: t(request, "photos_size"))], status: .contentTooLarge)
        }
        let parsed: FormBody
        do {
            parsed = try FormBody.parse(contentType: request.headers[.contentType], body: buffer)
        } catch {
            throw WebFailure(status: .badRequest, title: "Form not understood", message: "Go back, reload the page and try again.")
        }
        var fields: [String: String] = [:]
        for (name, value) in parsed.fields where fields[name] == nil { fields[name] = value }
        try web.checkCSRF(fields, request: request, session: identity?.session)
        let description = (fields["description"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [FieldError] = []
        if description.unicodeScalars.count > NewServiceRequest.maximumDescriptionLength {
            errors.append(FieldError(field: "description", message: t(request, "description_too_long")))
        }
        var photos = fields["remove_photos"] != nil ? [] : (draft.data["photo"] ?? [])
        let uploads = parsed.uploads.filter { $0.name == "photos" }
        if photos.count + uploads.count > 3 {
            errors.append(FieldError(field: "photos", message: t(request, "photos_too_many")))
        }
        var cleaned: [MediaUpload] = []
        if errors.isEmpty {
            for upload in uploads {
                guard upload.file.bytes.count <= Photo.maximumBytes else {
                    errors.append(FieldError(field: "photos", message: t(request, "photos_size")))
                    break
                }
                guard let (kind, bytes) = Photo.stripped(upload.file.bytes) else {
                    errors.append(FieldError(field: "photos", message: t(request, "photos_type")))
                    break
                }
                cleaned.append(MediaUpload(contentType: kind.rawValue, bytes: bytes))
            }
        }
        if !errors.isEmpty {
            return try await descriptionForm(request, draft: draft, description: description, errors: errors, status: .badRequest)
        }
        for photo in cleaned {
            try await stores.media.store(photo, jurisdictionID: jurisdiction)
            photos.append(photo.id)
        }
        draft.data["photo"] = photos.isEmpty ? nil : photos
        draft.data["description"] = description.isEmpty ? nil : [description]
        try await stores.drafts.save(draft.id, data: draft.data, jurisdictionID: jurisdiction)
        return web.redirect("/report/\(draft.id)/contact")
    }

    // MARK: 6. contact

    func contactPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let identity = try await identity(request)
        return contactForm(request, draft: draft, identity: identity, values: [
            "name": draft.value("name") ?? "", "email": draft.value("email") ?? identity?.user?.email ?? "", "phone": draft.value("phone") ?? "",
        ])
    }

    func contactForm(
        _ request: Request, draft: Draft, identity: Identity?, values extra: [String: Any], errors: [FieldError] = [],
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var values = extra
        values["draft"] = draft.id
        values["back"] = "/report/\(draft.id)/description"
        let optional = t(request, "optional")
        values["nameLabel"] = t(request, "contact_name_label", ["optional": optional])
        values["emailLabel"] = t(request, "contact_email_label", ["optional": optional])
        values["phoneLabel"] = t(request, "contact_phone_label", ["optional": optional])
        if let user = identity?.user, user.kind == .resident {
            values["signedInAs"] = t(request, "contact_signed_in", ["email": user.email])
        }
        values["emailError"] = errors.first { $0.field == "email" }?.message ?? ""
        return web.page(
            "requests/report-contact", title: t(request, "contact_title"), request: request, identity: identity, values: values, status: status,
            errors: errors)
    }

    func contact(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        var draft = try await draft(context, request: request)
        let identity = try await identity(request)
        let fields = try await form(request, session: identity?.session)
        let name = (fields["name"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        let email = (fields["email"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        let phone = (fields["phone"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        var errors: [FieldError] = []
        if !email.isEmpty, !NewServiceRequest.isPlausibleEmail(email) {
            errors.append(FieldError(field: "email", message: t(request, "email_invalid")))
        }
        if name.unicodeScalars.count > 200 || phone.unicodeScalars.count > 50 {
            errors.append(FieldError(field: name.unicodeScalars.count > 200 ? "name" : "phone", message: t(request, "details_too_long")))
        }
        if !errors.isEmpty {
            return contactForm(
                request, draft: draft, identity: identity, values: ["name": name, "email": email, "phone": phone], errors: errors,
                status: .badRequest)
        }
        draft.data["name"] = name.isEmpty ? nil : [name]
        draft.data["email"] = email.isEmpty ? nil : [email]
        draft.data["phone"] = phone.isEmpty ? nil : [phone]
        try await stores.drafts.save(draft.id, data: draft.data, jurisdictionID: jurisdiction)
        return web.redirect("/report/\(draft.id)/check")
    }

    // MARK: 7. check and send

    func checkPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        return try await checkView(request, draft: draft)
    }

    func checkView(_ request: Request, draft: Draft, errors: [FieldError] = [], status: HTTPResponse.Status = .ok) async throws -> Response {
        let service = try await service(of: draft)
        var answers: [[String: Any]] = []
        for attribute in service.orderedAttributes where attribute.variable {
            let given = draft.data["attribute[\(attribute.code)]"] ?? []
            let shown = given.map { key in attribute.values.first { $0.key == key }?.name ?? key }
            answers.append([
                "label": attribute.description, "value": shown.isEmpty ? t(request, "check_none") : shown.joined(separator: ", "),
                "change": "/report/\(draft.id)/details",
            ])
        }
        let where_ =
            draft.value("address")
            ?? draft.coordinate.map { String(format: "%.5f, %.5f", $0.latitude, $0.longitude) } ?? t(request, "check_none")
        let contact = [draft.value("name"), draft.value("email"), draft.value("phone")].compactMap { $0 }
        let identity = try await identity(request)
        return web.page(
            "requests/report-check", title: t(request, "check_title"), request: request, identity: identity,
            values: [
                "draft": draft.id, "service": service.name, "answers": answers, "where": where_,
                "description": draft.value("description") ?? t(request, "check_none"),
                "photos": String((draft.data["photo"] ?? []).count),
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
