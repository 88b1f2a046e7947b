import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CivitasServer

/// What the JSON API refuses, and how: each case is one the OpenAPI document calls invalid, so a client that
/// follows the document is never surprised (schemathesis checks the same from the outside).
@Suite("API v1: input the document calls invalid is refused with problem+json")
struct APIv1InputTests {
    /// A partner with both scopes, through /oauth/token.
    static func partner(_ app: TestApp, _ client: any TestClientProtocol) async throws -> String {
        let (registered, secret) = try await app.stores.credentials.createClient(
            name: "input tests", scopes: [.requestsRead, .requestsWrite], departments: .all, jurisdictionID: "test.city",
            actor: "test")
        let response = try await client.execute(
            uri: "/oauth/token", method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", .authorization: basic(registered.id, secret)],
            body: ByteBuffer(string: "grant_type=client_credentials"))
        let object = try #require(try response.json() as? [String: Any])
        return try #require(object["access_token"] as? String)
    }

    static func post(_ client: any TestClientProtocol, _ token: String, _ body: String) async throws -> (HTTPResponse.Status, [String: Any]) {
        let response = try await client.execute(
            uri: "/api/v1/service-requests", method: .post,
            headers: [.authorization: "Bearer \(token)", .contentType: "application/json"], body: ByteBuffer(string: body))
        if response.status != .created {
            #expect(response.headers[.contentType] == "application/problem+json")
        }
        return (response.status, (try? response.json() as? [String: Any]) ?? [:])
    }

    static let located = #""service_code": "POTHOLE", "lat": 39.29, "long": -76.61, "attributes": {"SIZE": "large"}"#

    @Test(
        "null is refused where the document allows no null, naming the field",
        arguments: [
            (#"{\#(located), "description": null}"#, "description"),
            (#"{\#(located), "zipcode": null}"#, "zipcode"),
            (#"{\#(located), "reporter": null}"#, "reporter"),
            (#"{\#(located), "reporter": {"email": "ana@example.org", "phone": null}}"#, "reporter.phone"),
            (#"{"service_code": "POTHOLE", "lat": null, "long": null, "address": "1 Main St", "attributes": {"SIZE": "large"}}"#, "lat"),
        ])
    func nulls(body: String, field: String) async throws {
        try await TestApp.with { app, client in
            let token = try await Self.partner(app, client)
            let (status, problem) = try await Self.post(client, token, body)
            #expect(status == .badRequest)
            #expect(problem["code"] as? String == "invalid_field")
            #expect(problem["field"] as? String == field)
            #expect(try await app.stores.requests.search(ServiceRequestQuery(jurisdictionID: "test.city")).isEmpty)
        }
    }

    @Test("a blank address, a malformed email and an unnamed field are refused; the same request without them is taken")
    func blanks() async throws {
        try await TestApp.with { app, client in
            let token = try await Self.partner(app, client)
            for (body, code, field) in [
                (#"{\#(Self.located), "address": ""}"#, "address_blank", "address"),
                (#"{\#(Self.located), "address": " \u2003"}"#, "address_blank", "address"),
                (#"{\#(Self.located), "reporter": {"email": " ana@example.org"}}"#, "email_invalid", "reporter.email"),
                (#"{\#(Self.located), "": 1}"#, "unknown_field", "(a field with an empty name)"),
            ] {
                let (status, problem) = try await Self.post(client, token, body)
                #expect(status == .badRequest, "\(body)")
                #expect(problem["code"] as? String == code, "\(body)")
                #expect(problem["field"] as? String == field, "\(body)")
            }
            // A blank email means no address, as the document says; a long address up to 1000 scalars is fine.
            let (status, created) = try await Self.post(
                client, token, #"{\#(Self.located), "address": "\#(String(repeating: "9", count: 1000))", "reporter": {"email": ""}}"#)
            #expect(status == .created, "\(created)")
            let (tooLong, problem) = try await Self.post(
                client, token, #"{\#(Self.located), "address": "\#(String(repeating: "9", count: 1001))"}"#)
            #expect(tooLong == .badRequest)
            #expect(problem["code"] as? String == "address_string_too_long")
        }
    }

    @Test("a purpose longer than 200 characters is refused from the query and from the header, whoever asks")
    func purpose() async throws {
        try await TestApp.with { app, client in
            let token = try await Self.partner(app, client)
            let (_, created) = try await Self.post(client, token, "{\(Self.located)}")
            let id = try #require(created["id"] as? Int)
            let long = String(repeating: "x", count: 201)
            let fromHeader = try await client.execute(
                uri: "/api/v1/service-requests/\(id)?purpose=calling+back", method: .get,
                headers: [.authorization: "Bearer \(token)", HTTPField.Name("Civitas-Purpose")!: long])
            #expect(fromHeader.status == .badRequest)
            #expect((try fromHeader.json() as? [String: Any])?["field"] as? String == "Civitas-Purpose")
            let fromQuery = try await client.execute(
                uri: "/api/v1/service-requests/\(id)?purpose=\(long)", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(fromQuery.status == .badRequest)
            // Anonymous callers see no personal data, and still get the same answer for the same mistake.
            let anonymous = try await client.execute(
                uri: "/api/v1/service-requests/\(id)", method: .get, headers: [HTTPField.Name("Civitas-Purpose")!: long])
            #expect(anonymous.status == .badRequest || anonymous.status == .unauthorized)
            let fine = try await client.execute(
                uri: "/api/v1/service-requests/\(id)", method: .get,
                headers: [.authorization: "Bearer \(token)", HTTPField.Name("Civitas-Purpose")!: String(repeating: "x", count: 200)])
            #expect(fine.status == .ok)
        }
    }

    @Test("any method a path does not declare gets 405 with Allow, even ones no route could name; OPTIONS lists them")
    func methods() async throws {
        try await TestApp.with { app, client in
            for method in [HTTPRequest.Method.trace, HTTPRequest.Method("QUERY")!, HTTPRequest.Method("PROPFIND")!] {
                let response = try await client.execute(uri: "/api/v1/me", method: method)
                #expect(response.status == .methodNotAllowed, "\(method)")
                #expect(response.headers[.allow] == "GET, HEAD", "\(method)")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            #expect(try await client.execute(uri: "/nowhere", method: HTTPRequest.Method("QUERY")!).status == .notFound)
            let options = try await client.execute(uri: "/api/v1/service-requests", method: .options)
            #expect(options.status == .noContent)
            #expect(options.headers[.allow] == "GET, HEAD, POST")
        }
    }
}
