import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import JWTKit

/// The claims of a partner's access token.
struct AccessTokenClaims: JWTPayload {
    var iss: IssuerClaim
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    var scope: String
    /// The jurisdiction the token is bound to.
    var jur: String
    /// The departments it reaches (`*` for all).
    var dept: [String]

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try aud.verifyIntendedAudience(includes: "civitas-api")
    }
}

/// Who sent a request, and how they proved it.
struct Identity: Sendable {
    var actor: Actor
    /// The browser session, when the request came with a session cookie.
    var session: Session?
    /// The account behind a session or a personal token.
    var user: User?
    /// A staff member who signed in with a password but has not yet given the second factor.
    var awaitingSecondFactor: Bool { session != nil && user?.kind == .staff && session?.secondFactorAt == nil }
}

/// An authentication failure for the API: 401 with the RFC 6750 `WWW-Authenticate` challenge.
struct Unauthenticated: Error {
    var code: String
    var message: String
    var tokenError: String?
}

/// Turns cookies and bearer tokens into actors. Every instance reads the same database and signing secret,
/// so any instance can authenticate any request.
struct Authenticator: Sendable {
    static let sessionCookie = "civitas_session"

    let stores: Stores
    let configuration: AppConfiguration
    let keys: JWTKeyCollection
    let clients: TTLCache<String, OAuthClient>

    static func make(stores: Stores, configuration: AppConfiguration) async throws -> Authenticator {
        let secret = try await stores.credentials.signingSecret()
        let keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: "civitas-hs256")
        return Authenticator(
            stores: stores, configuration: configuration, keys: keys, clients: TTLCache(ttl: configuration.cacheTTL))
    }

    /// Signs an access token for a partner client.
    func issueAccessToken(for client: OAuthClient, scopes: [Scope], now: Date = Date()) async throws -> String {
        let claims = AccessTokenClaims(
            iss: IssuerClaim(value: configuration.publicURL), sub: SubjectClaim(value: client.id),
            aud: AudienceClaim(value: "civitas-api"),
            exp: ExpirationClaim(value: now.addingTimeInterval(configuration.security.accessTokenLifetime)),
            iat: IssuedAtClaim(value: now), jti: IDClaim(value: SecureRandom.token(bytes: 12)),
            scope: scopes.map(\.rawValue).joined(separator: " "), jur: client.jurisdictionID, dept: client.departments.names)
        return try await keys.sign(claims, kid: "civitas-hs256")
    }

    /// The identity of an API request: a bearer token, or (for reads only) a session cookie. Nil when it carries neither.
    func identifyAPI(_ request: Request) async throws -> Identity? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw Unauthenticated(code: "auth_scheme", message: "Send the token as 'Authorization: Bearer TOKEN'.", tokenError: "invalid_request")
            }
            return try await identifyBearer(String(parts[1]).trimmingCharacters(in: .whitespaces))
        }
        if request.method == .get || request.method == .head, let identity = try await identifySession(request) {
            return identity.awaitingSecondFactor ? nil : identity
        }
        return nil
    }

    func identifyBearer(_ token: String, now: Date = Date()) async throws -> Identity {
        if token.hasPrefix("civp_") {
            guard let personal = try await stores.credentials.personalToken(token, now: now),
                let user = try await stores.users.find(id: personal.userID), !user.disabled, user.kind == .staff,
                let role = user.role
            else {
                throw Unauthenticated(
                    code: "token_invalid", message: "The token is not valid, has expired or was revoked.", tokenError: "invalid_token")
            }
            return Identity(
                actor: .staff(
                    userID: user.id, jurisdictionID: user.jurisdictionID, role: role, departments: user.departments,
                    scopes: Set(personal.scopes)),
                session: nil, user: user)
        }
        let claims: AccessTokenClaims
        do {
            claims = try await keys.verify(token, as: AccessTokenClaims.self)
        } catch {
            throw Unauthenticated(
                code: "token_invalid", message: "The access token is not valid or has expired; get a new one from /oauth/token.",
                tokenError: "invalid_token")
        }
        // A revoked client's tokens stop working at once, not when they expire.
        let client = try await clients.value(claims.sub.value) { try await stores.credentials.client(id: claims.sub.value) }
        guard let client, !client.revoked, client.jurisdictionID == claims.jur else {
            throw Unauthenticated(code: "client_revoked", message: "The client behind this token was revoked.", tokenError: "invalid_token")
        }
        let scopes = Set(claims.scope.split(separator: " ").compactMap { Scope(rawValue: String($0)) })
        let departments: DepartmentScope = claims.dept == ["*"] ? .all : .only(Set(claims.dept))
        return Identity(
            actor: .partner(clientID: client.id, jurisdictionID: client.jurisdictionID, scopes: scopes, departments: departments),
            session: nil, user: nil)
    }

    /// The identity behind a session cookie, if it names a live session of an active account.
    func identifySession(_ request: Request) async throws -> Identity? {
        guard let cookie = request.cookies[Self.sessionCookie]?.value, !cookie.isEmpty, cookie.count <= 128,
            let session = try await stores.sessions.find(cookie: cookie, idle: configuration.security.sessionIdle),
            let user = try await stores.users.find(id: session.userID), !user.disabled,
            // This site's pages belong to its jurisdiction: another jurisdiction's session does not sign in here.
            user.jurisdictionID == configuration.jurisdiction.id
        else { return nil }
        switch user.kind {
        case .resident:
            return Identity(actor: .resident(userID: user.id, jurisdictionID: user.jurisdictionID), session: session, user: user)
        case .staff:
            guard let role = user.role, session.secondFactorAt != nil else {
                return Identity(actor: .anonymous, session: session, user: user)
            }
            return Identity(
                actor: .staff(userID: user.id, jurisdictionID: user.jurisdictionID, role: role, departments: user.departments, scopes: nil),
                session: session, user: user)
        }
    }
}

/// The client's address, for the audit chain and per-address limits; from X-Forwarded-For only when configured.
func clientAddress(_ request: Request, context: CivitasRequestContext, trustForwardedFor: Bool) -> String {
    clientAddress(request, remote: context.remoteAddress, trustForwardedFor: trustForwardedFor)
}

func clientAddress(_ request: Request, remote: String?, trustForwardedFor: Bool) -> String {
    if trustForwardedFor, let forwarded = request.headers[HTTPField.Name("X-Forwarded-For")!] {
        if let first = forwarded.split(separator: ",").first {
            return first.trimmingCharacters(in: .whitespaces)
        }
    }
    return remote ?? "unknown"
}

/// A request context that knows the peer's address.
public protocol ClientAddressed {
    var remoteAddress: String? { get }
}

extension CivitasRequestContext: ClientAddressed {}
