import CivitasCore
import CivitasStore
import Configuration
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import CivitasServer

@Suite("Open311 POST requests and tokens, through the router")
struct Open311SubmitTests {
    @Test("a form-encoded POST creates a request that GET returns, in both formats")
    func createAndRead() async throws {
        try await TestApp.with { app, client in
            let response = try await client.post("/open311/v2/requests.json", form: app.bulkyForm([("email", "ana@example.org")]))
            #expect(response.status == .ok)
            let created = try response.jsonArray()
            let id = try #require(created.first?["service_request_id"] as? String)
            #expect(created.first?["service_notice"] as? String == "We aim to deal with this within 5 days.")
            #expect(Int(id).map { $0 > 0 } == true)

            let request = try #require(try await client.get("/open311/v2/requests/\(id).xml").xml().all("request").first)
            #expect(request["status"] == "open")
            #expect(request["service_code"] == "BULKY")
            #expect(request["service_name"] == "Bulky item pickup")
            #expect(request["agency_responsible"] == "Public Works")
            #expect(request["address"] == "100 N Charles St")
            #expect(request["lat"] == "39.2904")
            #expect(isW3C(request["expected_datetime"]))
            let stored = try #require(try await app.stores.requests.find(id: Int64(id)!, jurisdictionID: "test.city"))
            #expect(stored.attributes == ["ITEMS": ["furniture", "mattress"], "COUNT": ["2"]])
            #expect(stored.reporter.email == "ana@example.org")

            let xml = try await client.post("/open311/v2/requests.xml", form: app.bulkyForm())
            let root = try xml.xml()
            #expect(root.name == "service_requests")
            #expect(root.all("request").first?.children.map(\.name) == ["service_request_id", "service_notice", "account_id"])
        }
    }

    @Test("api_key is required: missing or wrong is a 403 with an errors body, and nothing is stored")
    func apiKey() async throws {
        try await TestApp.with { app, client in
            let missing = try await client.post("/open311/v2/requests.xml", form: app.bulkyForm().filter { $0.0 != "api_key" })
            #expect(missing.status == .forbidden)
            #expect(try missing.xml().all("error").first?["code"] == "403")
            let wrong = try await client.post("/open311/v2/requests.json", form: app.bulkyForm(key: "civ_not_a_key"))
            #expect(wrong.status == .forbidden)
            #expect(try wrong.jsonArray().first?["code"] as? Int == 403)
            let empty = try await client.post("/open311/v2/requests.json", form: app.bulkyForm(key: ""))
            #expect(empty.status == .forbidden)
            #expect(try await app.count() == 0)
        }
    }

    @Test("service_code missing is a 400, unknown is a 404")
    func serviceCode() async throws {
        try await TestApp.with { app, client in
            let missing = try await client.post("/open311/v2/requests.json", form: app.bulkyForm().filter { $0.0 != "service_code" })
            #expect(missing.status == .badRequest)
            #expect((try missing.jsonArray().first?["description"] as? String)?.contains("service_code") == true)
            let unknown = try await client.post(
                "/open311/v2/requests.json", form: app.bulkyForm([]).map { $0.0 == "service_code" ? ($0.0, "NOPE") : $0 })
            #expect(unknown.status == .notFound)
            #expect(try await app.count() == 0)
        }
    }

    @Test("required attributes and list values are checked, and the error names the attribute")
    func attributes() async throws {
        try await TestApp.with { app, client in
            let withoutItems = app.bulkyForm().filter { !$0.0.hasPrefix("attribute[ITEMS]") }
            let missing = try await client.post("/open311/v2/requests.xml", form: withoutItems)
            #expect(missing.status == .badRequest)
            #expect(try missing.xml().all("error").first?["description"]?.contains("attribute[ITEMS]") == true)

            let wrongValue = try await client.post("/open311/v2/requests.json", form: withoutItems + [("attribute[ITEMS][]", "piano")])
            #expect(wrongValue.status == .badRequest)
            #expect((try wrongValue.jsonArray().first?["description"] as? String)?.contains("piano") == true)

            let twoProblems = try await client.post("/open311/v2/requests.json", form: withoutItems.filter { $0.0 != "attribute[COUNT]" })
            #expect(try twoProblems.jsonArray().count == 2)
            #expect(try await app.count() == 0)
        }
    }

    @Test("multi-value attributes are accepted as [], [N] and repeated keys")
    func multiValueForms() async throws {
        try await TestApp.with { app, client in
            let base = app.bulkyForm().filter { !$0.0.hasPrefix("attribute[ITEMS]") }
            for items in [
                [("attribute[ITEMS][]", "appliance"), ("attribute[ITEMS][]", "other")],
                [("attribute[ITEMS][0]", "appliance"), ("attribute[ITEMS][1]", "other")],
                [("attribute[ITEMS]", "appliance"), ("attribute[ITEMS]", "other")],
            ] {
                let response = try await client.post("/open311/v2/requests.json", form: base + items)
                let id = try #require(try response.jsonArray().first?["service_request_id"] as? String)
                let stored = try await app.stores.requests.find(id: Int64(id)!, jurisdictionID: "test.city")
                #expect(stored?.attributes["ITEMS"] == ["appliance", "other"])
            }
        }
    }

    @Test("parameters may come in the query string; empty ones count as absent; unknown ones are ignored; aliases work")
    func parameterSources() async throws {
        try await TestApp.with { app, client in
            let query = formEncode([("api_key", app.apiKey), ("service_code", "SEWER"), ("jurisdiction_id", "whatever")])
            let response = try await client.post(
                "/open311/v2/requests.json?\(query)",
                form: [("address", "12 Elm St"), ("deviceid", "phone-7"), ("email", ""), ("lat", ""), ("long", ""), ("colour", "red")])
            #expect(response.status == .ok, "\(response.text)")
            let id = try #require(try response.jsonArray().first?["service_request_id"] as? String)
            let stored = try #require(try await app.stores.requests.find(id: Int64(id)!, jurisdictionID: "test.city"))
            #expect(stored.location.address == "12 Elm St")
            #expect(stored.location.latitude == nil)
            #expect(stored.reporter.deviceID == "phone-7")
            #expect(stored.reporter.email == nil)
        }
    }

    @Test("a location is required, lat needs long, and description is at most 4000 characters")
    func locationAndDescription() async throws {
        try await TestApp.with { app, client in
            let noLocation = app.bulkyForm().filter { !["lat", "long", "address_string"].contains($0.0) }
            #expect(try await client.post("/open311/v2/requests.json", form: noLocation).status == .badRequest)
            #expect(try await client.post("/open311/v2/requests.json", form: noLocation + [("lat", "39.3")]).status == .badRequest)
            let long = app.bulkyForm().filter { $0.0 != "description" } + [("description", String(repeating: "x", count: 4001))]
            let tooLong = try await client.post("/open311/v2/requests.json", form: long)
            #expect(tooLong.status == .badRequest)
            #expect((try tooLong.jsonArray().first?["description"] as? String)?.contains("4000") == true)
            #expect(try await app.count() == 0)
        }
    }

    @Test("a multipart POST with a media photo stores it and links it as media_url")
    func multipartMedia() async throws {
        try await TestApp.with { app, client in
            let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 7, count: 300)
            func multipart(_ media: [UInt8]) -> ByteBuffer {
                var body = ByteBuffer()
                for (name, value) in app.bulkyForm() {
                    body.writeString("--XyZ\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
                }
                body.writeString("--XyZ\r\nContent-Disposition: form-data; name=\"media\"; filename=\"photo.png\"\r\nContent-Type: image/png\r\n\r\n")
                body.writeBytes(media)
                body.writeString("\r\n--XyZ--\r\n")
                return body
            }
            let response = try await client.execute(
                uri: "/open311/v2/requests.json", method: .post, headers: [.contentType: "multipart/form-data; boundary=XyZ"],
                body: multipart(png))
            #expect(response.status == .ok, "\(response.text)")
            let id = try #require(try response.jsonArray().first?["service_request_id"] as? String)
            let request = try await client.get("/open311/v2/requests/\(id).json").jsonArray()
            let mediaURL = try #require(request.first?["media_url"] as? String)
            #expect(mediaURL.hasPrefix("http://127.0.0.1:8080/media/"))
            let photo = try await client.get(String(mediaURL.dropFirst("http://127.0.0.1:8080".count)))
            #expect(photo.status == .ok)
            #expect(photo.headers[.contentType] == "image/png")
            #expect(Array(buffer: photo.body) == png)

            let notImage = try await client.execute(
                uri: "/open311/v2/requests.json", method: .post, headers: [.contentType: "multipart/form-data; boundary=XyZ"],
                body: multipart(Array("<script>alert(1)</script>".utf8)))
            #expect(notImage.status == .badRequest)
            #expect(try await app.count() == 1)
        }
    }

    @Test("a batch service answers with a token, which gives the request id once it exists")
    func batchToken() async throws {
        try await TestApp.with { app, client in
            let form = [("api_key", app.apiKey), ("service_code", "VACANT"), ("address_string", "5 Oak St")]
            let created = try await client.post("/open311/v2/requests.xml", form: form).xml()
            let token = try #require(created.all("request").first?["token"])
            #expect(created.all("request").first?.child("service_request_id") == nil)

            let waiting = try await client.get("/open311/v2/tokens/\(token).json").jsonArray()
            #expect(waiting.first?["token"] as? String == token)
            #expect(waiting.first?["service_request_id"] is NSNull)

            #expect(try await app.stores.requests.processPendingTokens() == 1)
            let done = try await client.get("/open311/v2/tokens/\(token).xml").xml()
            let id = try #require(done.all("request").first?["service_request_id"])
            #expect(try await client.get("/open311/v2/requests/\(id).json").jsonArray().first?["service_code"] as? String == "VACANT")
            #expect(try await client.get("/open311/v2/tokens/unknown.xml").status == .notFound)
        }
    }

    @Test("a body over the limit is refused with 413 and nothing is stored", .timeLimit(.minutes(3)))
    func bodyLimit() async throws {
        try await TestApp.with(config: ["http.maxBodySize": .init(.int(2048), isSecret: false)]) { app, client in
            let response = try await client.post(
                "/open311/v2/requests.json", form: app.bulkyForm([("description", String(repeating: "x", count: 3000))]))
            #expect(response.status == .contentTooLarge)
            #expect(try response.jsonArray().first?["code"] as? Int == 413)
            #expect(try await app.count() == 0)
        }
    }

    @Test("request logs carry method, path and status but no personal data or query strings")
    func logsWithoutPersonalData() async throws {
        try await TestApp.with { app, client in
            _ = try await client.post(
                "/open311/v2/requests.json?phone=5550100",
                form: app.bulkyForm([("email", "ana.secret@example.org"), ("first_name", "Anastasia"), ("description", "my neighbour Bob")]))
            let lines = app.logs.all
            #expect(lines.contains { $0.contains("path=/open311/v2/requests.json") && $0.contains("status=200") })
            for secret in ["ana.secret", "Anastasia", "5550100", "Bob", app.apiKey] {
                #expect(!lines.joined().contains(secret), "\(secret) leaked into logs")
            }
        }
    }
}

@Suite("Operations and staff actions, through the router")
struct OperationsTests {
    @Test("healthz answers 200 while the database answers, 503 when it does not")
    func health() async throws {
        try await TestApp.with { app, client in
            let healthy = try await client.get("/healthz")
            #expect(healthy.status == .ok)
            await app.stores.database.shutdown()
            #expect(try await client.get("/healthz").status == .serviceUnavailable)
        }
    }

    @Test("metrics are Prometheus text and count requests")
    func metrics() async throws {
        try await TestApp.with { app, client in
            _ = try await client.get("/open311/v2/services.json")
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains("# TYPE hb_requests counter"))
        }
    }

    @Test("an undeclared method on a path gets 405 with an Allow header and problem+json")
    func methodNotAllowed() async throws {
        try await TestApp.with { app, client in
            let health = try await client.execute(uri: "/healthz", method: .delete)
            #expect(health.status == .methodNotAllowed)
            #expect(health.headers[.allow] == "GET, HEAD")
            #expect(health.headers[.contentType] == "application/problem+json")
            #expect((try health.json() as? [String: Any])?["code"] as? String == "method_not_allowed")
            let requests = try await client.execute(uri: "/open311/v2/requests.json", method: .put)
            #expect(requests.status == .methodNotAllowed)
            #expect(requests.headers[.allow] == "GET, HEAD, POST")
            #expect(try await client.execute(uri: "/open311/v2/requests/1.json", method: .post).status == .methodNotAllowed)
            #expect(try await client.execute(uri: "/nowhere", method: .delete).status == .notFound)
            let head = try await client.execute(uri: "/open311/v2/services.xml", method: .head)
            #expect(head.status == .ok)
            #expect(head.body.readableBytes == 0)
            #expect(head.headers[.contentType] == "text/xml; charset=utf-8")
        }
    }

    @Test("every response carries strict security headers")
    func securityHeaders() async throws {
        try await TestApp.with { app, client in
            let response = try await client.get("/open311/v2/services.xml")
            #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            #expect(response.headers[.contentSecurityPolicy] == "default-src 'none'; frame-ancestors 'none'")
        }
    }

    @Test("a staff status change shows up in Open311 with its note")
    func staffUpdate() async throws {
        try await TestApp.with { app, client in
            let id = try #require(
                try await client.post("/open311/v2/requests.json", form: app.bulkyForm()).jsonArray().first?["service_request_id"] as? String)
            _ = try await Commands.updateRequest(
                id: id, status: "closed", note: "Collected this morning.", stores: app.stores, jurisdictionID: "test.city", actor: "cli")
            let request = try #require(try await client.get("/open311/v2/requests/\(id).xml").xml().all("request").first)
            #expect(request["status"] == "closed")
            #expect(request["status_notes"] == "Collected this morning.")
            let closed = try await client.get("/open311/v2/requests.json?status=closed").jsonArray()
            #expect(closed.compactMap { $0["service_request_id"] as? String } == [id])

            for (badID, badStatus) in [("abc", "closed"), (id, "resolved"), ("999999", "open")] {
                await #expect(throws: CivitasError.self) {
                    try await Commands.updateRequest(
                        id: badID, status: badStatus, note: nil, stores: app.stores, jurisdictionID: "test.city", actor: "cli")
                }
            }
            #expect(try await app.stores.requests.updates(id: Int64(id)!, jurisdictionID: "test.city").count == 2)
        }
    }

    @Test("a change made by another process shows within the cache TTL; a TTL of 0 reads through")
    func cacheTTL() async throws {
        // A long TTL shows the cached answer standing (no race with a slow machine); a short one shows the change
        // after it expires; 0 reads through at once.
        for ttl in [0, 300, 60_000] {
            try await TestApp.with(config: ["cache.ttlMs": .init(.int(ttl), isSecret: false)]) { app, client in
                let id = try #require(
                    try await client.post("/open311/v2/requests.json", form: app.bulkyForm()).jsonArray().first?["service_request_id"] as? String)
                #expect(try await client.get("/open311/v2/requests/\(id).json").jsonArray().first?["status"] as? String == "open")
                // The CLI is another process: it changes the database, not this server's memory.
                _ = try await app.stores.requests.changeStatus(id: Int64(id)!, jurisdictionID: "test.city", to: .closed, note: nil, actor: "cli")
                let expected = ttl == 60_000 ? "open" : "closed"
                if ttl == 300 { try await Task.sleep(for: .milliseconds(ttl + 200)) }
                #expect(try await client.get("/open311/v2/requests/\(id).json").jsonArray().first?["status"] as? String == expected)
            }
        }
    }

    @Test("an invalid catalog file is refused with the entry and field named, and nothing is imported")
    func catalogImport() async throws {
        try await TestApp.with { app, client in
            let file = app.folder.appendingPathComponent("catalog.json")
            try Data(#"[{"service_code": "NEW1", "service_name": "New"}, {"service_code": "NEW2", "service_name": "Bad", "type": "sometimes"}]"#.utf8)
                .write(to: file)
            do {
                _ = try await Commands.importServices(file: file.path, stores: app.stores, jurisdictionID: "test.city")
                Issue.record("an invalid catalog was imported")
            } catch let error as CivitasError {
                #expect(error.message == #"Entry 2 (service_code "NEW2"): field "type" "sometimes" is not one of realtime, batch, blackbox."#)
            }
            #expect(try await app.stores.services.find(code: "NEW1", jurisdictionID: "test.city") == nil)

            try Data(
                #"[{"service_code": "SEWER", "service_name": "Sewer problem", "sla_hours": 6}, {"service_code": "NEW1", "service_name": "New"}]"#.utf8
            ).write(to: file)
            let result = try await Commands.importServices(file: file.path, stores: app.stores, jurisdictionID: "test.city")
            #expect(result.created == ["NEW1"])
            #expect(result.updated == ["SEWER"])
            let services = try await client.get("/open311/v2/services.json").jsonArray()
            #expect(services.first { $0["service_code"] as? String == "SEWER" }?["service_name"] as? String == "Sewer problem")
        }
    }

    @Test("the demo city loads a full catalog and a few hundred requests once, and only into an empty database")
    func demoCity() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("civitas-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let configuration = try AppConfiguration(
            reader: ConfigReader(
                provider: InMemoryProvider(values: [
                    "database.url": .init(.string("sqlite:" + folder.appendingPathComponent("d.sqlite").path), isSecret: false)
                ])))
        let stores = try await Stores.open(configuration, logger: .init(label: "demo"))
        // The repository's fixture, never data beside the checkout: the same address points in every clone.
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Fixtures/311/baltimore_addresses.sample.csv"
        ).standardizedFileURL
        let summary = try #require(try await DemoCity.load(into: stores, jurisdictionID: "city", addressFiles: [fixture]))
        #expect(summary.addresses == (try AddressImport.read(fixture)).points.count, "the fixture's points, not a file beside the checkout")
        #expect(summary.services >= 12)
        #expect(summary.departments.count >= 4)
        #expect((200...500).contains(summary.requests))
        #expect(summary.open > 0 && summary.closed > 0)
        let catalog = try await stores.services.all(jurisdictionID: "city")
        #expect(Set(catalog.flatMap(\.attributes).map(\.datatype)) == Set(AttributeDatatype.allCases))
        var query = ServiceRequestQuery(jurisdictionID: "city")
        query.requestedFrom = Date().addingTimeInterval(-29 * 86_400)
        let requests = try await stores.requests.search(query)
        #expect(requests.count == summary.requests)
        #expect(requests.allSatisfy { ($0.location.latitude ?? 0) > 39.1 && ($0.location.latitude ?? 0) < 39.4 })
        #expect(try await DemoCity.load(into: stores, jurisdictionID: "city", addressFiles: [fixture]) == nil)
        await stores.database.shutdown()
    }
}
