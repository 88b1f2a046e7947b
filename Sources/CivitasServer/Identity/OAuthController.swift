import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// OAuth 2.0 client credentials (RFC 6749 §4.4): a partner system trades its id and secret for a short-lived,
/// signed access token carrying its scopes, jurisdiction and departments.
struct OAuthController: Sendable {
    let stores: Stores
    let configuration: AppConfiguration
    let auth: Authenticator
    let limiter: RateLimiter

    func addRoutes(to router: Router<CivitasRequestContext>) {
        router.post("oauth/token", use: token)
    }

    func token(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let address = clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor)
        if let wait = try await limiter.exceeded("oauth:ip:" + address, limit: configuration.security.signInPerMinute * 3) {
            var response = failure(.tooManyRequests, "slow_down", "Too many token requests; wait \(wait) seconds.")
            response.headers[HTTPField.Name("Retry-After")!] = String(wait)
            return response
        }
        let type = request.headers[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/x-www-form-urlencoded" else {
            return failure(.badRequest, "invalid_request", "Send the token request as application/x-www-form-urlencoded.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await RequestBody.collect(request, upTo: 16_384)
        } catch {
            return failure(.badRequest, "invalid_request", error == .malformed ? RequestBody.malformedText : "The token request is too large.")
        }
        var form: [String: String] = [:]
        let pairs: [(String, String)]
        do {
            pairs = try FormBody.urlEncoded(String(buffer: buffer))
        } catch {
            return failure(.badRequest, "invalid_request", error.message)
        }
        for (name, value) in pairs {
            guard form[name] == nil else {
                return failure(.badRequest, "invalid_request", "\(name) was given more than once.")
            }
            form[name] = value
        }
        var clientID = form["client_id"]
        var secret = form["client_secret"]
        var usedBasic = false
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("basic ") {
            usedBasic = true
            guard let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
                let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
            else { return invalidClient(basic: true) }
            // RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
            clientID = String(text[..<colon]).removingPercentEncoding
            secret = String(text[text.index(after: colon)...]).removingPercentEncoding
        }
        guard form["grant_type"] == "client_credentials" else {
            if form["grant_type"] == nil {
                return failure(.badRequest, "invalid_request", "grant_type is required; use client_credentials.")
            }
            return failure(.badRequest, "unsupported_grant_type", "Only the client_credentials grant is supported.")
        }
        guard let clientID, let secret, !clientID.isEmpty, clientID.count <= 100, secret.count <= 200,
            let client = try await stores.credentials.authenticateClient(id: clientID, secret: secret)
        else { return invalidClient(basic: usedBasic) }
        var scopes = client.scopes
        if let requested = form["scope"], !requested.isEmpty {
            guard let parsed = try? Scope.parseList(requested), Set(parsed).isSubset(of: Set(client.scopes)) else {
                return failure(.badRequest, "invalid_scope", "The client may ask only for: \(client.scopes.map(\.rawValue).joined(separator: " ")).")
            }
            scopes = parsed
        }
        let token = try await auth.issueAccessToken(for: client, scopes: scopes)
        return json(
            [
                "access_token": token, "token_type": "Bearer",
                "expires_in": Int(configuration.security.accessTokenLifetime),
                "scope": scopes.map(\.rawValue).joined(separator: " "),
            ], status: .ok)
    }

    func invalidClient(basic: Bool) -> Response {
        var response = failure(.unauthorized, "invalid_client", "The client id or secret is wrong, or the client was revoked.")
        response.headers[.wwwAuthenticate] = "Basic realm=\"civitas\""
        return response
    }

    /// RFC 6749 §5.2 error response.
    func failure(_ status: HTTPResponse.Status, _ error: String, _ description: String) -> Response {
        json(["error": error, "error_description": description], status: status)
    }

    func json(_ object: [String: Any], status: HTTPResponse.Status) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Response(
            status: status,
            headers: [.contentType: "application/json", .cacheControl: "no-store", HTTPField.Name("Pragma")!: "no-cache"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
