import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CivitasServer

/// Whether `text` is a W3C date-time with a zone and no fractional seconds, as Open311 clients need.
func isW3C(_ text: String?) -> Bool {
    guard let text else { return false }
    return text.wholeMatch(of: #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})/#) != nil
}

@Suite("Open311 discovery and service catalog, through the router")
struct Open311CatalogTests {
    @Test("discovery in XML and JSON lists the v2 endpoint and both formats")
    func discovery() async throws {
        try await TestApp.with { app, client in
            let xml = try await client.get("/open311/v2/discovery.xml")
            #expect(xml.status == .ok)
            #expect(xml.headers[.contentType] == "text/xml; charset=utf-8")
            #expect(xml.text.hasPrefix(#"<?xml version="1.0" encoding="utf-8"?>"#))
            let root = try xml.xml()
            #expect(root.name == "discovery")
            #expect(root.children.map(\.name) == ["changeset", "contact", "key_service", "endpoints"])
            let endpoint = try #require(root.child("endpoints")?.all("endpoint").first)
            #expect(endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2")
            #expect(endpoint["url"] == "http://127.0.0.1:8080/open311/v2")
            #expect(endpoint.child("formats")?.all("format").map(\.text) == ["text/xml", "application/json"])

            #expect(try await client.get("/open311/discovery.xml").xml().name == "discovery")
            #expect(try await client.get("/open311/nothing.xml").status == .notFound)

            let json = try await client.get("/open311/v2/discovery.json")
            let object = try #require(try json.json() as? [String: Any])
            let endpoints = try #require(object["endpoints"] as? [[String: Any]])
            #expect(endpoints.first?["formats"] as? [String] == ["text/xml", "application/json"])
        }
    }

    @Test("services.xml has the spec's elements in order; services.json is an array with real booleans")
    func serviceList() async throws {
        try await TestApp.with { app, client in
            let xml = try await client.get("/open311/v2/services.xml")
            let root = try xml.xml()
            #expect(root.name == "services")
            let services = root.all("service")
            #expect(services.count == 15)
            #expect(
                services.allSatisfy {
                    $0.children.map(\.name) == ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
                })
            let bulky = try #require(services.first { $0["service_code"] == "BULKY" })
            #expect(bulky["metadata"] == "true")
            #expect(services.first { $0["service_code"] == "SEWER" }?["metadata"] == "false")
            #expect(services.first { $0["service_code"] == "VACANT" }?["type"] == "batch")

            let json = try await client.get("/open311/v2/services.json?jurisdiction_id=anything")
            let list = try json.jsonArray()
            #expect(list.count == 15)
            let first = try #require(list.first { $0["service_code"] as? String == "BULKY" })
            #expect(first["metadata"] as? Bool == true)
            #expect(first["keywords"] as? String == "furniture, mattress, appliance, couch")
        }
    }

    @Test("a service definition lists its attributes with values; JSON is an object and values is always an array")
    func serviceDefinition() async throws {
        try await TestApp.with { app, client in
            let root = try await client.get("/open311/v2/services/BULKY.xml").xml()
            #expect(root.name == "service_definition")
            #expect(root["service_code"] == "BULKY")
            let attributes = try #require(root.child("attributes")).all("attribute")
            #expect(attributes.map { $0["code"] } == ["ITEMS", "COUNT", "READY", "LIMIT"])
            #expect(
                attributes[0].children.map(\.name) == [
                    "variable", "code", "datatype", "required", "datatype_description", "order", "description", "values",
                ])
            #expect(attributes[0].child("values")?.all("value").first?["key"] == "mattress")
            #expect(attributes[3]["variable"] == "false")

            let object = try #require(try await client.get("/open311/v2/services/BULKY.json").json() as? [String: Any])
            let list = try #require(object["attributes"] as? [[String: Any]])
            #expect(list[0]["required"] as? Bool == true)
            #expect(list[0]["order"] as? Int == 1)
            #expect((list[1]["values"] as? [Any])?.isEmpty == true)
            #expect((list[0]["values"] as? [[String: Any]])?.first?["key"] as? String == "mattress")
        }
    }

    @Test("unknown service codes, resources and formats are 404 with an errors body in the asked format")
    func notFound() async throws {
        try await TestApp.with { app, client in
            let xml = try await client.get("/open311/v2/services/NOPE.xml")
            #expect(xml.status == .notFound)
            let errors = try xml.xml()
            #expect(errors.name == "errors")
            #expect(errors.all("error").first?["code"] == "404")
            #expect(errors.all("error").first?["description"]?.contains("NOPE") == true)

            let json = try await client.get("/open311/v2/services/NOPE.json")
            #expect(json.status == .notFound)
            #expect(try json.jsonArray().first?["code"] as? Int == 404)

            // Path segments are percent-decoded: a code with a space is found.
            try await app.stores.services.upsert([ServiceDefinition(code: "Pot hole", name: "Pot hole")], jurisdictionID: "test.city")
            #expect(try await client.get("/open311/v2/services/Pot%20hole.json").status == .ok)

            for path in ["/open311/v2/services.html", "/open311/v2/services", "/open311/v2/requests/1.csv", "/open311/v2/nothing.json"] {
                let response = try await client.get(path)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.text.contains("<errors>") || response.text.hasPrefix("[{"), "\(path): \(response.text)")
            }
        }
    }
}

@Suite("Open311 GET requests, through the router")
struct Open311RequestQueryTests {
    /// Stores requests at given ages (hours ago) for POTHOLE/GRAFFITI alternately, closing the ones asked.
    func seed(_ app: TestApp, ages: [Double], closed: Set<Int> = []) async throws -> [Int64] {
        let services = try await app.stores.services.all(jurisdictionID: "test.city")
        let pothole = try #require(services.first { $0.code == "POTHOLE" })
        let graffiti = try #require(services.first { $0.code == "GRAFFITI" })
        let now = Date()
        var items: [ServiceRequestStore.HistoricRequest] = []
        for (index, age) in ages.enumerated() {
            let service = index.isMultiple(of: 2) ? pothole : graffiti
            let at = Date(timeIntervalSince1970: now.addingTimeInterval(-age * 3600).timeIntervalSince1970.rounded(.down))
            let new = NewServiceRequest(
                serviceCode: service.code, description: "Request \(index)",
                location: RequestLocation(latitude: 39.29, longitude: -76.61), reporter: Reporter(email: "private@example.org"))
            items.append(
                .init(request: new, service: service, requestedAt: at, closed: closed.contains(index) ? (at.addingTimeInterval(60), "Done") : nil))
        }
        return try await app.stores.requests.createAll(items, jurisdictionID: "test.city", source: "test")
    }

    @Test("a single request is every field, in order, empty when unknown; JSON is a one-element array")
    func singleRequest() async throws {
        try await TestApp.with { app, client in
            let ids = try await seed(app, ages: [1])
            let root = try await client.get("/open311/v2/requests/\(ids[0]).xml").xml()
            #expect(root.name == "service_requests")
            let request = try #require(root.all("request").first)
            #expect(
                request.children.map(\.name) == [
                    "service_request_id", "status", "status_notes", "service_name", "service_code", "description", "agency_responsible",
                    "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address", "address_id", "zipcode",
                    "lat", "long", "media_url",
                ])
            #expect(request.children.allSatisfy { $0.children.isEmpty })
            #expect(request["address_id"] == "")
            #expect(isW3C(request["requested_datetime"]))
            #expect(request["requested_datetime"]?.hasSuffix("-05:00") == true)
            #expect(!root.children.description.contains("private@example.org"))

            let list = try await client.get("/open311/v2/requests/\(ids[0]).json").jsonArray()
            #expect(list.count == 1)
            #expect(list[0]["service_request_id"] as? String == String(ids[0]))
            #expect(list[0]["lat"] as? Double == 39.29)
            #expect(list[0]["address_id"] is NSNull)
            #expect(list[0]["email"] == nil)

            #expect(try await client.get("/open311/v2/requests/999999.json").status == .notFound)
            #expect(try await client.get("/open311/v2/requests/abc.xml").status == .notFound)
        }
    }

    @Test("the list is the last 90 days by default, newest first")
    func defaultWindow() async throws {
        try await TestApp.with { app, client in
            let ids = try await seed(app, ages: [2, 24 * 100, 1, 24 * 80])
            let list = try await client.get("/open311/v2/requests.json").jsonArray()
            #expect(list.map { $0["service_request_id"] as? String } == [ids[2], ids[0], ids[3]].map { String($0) })
            let empty = try await client.get("/open311/v2/requests.xml?start_date=2001-01-01T00:00:00Z&end_date=2001-01-02T00:00:00Z")
            #expect(try empty.xml().children.isEmpty)
            #expect(try await client.get("/open311/v2/requests.json?start_date=2001-01-01T00:00:00Z&end_date=2001-01-02T00:00:00Z").text == "[]")
        }
    }

    @Test("service_code and status take comma lists")
    func filters() async throws {
        try await TestApp.with { app, client in
            let ids = try await seed(app, ages: [1, 2, 3, 4], closed: [0, 1])
            func fetch(_ query: String) async throws -> [String] {
                try await client.get("/open311/v2/requests.json?\(query)").jsonArray().compactMap { $0["service_request_id"] as? String }
            }
            #expect(try await fetch("service_code=POTHOLE") == [ids[0], ids[2]].map { String($0) })
            #expect(try await fetch("service_code=POTHOLE,GRAFFITI&status=open") == [ids[2], ids[3]].map { String($0) })
            #expect(try await fetch("status=open,closed").count == 4)
            #expect(try await fetch("status=closed&service_code=GRAFFITI") == [String(ids[1])])
            #expect(try await fetch("status=&service_code=").count == 4)
            let bad = try await client.get("/open311/v2/requests.xml?status=pending")
            #expect(bad.status == .badRequest)
            #expect(try bad.xml().all("error").first?["code"] == "400")
        }
    }

    @Test("service_request_id overrides every other argument")
    func idsOverride() async throws {
        try await TestApp.with { app, client in
            let ids = try await seed(app, ages: [1, 2, 24 * 200])
            let list = try await client.get(
                "/open311/v2/requests.json?service_request_id=\(ids[2]),\(ids[0])&status=closed&service_code=NOPE&start_date=bad"
            ).jsonArray()
            #expect(Set(list.compactMap { $0["service_request_id"] as? String }) == Set([ids[0], ids[2]].map { String($0) }))
        }
    }

    @Test("start_date and end_date bound requested_datetime; more than 90 days or a bad date is a 400")
    func dateRange() async throws {
        try await TestApp.with { app, client in
            let ids = try await seed(app, ages: [1, 48, 96])
            let now = Date()
            let start = W3CDateTime.format(now.addingTimeInterval(-72 * 3600))
            let end = W3CDateTime.format(now.addingTimeInterval(-24 * 3600))
            let list = try await client.get("/open311/v2/requests.json?start_date=\(start)&end_date=\(end)").jsonArray()
            #expect(list.compactMap { $0["service_request_id"] as? String } == [String(ids[1])])

            // A '+' offset that arrived unencoded (decoded as a space) still parses.
            let zoned = W3CDateTime.format(now.addingTimeInterval(-72 * 3600), timeZone: TimeZone(identifier: "Asia/Kolkata")!)
            let plus = try await client.get("/open311/v2/requests.json?start_date=\(zoned)").jsonArray()
            #expect(plus.compactMap { $0["service_request_id"] as? String } == [ids[0], ids[1]].map { String($0) })

            let tooLong = try await client.get("/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z")
            #expect(tooLong.status == .badRequest)
            #expect((try tooLong.jsonArray().first?["description"] as? String)?.contains("90 days") == true)
            #expect(try await client.get("/open311/v2/requests.xml?start_date=last%20week").status == .badRequest)
            #expect(
                try await client.get("/open311/v2/requests.xml?start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z").status == .badRequest)
        }
    }

    @Test("page and page_size page through the list; page_size is at most 1000")
    func paging() async throws {
        try await TestApp.with { app, client in
            let ids = try await seed(app, ages: [1, 2, 3, 4, 5])
            let page2 = try await client.get("/open311/v2/requests.json?page_size=2&page=2").jsonArray()
            #expect(page2.compactMap { $0["service_request_id"] as? String } == [ids[2], ids[3]].map { String($0) })
            #expect(try await client.get("/open311/v2/requests.json?page_size=1001").status == .badRequest)
            #expect(try await client.get("/open311/v2/requests.json?page=0").status == .badRequest)
            let tooMany = (1...1001).map(String.init).joined(separator: ",")
            #expect(try await client.get("/open311/v2/requests.json?service_request_id=\(tooMany)").status == .badRequest)
        }
    }

    @Test("at most 1000 requests come back")
    func thousandLimit() async throws {
        try await TestApp.with { app, client in
            _ = try await seed(app, ages: (0..<1005).map { Double($0) / 100 + 0.01 })
            #expect(try await client.get("/open311/v2/requests.json").jsonArray().count == 1000)
        }
    }
}
