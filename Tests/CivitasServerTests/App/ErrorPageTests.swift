import CivitasCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import CivitasServer

@Suite("Branded error pages with a way on, for browsers; bare answers for machines")
struct ErrorPageTests {
    static let html: HTTPFields = [.accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"]

    @Test("an address that leads nowhere gets the site's own 404 page, in the reader's language, with the ways on")
    func notFound() async throws {
        try await TestApp.with { _, client in
            let page = try await client.execute(uri: "/no-such-page", method: .get, headers: Self.html)
            #expect(page.status == .notFound)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(page.text.contains("Page not found") && page.text.contains("Test City"))
            for way in [#"href="/""#, #"href="/report""#, #"href="/find""#] { #expect(page.text.contains(way), "\(way)") }
            SecurityHeadersTests.expectStrict(page, "the 404 page")
            let spanish = try await client.execute(uri: "/no-such-page?lang=es", method: .get, headers: Self.html)
            #expect(spanish.status == .notFound && spanish.text.contains("No encontramos la página"))
            // A request reference that does not exist keeps its own page (it offers to search again).
            let request = try await client.execute(uri: "/requests/999999", method: .get, headers: Self.html)
            #expect(request.status == .notFound && !request.text.contains("Page not found"))

            // Machines get what they asked for.
            let api = try await client.execute(uri: "/api/v1/nothing-here", method: .get, headers: Self.html)
            #expect(api.status == .notFound && api.headers[.contentType]?.hasPrefix("text/html") != true)
            let asset = try await client.execute(uri: "/assets/nope.css", method: .get, headers: Self.html)
            #expect(asset.status == .notFound && !asset.text.contains("Page not found"))
            let curl = try await client.execute(uri: "/no-such-page", method: .get, headers: [.accept: "*/*"])
            #expect(curl.status == .notFound && !curl.text.contains("<html"))
        }
    }

    @Test("a failure on our side is the site's own 500 page for a browser, and stays bare for the API")
    func serverError() async throws {
        struct Broken: Error {}
        let router = Router(context: CivitasRequestContext.self)
        router.get("boom") { _, _ -> Response in throw Broken() }
        router.get("api/boom") { _, _ -> Response in throw Broken() }
        let site = CivitasRouter(
            router: router,
            errorPage: { _, status in
                Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: .init(string: "our page")))
            })
        try await Application(responder: site.buildResponder()).test(.router) { client in
            let page = try await client.execute(uri: "/boom", method: .get, headers: Self.html)
            #expect(page.status == .internalServerError && page.text == "our page")
            SecurityHeadersTests.expectStrict(page, "the 500 page")
            let api = try await client.execute(uri: "/api/boom", method: .get, headers: Self.html)
            #expect(api.status == .internalServerError && api.text != "our page")
        }
    }
}
