import Configuration
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CivitasServer

@Suite("Security headers on every answer, errors and unknown paths included")
struct SecurityHeadersTests {
    static let nosniff = HTTPField.Name("X-Content-Type-Options")!
    static let frame = HTTPField.Name("X-Frame-Options")!
    static let referrer = HTTPField.Name("Referrer-Policy")!

    static func expectStrict(_ response: TestResponse, _ what: String, hsts: Bool = false) {
        #expect(response.headers[nosniff] == "nosniff", "\(what): X-Content-Type-Options")
        #expect(response.headers[frame] == "DENY", "\(what): X-Frame-Options")
        #expect(response.headers[referrer] == "same-origin", "\(what): Referrer-Policy")
        #expect(response.headers[.contentSecurityPolicy] != nil, "\(what): Content-Security-Policy")
        #expect((response.headers[.strictTransportSecurity] != nil) == hsts, "\(what): Strict-Transport-Security")
    }

    @Test("unknown paths, missing assets, refused methods, API problems and pages all carry them")
    func everyAnswer() async throws {
        try await TestApp.with { _, client in
            let unknown = try await client.execute(uri: "/nonexistent", method: .get)
            #expect(unknown.status == .notFound)
            Self.expectStrict(unknown, "/nonexistent")
            let asset = try await client.execute(uri: "/assets/nope.css", method: .get)
            #expect(asset.status == .notFound)
            Self.expectStrict(asset, "/assets/nope.css")
            let head = try await client.execute(uri: "/nonexistent", method: .head)
            Self.expectStrict(head, "HEAD /nonexistent")
            let refused = try await client.execute(uri: "/api/v1/service-requests", method: .put)
            #expect(refused.status == .methodNotAllowed)
            Self.expectStrict(refused, "PUT /api/v1/service-requests")
            let problem = try await client.execute(uri: "/api/v1/service-requests", method: .get)
            #expect(problem.status == .unauthorized)
            Self.expectStrict(problem, "GET /api/v1/service-requests without credentials")
            let page = try await client.execute(uri: "/report", method: .get)
            #expect(page.status == .ok)
            Self.expectStrict(page, "/report")
        }
    }

    @Test("served over HTTPS, every answer also carries HSTS, unknown paths included")
    func hsts() async throws {
        try await TestApp.with(config: ["http.publicURL": .init(.string("https://311.city.example"), isSecret: false)]) { _, client in
            Self.expectStrict(try await client.execute(uri: "/nonexistent", method: .get), "/nonexistent", hsts: true)
            Self.expectStrict(try await client.execute(uri: "/open311/v2/services.json", method: .get), "services.json", hsts: true)
        }
    }
}
