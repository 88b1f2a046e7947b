import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CivitasServer

@Suite("The API document: assembled from one part per capability, and in step with the router")
struct APIDocumentTests {
    /// `METHOD /path` for every operation of the served document, paths as the router writes them (`/api/v1/...`).
    static func documentedOperations() throws -> Set<String> {
        let data = try OpenAPIDocument.load()
        let document = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let paths = try #require(document["paths"] as? [String: Any])
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var operations: Set<String> = []
        for (path, item) in paths {
            let item = try #require(item as? [String: Any], "\(path) is not an object")
            for method in item.keys where methods.contains(method) {
                operations.insert("\(method.uppercased()) /api/v1\(path)")
            }
        }
        return operations
    }

    @Test("every /api/v1 route the router declares is in the document, and every operation in the document is routed")
    func routesAndDocumentAgree() async throws {
        let documented = try Self.documentedOperations()
        #expect(documented.count > 30)
        try await TestApp.with { app, _ in
            let routed = Set(app.routes.filter { $0.path.hasPrefix("/api/v1/") }.map { "\($0.method.rawValue) \($0.path)" })
            #expect(routed.subtracting(documented).sorted() == [], "routes the API document does not describe")
            #expect(documented.subtracting(routed).sorted() == [], "operations in the API document that no route serves")
        }
    }

    @Test("the served document is the parts joined: each capability's paths and components, the shared ones once")
    func servedDocumentIsTheParts() async throws {
        try await TestApp.with { _, client in
            let response = try await client.execute(uri: "/api/v1/openapi.json", method: .get)
            #expect(response.status == .ok)
            let served = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
            #expect(served["openapi"] as? String == "3.1.0")
            let paths = try #require(served["paths"] as? [String: Any])
            // One path from each part.
            for path in ["/openapi.json", "/me", "/service-requests/{id}", "/plans", "/cases/{id}/transitions", "/webhooks"] {
                #expect(paths[path] != nil, "\(path) is missing")
            }
            let schemas = try #require((served["components"] as? [String: Any])?["schemas"] as? [String: Any])
            #expect(schemas["Problem"] != nil)
            let tags = try #require(served["tags"] as? [[String: Any]]).compactMap { $0["name"] as? String }
            #expect(Set(tags).count == tags.count)
            #expect(Set(tags).isSuperset(of: ["service-requests", "field", "cases", "identity"]))
        }
    }

    @Test("a path or component named by two parts is refused, naming the part")
    func duplicatesAreRefused() throws {
        let base = "openapi: 3.1.0\ninfo:\n  title: t\n  version: '1'\n"
        let one = "paths:\n  /a:\n    get:\n      responses: {}\ncomponents:\n  schemas:\n    Thing:\n      type: string\n"
        #expect(try OpenAPIDocument.assemble([("api.yaml", base), ("one.yaml", one)])["paths"] != nil)
        #expect {
            try OpenAPIDocument.assemble([("api.yaml", base), ("one.yaml", one), ("two.yaml", "paths:\n  /a:\n    post:\n      responses: {}\n")])
        } throws: { error in
            "\(error)".contains("/a") && "\(error)".contains("two.yaml")
        }
        #expect {
            try OpenAPIDocument.assemble([
                ("api.yaml", base), ("one.yaml", one), ("two.yaml", "components:\n  schemas:\n    Thing:\n      type: integer\n"),
            ])
        } throws: { error in
            "\(error)".contains("components.schemas.Thing")
        }
        #expect(throws: (any Error).self) {
            try OpenAPIDocument.assemble([("api.yaml", base), ("one.yaml", "info:\n  title: other\n")])
        }
        #expect(throws: (any Error).self) { try OpenAPIDocument.assemble([("one.yaml", one)]) }
    }
}
