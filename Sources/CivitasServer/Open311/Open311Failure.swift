import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore

/// An Open311 error answer: the HTTP status and the descriptions for the `errors` list.
struct Open311Failure: Error {
    var status: HTTPResponse.Status
    var messages: [String]

    static func badRequest(_ message: String) -> Open311Failure { Open311Failure(status: .badRequest, messages: [message]) }

    init(status: HTTPResponse.Status, messages: [String]) {
        self.status = status
        self.messages = messages
    }

    init(_ error: CivitasError) {
        switch error.kind {
        case .invalid, .conflict, .unprocessable: status = .badRequest
        case .notFound: status = .notFound
        case .forbidden: status = .forbidden
        case .unavailable: status = .serviceUnavailable
        }
        messages = [error.message]
    }
}

/// The jurisdictions this install serves, and which one answers when a client names none.
struct JurisdictionDirectory: Sendable {
    let primary: Jurisdiction
    let all: [String: Jurisdiction]

    /// On a single-jurisdiction install `jurisdiction_id` is accepted and ignored; otherwise it picks one.
    func resolve(_ id: String?) throws(Open311Failure) -> Jurisdiction {
        guard all.count > 1, let id else { return primary }
        guard let found = all[id] else {
            throw Open311Failure(status: .notFound, messages: ["There is no jurisdiction with jurisdiction_id \(id)."])
        }
        return found
    }
}

extension Open311Failure {
    /// The failure as Open311 clients read it: an `errors` list, in the format the request asked for.
    func response(format: Open311Format) -> Response {
        let errors = messages.map { (code: Int(status.code), description: $0) }
        return Open311Mapping.errors(errors).response(root: "errors", status: status, format: format)
    }
}

extension Open311Node {
    /// The node as an answer in XML or JSON, readable from any origin (Open311 clients run in browsers too).
    func response(root: String, status: HTTPResponse.Status, format: Open311Format) -> Response {
        let text = format == .xml ? Open311Node.xml(root: root, self) : Open311Node.json(self)
        var headers = HTTPFields()
        headers[.contentType] = format.contentType
        headers[.accessControlAllowOrigin] = "*"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}
