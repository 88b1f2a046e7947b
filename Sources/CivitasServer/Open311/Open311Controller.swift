import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore

/// Open311 GeoReport v2 at `/open311/v2`: discovery, the service catalog, and service requests, in XML and JSON.
struct Open311Controller<Context: RequestContext & ClientAddressed>: Sendable {
    let stores: Stores
    let configuration: AppConfiguration
    let jurisdictions: JurisdictionDirectory
    let startedAt: Date
    let createdCounter = Counter(label: "civitas_service_requests_created_total", dimensions: [("channel", "open311")])
    let apiKeys: TTLCache<String, APIKey>
    let services: TTLCache<String, ServiceDefinition>
    let requests: TTLCache<String, ServiceRequest>
    let limiter: RateLimiter

    init(
        stores: Stores, configuration: AppConfiguration, jurisdictions: JurisdictionDirectory, startedAt: Date, limiter: RateLimiter
    ) {
        self.stores = stores
        self.configuration = configuration
        self.jurisdictions = jurisdictions
        self.startedAt = startedAt
        apiKeys = TTLCache(ttl: configuration.cacheTTL)
        services = TTLCache(ttl: configuration.cacheTTL)
        requests = TTLCache(ttl: configuration.cacheTTL)
        self.limiter = limiter
    }

    /// Requests over a longer range than this are refused, as the spec says.
    static var maximumRange: TimeInterval { 90 * 86_400 }

    func addRoutes(to router: Router<Context>) {
        let group = router.group("open311/v2")
        group.get(":document") { request, context in
            await respond(to: request, file: context.parameters.get("document") ?? "") { name, format in
                switch name {
                case "discovery": return discovery()
                case "services": return try await serviceList(request)
                case "requests": return try await requestList(request)
                default: throw notFound("There is no Open311 resource called \(name).")
                }
            }
        }
        // Discovery also answers at the API root, which the spec's discovery URL names.
        router.get("open311/:document") { request, context in
            await respond(to: request, file: context.parameters.get("document") ?? "") { name, _ in
                guard name == "discovery" else { throw notFound("There is no Open311 resource called \(name).") }
                return discovery()
            }
        }
        group.post(":document") { request, context in
            await respond(to: request, file: context.parameters.get("document") ?? "") { name, format in
                guard name == "requests" else { throw notFound("Only requests.xml and requests.json accept POST.") }
                return try await submit(request, context: context)
            }
        }
        // The router does not fall back from `services/...` to `:document`, so the bare names answer here.
        for name in ["services", "requests", "tokens"] {
            group.get(RouterPath(name)) { request, _ in await respond(to: request, file: name) { _, _ in throw Self.noFormat } }
            group.post(RouterPath(name)) { request, _ in await respond(to: request, file: name) { _, _ in throw Self.noFormat } }
        }
        group.get("services/:file") { request, context in
            await respond(to: request, file: context.parameters.get("file") ?? "") { code, _ in
                try await serviceDefinition(code: code, request)
            }
        }
        group.get("requests/:file") { request, context in
            await respond(to: request, file: context.parameters.get("file") ?? "") { id, _ in
                try await singleRequest(id: id, request)
            }
        }
        group.get("tokens/:file") { request, context in
            await respond(to: request, file: context.parameters.get("file") ?? "") { token, _ in
                try await tokenLookup(token, request)
            }
        }
    }

    // MARK: Resources

    private func discovery() -> Reply {
        let changeset = W3CDateTime.format(startedAt)
        let contact = "\(jurisdictions.primary.name) 311 service; this endpoint is run by Civitas."
        return Reply(
            root: "discovery",
            Open311Mapping.discovery(baseURL: configuration.publicURL + "/open311/v2", changeset: changeset, contact: contact))
    }

    private func serviceList(_ request: Request) async throws -> Reply {
        let (parameters, jurisdiction) = try query(request)
        let services = try await stores.services.all(jurisdictionID: jurisdiction.id)
        return Reply(root: "services", Open311Mapping.services(services))
    }

    private func serviceDefinition(code: String, _ request: Request) async throws -> Reply {
        let (parameters, jurisdiction) = try query(request)
        guard let service = try await service(code, jurisdiction: jurisdiction) else {
            throw notFound("There is no service with service_code \(code).")
        }
        return Reply(root: "service_definition", Open311Mapping.definition(service))
    }

    private func singleRequest(id text: String, _ request: Request) async throws -> Reply {
        let (parameters, jurisdiction) = try query(request)
        guard let id = Int64(text), id > 0,
            let found = try await requests.value(
                jurisdiction.id + "\u{0}" + text,
                load: {
                    try await stores.requests.find(id: id, jurisdictionID: jurisdiction.id, includePrivate: false)
                })
        else {
            throw notFound("There is no service request with service_request_id \(text).")
        }
        return Reply(root: "service_requests", Open311Mapping.requests([found], timeZone: jurisdiction.timeZone))
    }

    private func tokenLookup(_ token: String, _ request: Request) async throws -> Reply {
        let (parameters, jurisdiction) = try query(request)
        guard let found = try await stores.requests.token(token, jurisdictionID: jurisdiction.id) else {
            throw notFound("There is no request token \(token).")
        }
        return Reply(
            root: "service_requests",
            Open311Mapping.token(found))
    }

    private func requestList(_ request: Request) async throws -> Reply {
        let (parameters, jurisdiction) = try query(request)
        var query = ServiceRequestQuery(jurisdictionID: jurisdiction.id)
        query.includePrivate = false
        let ids = parameters.list("service_request_id")
        for (name, list) in [("service_request_id", ids), ("service_code", parameters.list("service_code"))] where list.count > 1000 {
            throw Open311Failure.badRequest("\(name) may list at most 1000 values.")
        }
        if !ids.isEmpty {
            // service_request_id overrides every other argument, as the spec says.
            query.ids = ids.compactMap { Int64($0) }
            query.limit = 1000
        } else {
            query.serviceCodes = parameters.list("service_code")
            query.statuses = try parameters.list("status").map { text in
                guard let status = RequestStatus(rawValue: text.lowercased()) else {
                    throw Open311Failure.badRequest("status must be open, closed, or both separated by a comma; \"\(text)\" is neither.")
                }
                return status
            }
            let start = try date(parameters, "start_date", zone: jurisdiction.timeZone)
            let end = try date(parameters, "end_date", zone: jurisdiction.timeZone)
            switch (start, end) {
            case (let start?, let end?):
                guard end >= start else { throw Open311Failure.badRequest("end_date must not be before start_date.") }
                guard end.timeIntervalSince(start) <= Self.maximumRange else {
                    throw Open311Failure.badRequest("start_date and end_date may be at most 90 days apart.")
                }
                query.requestedFrom = start
                query.requestedTo = end
            case (let start?, nil):
                query.requestedFrom = start
                query.requestedTo = start.addingTimeInterval(Self.maximumRange)
            case (nil, let end?):
                query.requestedFrom = end.addingTimeInterval(-Self.maximumRange)
                query.requestedTo = end
            case (nil, nil):
                let now = Date()
                query.requestedFrom = now.addingTimeInterval(-Self.maximumRange)
            }
            let pageSize = try integer(parameters, "page_size", default: 1000, range: 1...1000)
            let page = try integer(parameters, "page", default: 1, range: 1...1_000_000)
            query.limit = pageSize
            query.offset = (page - 1) * pageSize
        }
        let found = try await stores.requests.search(query)
        return Reply(root: "service_requests", Open311Mapping.requests(found, timeZone: jurisdiction.timeZone))
    }

    private func submit(_ request: Request, context: Context) async throws -> Reply {
        let address = clientAddress(request, remote: context.remoteAddress, trustForwardedFor: configuration.security.trustForwardedFor)
        if let wait = try await limiter.exceeded("open311:ip:" + address, limit: configuration.security.open311PostPerMinute) {
            throw Open311Failure(
                status: .tooManyRequests, messages: ["Too many requests from this address; wait \(wait) seconds and try again."])
        }
        let body: ByteBuffer
        do {
            body = try await RequestBody.collect(request, upTo: configuration.maxBodySize)
        } catch .malformed {
            throw Open311Failure.badRequest(RequestBody.malformedText)
        } catch .tooLarge {
            throw Open311Failure(
                status: .contentTooLarge,
                messages: ["The request is larger than \(configuration.maxBodySize / 1024) KB; send a smaller photo."])
        }
        let form: FormBody
        do {
            form = try FormBody.parse(contentType: request.headers[.contentType], body: body)
        } catch FormBody.Failure.malformed(let message) {
            throw Open311Failure.badRequest(message)
        }
        let queryPairs = try Self.queryPairs(request)
        let pairs = form.fields + queryPairs
        // Aliases real clients send: open311_java's `address`, FixMyStreet's `deviceid`.
        let aliases = pairs.compactMap { name, value -> (String, String)? in
            switch name {
            case "address": return ("address_string", value)
            case "deviceid": return ("device_id", value)
            default: return nil
            }
        }
        let parameters = Open311Parameters(pairs + aliases)

        guard let key = parameters["api_key"] else {
            throw Open311Failure(status: .forbidden, messages: ["api_key was not provided; ask the city for an API key."])
        }
        let jurisdiction = try jurisdictions.resolve(parameters["jurisdiction_id"])
        let verified = try await apiKeys.value(jurisdiction.id + "\u{0}" + key) {
            try await stores.apiKeys.verify(key, jurisdictionID: jurisdiction.id)
        }
        guard verified != nil else {
            throw Open311Failure(status: .forbidden, messages: ["The api_key is not valid, or has been revoked."])
        }
        guard let code = parameters["service_code"] else {
            throw Open311Failure.badRequest("service_code was not provided.")
        }
        guard let service = try await service(code, jurisdiction: jurisdiction) else {
            throw notFound("There is no service with service_code \(code).")
        }

        var upload: MediaUpload?
        if let file = form.files["media"] {
            guard let type = FileSignature.imageType(of: file.bytes) else {
                throw Open311Failure.badRequest("media must be a JPEG, PNG, GIF or WebP image.")
            }
            upload = MediaUpload(contentType: type, bytes: file.bytes)
        }
        let mediaURL = upload.map { "\(configuration.publicURL)/media/\($0.id)" }
        let new: NewServiceRequest
        switch NewServiceRequest.validate(parameters, service: service, mediaURL: mediaURL) {
        case .success(let valid): new = valid
        case .failure(let failures): throw Open311Failure(status: .badRequest, messages: failures.errors.map(\.message))
        }

        switch service.type {
        case .batch:
            let token = try await stores.requests.enqueue(new, jurisdictionID: jurisdiction.id, media: upload)
            return Reply(
                root: "service_requests",
                Open311Mapping.created(id: nil, token: token, notice: service.notice, accountID: new.reporter.accountID))
        case .realtime, .blackbox:
            let created = try await stores.requests.create(
                new, service: service, jurisdictionID: jurisdiction.id, source: "open311", media: upload,
                actor: verified.map { "apikey:\($0.id)" }, origin: address)
            createdCounter.increment()
            return Reply(
                root: "service_requests",
                Open311Mapping.created(
                    id: service.type == .realtime ? created.id : nil, token: nil, notice: service.notice,
                    accountID: new.reporter.accountID))
        }
    }

    // MARK: Plumbing

    private func service(_ code: String, jurisdiction: Jurisdiction) async throws -> ServiceDefinition? {
        try await services.value(jurisdiction.id + "\u{0}" + code) {
            try await stores.services.find(code: code, jurisdictionID: jurisdiction.id)
        }
    }

    static var noFormat: Open311Failure {
        Open311Failure(status: .notFound, messages: ["Open311 answers in .xml or .json: add one of them to the path."])
    }

    struct Reply {
        var root: String
        var node: Open311Node
        init(root: String, _ node: Open311Node) {
            self.root = root
            self.node = node
        }
    }

    /// Works out the format from the extension, runs `body`, and renders its reply or its error in that format.
    private func respond(
        to request: Request, file: String, _ body: (String, Open311Format) async throws -> Reply
    ) async -> Response {
        // Router parameters arrive still percent-encoded (`Pot%20hole.xml`).
        let (name, format) = Open311Format.split(file.removingPercentEncoding ?? file)
        guard let format else {
            return render(
                Open311Failure(status: .notFound, messages: ["Open311 answers in .xml or .json; \(file) has neither extension."]),
                format: .xml)
        }
        do {
            let reply = try await body(name, format)
            return render(root: reply.root, reply.node, status: .ok, format: format)
        } catch let failure as Open311Failure {
            return render(failure, format: format)
        } catch let error as CivitasError {
            return render(Open311Failure(error), format: format)
        } catch {
            Logger(label: "civitas.open311").error(
                "open311 request failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return render(
                Open311Failure(status: .internalServerError, messages: ["Something went wrong on our side; please try again."]),
                format: format)
        }
    }

    private func render(_ failure: Open311Failure, format: Open311Format) -> Response {
        failure.response(format: format)
    }

    private func render(root: String, _ node: Open311Node, status: HTTPResponse.Status, format: Open311Format) -> Response {
        node.response(root: root, status: status, format: format)
    }

    /// The query string's parameters; one that breaks `ExternalText`'s rule is a 400 in the Open311 error format.
    private static func queryPairs(_ request: Request) throws(Open311Failure) -> [(String, String)] {
        do {
            return try FormBody.urlEncoded(request.uri.query ?? "")
        } catch {
            throw Open311Failure.badRequest(error.message)
        }
    }

    /// A GET's query parameters and the jurisdiction they name (or the install's own).
    private func query(_ request: Request) throws(Open311Failure) -> (Open311Parameters, Jurisdiction) {
        let parameters = Open311Parameters(try Self.queryPairs(request))
        return (parameters, try jurisdictions.resolve(parameters["jurisdiction_id"]))
    }

    private func notFound(_ message: String) -> Open311Failure { Open311Failure(status: .notFound, messages: [message]) }

    private func date(_ parameters: Open311Parameters, _ name: String, zone: TimeZone) throws -> Date? {
        guard let text = parameters[name] else { return nil }
        guard let date = W3CDateTime.parse(text, defaultZone: zone) else {
            throw Open311Failure.badRequest("\(name) must be a date and time such as 2026-11-23T00:00:00Z; \"\(text)\" is not.")
        }
        return date
    }

    private func integer(_ parameters: Open311Parameters, _ name: String, default value: Int, range: ClosedRange<Int>) throws
        -> Int
    {
        guard let text = parameters[name] else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw Open311Failure.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound).")
        }
        return number
    }
}
