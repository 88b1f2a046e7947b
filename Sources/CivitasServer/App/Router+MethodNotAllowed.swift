import CivitasCore
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

extension Router {
    /// Answers every method a path does not declare with 405, an `Allow` header listing the ones it does, and a
    /// problem+json body. Call once, after every route is added.
    /// Returns the routes the controllers declared (method and path), before the 405 answers were added.
    @discardableResult
    func addMethodNotAllowedRoutes() -> [(method: HTTPRequest.Method, path: String)] {
        let declaredRoutes = routes.map { (method: $0.method, path: $0.path.description) }
        var declared: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in routes {
            declared[route.path.description, default: (route.path, [])].methods.insert(route.method)
        }
        let candidates: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .trace]
        for (_, entry) in declared {
            var allowed = entry.methods
            if allowed.contains(.get) { allowed.insert(.head) }
            let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            if !allowed.contains(.options) {
                // OPTIONS says what the path allows (RFC 9110 §9.3.7).
                on(entry.path, method: .options) { _, _ -> Response in
                    Response(status: .noContent, headers: [.allow: allow])
                }
            }
            for method in candidates where !allowed.contains(method) {
                on(entry.path, method: method) { _, _ -> Response in
                    let body = """
                        {"type":"about:blank","title":"Method Not Allowed","status":405,"code":"method_not_allowed",\
                        "detail":"This address answers only \(allow)."}
                        """
                    return Response(
                        status: .methodNotAllowed,
                        headers: [.allow: allow, .contentType: "application/problem+json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
                }
            }
        }
        return declaredRoutes
    }
}

/// The router Civitas serves: Hummingbird's, plus HEAD answered by the GET route without its body (RFC 9110), and the
/// security headers on every answer.
public struct CivitasRouter: HTTPResponderBuilder {
    let router: Router<CivitasRequestContext>
    /// Every route a controller declared (the authorization test checks it covers them all).
    var declaredRoutes: [(method: HTTPRequest.Method, path: String)] = []
    /// Whether the site is served over HTTPS (then HSTS is sent).
    var tls = false
    /// The site's own page for a 404 or 500 a browser asked for (nil: the bare answer).
    var errorPage: (@Sendable (Request, HTTPResponse.Status) -> Response)?

    public func buildResponder() -> HeadAsGetResponder {
        HeadAsGetResponder(inner: router.buildResponder(), tls: tls, errorPage: errorPage)
    }
}

public struct HeadAsGetResponder: HTTPResponder {
    let inner: RouterResponder<CivitasRequestContext>
    let tls: Bool
    var errorPage: (@Sendable (Request, HTTPResponse.Status) -> Response)?
    static let routed: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options, .trace]

    /// Every answer, a route's or an error's (an unknown path, a refused method), leaves with the security headers.
    public func respond(to request: Request, context: CivitasRequestContext) async throws -> Response {
        var response: Response
        do {
            if let refusal = Self.refusal(of: request.uri) {
                response = refusal
            } else {
                response = try await route(request, context: context)
            }
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            response = Response(status: .internalServerError)
        }
        if let errorPage, Self.wantsPage(request, response) { response = errorPage(request, response.status) }
        SecurityHeaders.apply(to: &response, tls: tls)
        // After "too large" the rest of the body is not wanted: tell the client not to send this connection more.
        if response.status == .contentTooLarge { response.headers[.connection] = "close" }
        return response
    }

    /// Whether a 404 or 500 should be the site's own page: a browser (it accepts HTML) asked for a page (not the API,
    /// Open311, a file or a feed), and the route did not already answer with a page of its own.
    static func wantsPage(_ request: Request, _ response: Response) -> Bool {
        guard response.status == .notFound || response.status == .internalServerError,
            request.method == .get || request.method == .head || response.status == .internalServerError,
            request.headers[.accept]?.contains("text/html") == true,
            !(response.headers[.contentType]?.hasPrefix("text/html") ?? false)
        else { return false }
        let path = request.uri.path
        let machine = ["/api/", "/open311/", "/oauth/", "/assets/", "/media/", "/metrics", "/healthz", "/.well-known/"]
        return !machine.contains { path.hasPrefix($0) } && !path.hasSuffix(".json") && !path.hasSuffix(".xml")
    }

    /// An address whose path or query breaks `ExternalText`'s rule (a NUL, an escape that is not UTF-8) is refused
    /// here, before any route reads it, with a 400 in the format its part of the site speaks.
    static func refusal(of uri: HummingbirdCore.URI) -> Response? {
        let reason: String
        if case .failure(let refusal) = ExternalText.decode(Substring(uri.path), form: false) {
            reason = "The address's path \(refusal.reason)."
        } else if let query = uri.query, case .failure(let refusal) = ExternalText.decode(Substring(query), form: true) {
            reason = "The address's query \(refusal.reason)."
        } else {
            return nil
        }
        if uri.path.hasPrefix("/open311/") {
            return Open311Failure.badRequest(reason).response(format: uri.path.hasSuffix(".json") ? .json : .xml)
        }
        if uri.path.hasPrefix("/api/") {
            return Problem(.badRequest, code: "invalid_text", detail: reason).response
        }
        return Response(
            status: .badRequest, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: reason + "\n")))
    }

    func route(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        if !Self.routed.contains(request.method) {
            // A method no route can declare (QUERY, PROPFIND, ...) is routed as TRACE, which no route declares either:
            // 405 with `Allow` where the path exists, 404 where it does not.
            var head = request.head
            head.method = .trace
            return try await inner.respond(to: Request(head: head, body: request.body), context: context)
        }
        guard request.method == .head else { return try await inner.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        var response = try await inner.respond(to: Request(head: head, body: request.body), context: context)
        if let length = response.body.contentLength { response.headers[.contentLength] = String(length) }
        response.body = ResponseBody()
        return response
    }
}
