import HTTPTypes
import Hummingbird

/// Strict default headers on every answer Civitas gives, errors and unknown paths included; a route may set a looser
/// CSP of its own. Applied where every response passes (`HeadAsGetResponder`), not as route middleware, because
/// route middleware never sees a path that matches no route.
enum SecurityHeaders {
    static func apply(to response: inout Response, tls: Bool) {
        response.headers[.xContentTypeOptions] = "nosniff"
        // Nothing about our addresses leaves for another site; our own forms still say where they come from (with
        // `no-referrer` a browser sends `Origin: null` even for them, and the origin check must refuse null).
        response.headers[.referrerPolicy] = "same-origin"
        response.headers[.xFrameOptions] = "DENY"
        if response.headers[.contentSecurityPolicy] == nil {
            response.headers[.contentSecurityPolicy] = "default-src 'none'; frame-ancestors 'none'"
        }
        if tls { response.headers[.strictTransportSecurity] = "max-age=31536000; includeSubDomains" }
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
