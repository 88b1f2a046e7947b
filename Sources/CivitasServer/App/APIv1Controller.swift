import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The JSON REST API for staff and partner systems, `/api/v1`, described by `/api/v1/openapi.json`.
/// Every route authenticates, counts against the caller's rate limit, and asks `Permissions` before acting.
struct APIv1Controller: Sendable {
    let stores: Stores
    let configuration: AppConfiguration
    let auth: Authenticator
    let limiter: RateLimiter
    let openAPIDocument: ByteBuffer

    init(stores: Stores, configuration: AppConfiguration, auth: Authenticator, limiter: RateLimiter) throws {
        self.stores = stores
        self.configuration = configuration
        self.auth = auth
        self.limiter = limiter
        openAPIDocument = ByteBuffer(bytes: try OpenAPIDocument.assembled.get())
    }

    func addRoutes(to router: Router<CivitasRequestContext>) {
        let api = router.group("api/v1").add(middleware: ProblemMiddleware())
        api.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                body: ResponseBody(byteBuffer: openAPIDocument))
        }
        addIdentityRoutes(to: api)
        addRequestRoutes(to: api)
        addDuplicateRoutes(to: api)
        addFieldRoutes(to: api)
        addCaseRoutes(to: api)
    }

    // MARK: plumbing

    /// The caller's identity, counted against its rate limit; 401 when there is none.
    func authenticate(_ request: Request, context: CivitasRequestContext) async throws -> Identity {
        guard let identity = try await auth.identifyAPI(request), identity.actor != .anonymous else {
            throw Problem.unauthenticated(nil)
        }
        try await limiter.check("api:" + identity.actor.auditName, limit: configuration.security.apiPerMinute)
        return identity
    }

    func require(_ identity: Identity, _ permission: Permission, on target: PermissionTarget) throws {
        let decision = Permissions.decide(identity.actor, permission, on: target)
        guard decision.allowed else { throw Problem.forbidden(decision.reason) }
    }

    func origin(_ identity: Identity, _ request: Request, _ context: CivitasRequestContext) -> ChangeOrigin {
        ChangeOrigin(
            actor: identity.actor.auditName,
            source: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor))
    }

    func jsonBody(_ request: Request, context: CivitasRequestContext, upTo limit: Int = 1_000_000) async throws -> [String: JSONValue] {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw Problem(.unsupportedMediaType, code: "unsupported_media_type", detail: "Send the body as application/json.")
        }
        return try jsonObject(request, buffer: try await body(request, upTo: limit))
    }

    /// The body as read, or 413 past `limit` and 400 when its framing is broken.
    func body(_ request: Request, upTo limit: Int) async throws -> ByteBuffer {
        do {
            return try await RequestBody.collect(request, upTo: limit)
        } catch .tooLarge {
            throw Problem(.contentTooLarge, code: "body_too_large", detail: "The body can be at most \(max(1, limit / 1_000_000)) MB.")
        } catch .malformed {
            throw Problem(.badRequest, code: "malformed_body", detail: RequestBody.malformedText)
        }
    }

    /// A body already read, as a JSON object. Not JSON, not an object, or a string (a key too) that breaks
    /// `ExternalText`'s rule is refused with 400, naming where.
    func jsonObject(_ request: Request, buffer: ByteBuffer) throws -> [String: JSONValue] {
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            throw Problem(.unsupportedMediaType, code: "unsupported_media_type", detail: "Send the body as application/json.")
        }
        guard case .object(let object)? = try? JSONValue.parse(Data(buffer.readableBytesView)) else {
            throw Problem(.badRequest, code: "invalid_json", detail: "The body must be a JSON object.")
        }
        if let (path, reason) = ExternalText.firstProblem(in: .object(object)) {
            throw Problem(.badRequest, code: "invalid_text", detail: "\(path) \(reason).", field: path)
        }
        return object
    }

    func rejectUnknown(_ object: [String: JSONValue], allowed: Set<String>, prefix: String = "") throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            let name = unknown.isEmpty ? "\(prefix)(a field with an empty name)" : prefix + unknown
            throw Problem(.badRequest, code: "unknown_field", detail: "\(name) is not a field here.", field: name)
        }
    }

    /// The query string decoded as a form (`+` is a space); the first value of each name.
    static func query(_ request: Request) throws -> [String: String] {
        let pairs: [(String, String)]
        do {
            pairs = try FormBody.urlEncoded(request.uri.query ?? "")
        } catch {
            throw Problem(.badRequest, code: "invalid_text", detail: error.message)
        }
        var values: [String: String] = [:]
        for (name, value) in pairs where values[name] == nil { values[name] = value }
        return values
    }

    func dateParameter(_ parameters: [String: String], _ name: String) throws -> Date? {
        guard let text = parameters[name] else { return nil }
        guard let date = W3CDateTime.parse(text) else {
            throw Problem(
                .badRequest, code: "invalid_parameter", detail: "\(name) must be a date and time such as 2026-11-23T15:04:05Z.", field: name)
        }
        return date
    }

    func json(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

public func rfc3339(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
}

extension HTTPField.Name {
    /// Why a staff member or partner reads personal data; recorded in the audit chain.
    static let civitasPurpose = HTTPField.Name("Civitas-Purpose")!
}
