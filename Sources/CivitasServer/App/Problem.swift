import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// An RFC 9457 problem: what went wrong, a stable machine code, and words for the person.
struct Problem: Error, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var detail: String
    var field: String?
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, code: String, detail: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.headers = headers
    }

    init(_ error: CivitasError) {
        let status: HTTPResponse.Status =
            switch error.kind {
            case .invalid: .badRequest
            case .notFound: .notFound
            case .forbidden: .forbidden
            case .conflict: .conflict
            case .unprocessable: .unprocessableContent
            case .unavailable: .serviceUnavailable
            }
        self.init(status, code: error.code, detail: error.message, field: error.field)
    }

    static func forbidden(_ reason: String) -> Problem {
        Problem(.forbidden, code: "forbidden", detail: "You are not allowed to do this (\(reason)).")
    }

    static func notFound(_ what: String) -> Problem {
        Problem(.notFound, code: "not_found", detail: "There is no \(what).")
    }

    static func unauthenticated(_ failure: Unauthenticated?) -> Problem {
        var challenge = "Bearer realm=\"civitas\""
        if let error = failure?.tokenError { challenge += ", error=\"\(error)\"" }
        return Problem(
            .unauthorized, code: failure?.code ?? "unauthenticated",
            detail: failure?.message ?? "Sign in, or send an access token as 'Authorization: Bearer TOKEN'.",
            headers: [.wwwAuthenticate: challenge])
    }

    static func rateLimited(retryAfter: Int) -> Problem {
        Problem(
            .tooManyRequests, code: "rate_limited",
            detail: "Too many requests; wait \(retryAfter) seconds and try again.",
            headers: [HTTPField.Name("Retry-After")!: String(retryAfter)])
    }

    var response: Response {
        var object: [String: Any] = [
            "type": "about:blank", "title": status.reasonPhrase, "status": Int(status.code), "code": code, "detail": detail,
        ]
        if let field { object["field"] = field }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        var fields = headers
        fields[.contentType] = "application/problem+json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Renders any error thrown by an API route as problem+json; unknown errors become a 500 without details.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return problem.response
        } catch let error as CivitasError {
            return Problem(error).response
        } catch let failure as Unauthenticated {
            return Problem.unauthenticated(failure).response
        } catch let error as any HTTPResponseError {
            if error.status == .contentTooLarge {
                return Problem(.contentTooLarge, code: "body_too_large", detail: "The request body is too large.").response
            }
            if error.status == .notFound {
                return Problem.notFound("such resource").response
            }
            return Problem(error.status, code: "http_error", detail: error.status.reasonPhrase).response
        } catch is NIOTooManyBytesError {
            return Problem(.contentTooLarge, code: "body_too_large", detail: "The request body is too large.").response
        } catch {
            var metadata: Logger.Metadata = ["error": "\(type(of: error))"]
            if let state = Database.sqlState(error) { metadata["sqlstate"] = "\(state)" }
            context.logger.error("unexpected error", metadata: metadata)
            return Problem(.internalServerError, code: "internal_error", detail: "Something went wrong on our side; try again.")
                .response
        }
    }
}
