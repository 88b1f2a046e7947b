import HTTPTypes
import Hummingbird
import NIOCore

extension Router {
    /// Answers every method a path does not declare with 405, an `Allow` header listing the ones it does, and a
    /// problem+json body. Call once, after every route is added.
    func addMethodNotAllowedRoutes() {
        var declared: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in routes {
            declared[route.path.description, default: (route.path, [])].methods.insert(route.method)
        }
        let candidates: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
        for (_, entry) in declared {
            var allowed = entry.methods
            if allowed.contains(.get) { allowed.insert(.head) }
            let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
            for method in candidates where !allowed.contains(method) {
                on(entry.path, method: method) { request, _ -> Response in
                    let body = """
                        {"type":"about:blank","title":"Method Not Allowed","status":405,"code":"method_not_allowed",\
                        "detail":"\(request.method.rawValue) is not allowed here; use \(allow)."}
                        """
                    return Response(
                        status: .methodNotAllowed,
                        headers: [.allow: allow, .contentType: "application/problem+json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
                }
            }
        }
    }
}

/// The router Civitas serves: Hummingbird's, plus HEAD answered by the GET route without its body (RFC 9110).
public struct CivitasRouter: HTTPResponderBuilder {
    let router: Router<CivitasRequestContext>

    public func buildResponder() -> HeadAsGetResponder {
        HeadAsGetResponder(inner: router.buildResponder())
    }
}

public struct HeadAsGetResponder: HTTPResponder {
    let inner: RouterResponder<CivitasRequestContext>

    public func respond(to request: Request, context: CivitasRequestContext) async throws -> Response {
        guard request.method == .head else { return try await inner.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        var response = try await inner.respond(to: Request(head: head, body: request.body), context: context)
        if let length = response.body.contentLength { response.headers[.contentLength] = String(length) }
        response.body = ResponseBody()
        return response
    }
}
