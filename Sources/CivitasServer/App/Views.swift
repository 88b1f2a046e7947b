import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import Mustache
import NIOCore

/// A failure on a page, shown as a page (not JSON) with its status.
struct WebFailure: Error {
    var status: HTTPResponse.Status
    var title: String
    var message: String
}

struct WebFailureMiddleware: RouterMiddleware {
    let controller: Web

    func handle(
        _ request: Request, context: CivitasRequestContext, next: (Request, CivitasRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let failure as WebFailure {
            return controller.page(
                "app/message", title: failure.title, request: request, identity: nil, values: ["paragraphs": [failure.message]],
                status: failure.status)
        }
    }
}

/// The page templates, loaded once at start.
struct Views: Sendable {
    let library: MustacheLibrary

    /// Where the templates are in the build.
    static var folder: URL? { Bundle.module.url(forResource: "templates", withExtension: nil, subdirectory: "Resources") }

    static func load() async throws -> Views {
        guard let url = folder else {
            throw CivitasError(.unavailable, code: "templates_missing", message: "The page templates are missing from the build.")
        }
        return Views(library: try await MustacheLibrary(directory: url.path))
    }

    func render(_ template: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: template) ?? "<!doctype html><title>Error</title><p>Page template \(template) is missing.</p>"
    }
}
