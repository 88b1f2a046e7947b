import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CivitasServer

@Suite("API v1: merging duplicates")
struct APIv1MergeTests {
    @Test("a partner merges two duplicates into a request: they close, their reporters follow it; conflicts are 409")
    func merge() async throws {
        try await TestApp.with { app, client in
            let token = try await APIv1InputTests.partner(app, client)
            var ids: [Int] = []
            for email in ["one@example.org", "two@example.org", "three@example.org"] {
                let (status, created) = try await APIv1InputTests.post(
                    client, token, #"{\#(APIv1InputTests.located), "reporter": {"email": "\#(email)"}}"#)
                #expect(status == .created)
                ids.append(try #require(created["id"] as? Int))
            }
            func merge(_ into: Int, _ body: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/api/v1/service-requests/\(into)/merge", method: .post,
                    headers: [.authorization: "Bearer \(token)", .contentType: "application/json"], body: ByteBuffer(string: body))
            }
            let merged = try await merge(ids[0], #"{"duplicates":[\#(ids[1]),\#(ids[2])]}"#)
            #expect(merged.status == .ok, "\(merged.text)")
            for child in ids.dropFirst() {
                let stored = try #require(try await app.stores.requests.find(id: Int64(child), jurisdictionID: "test.city"))
                #expect(stored.status == .closed)
            }
            let followers = try await app.stores.requests.followers(requestID: Int64(ids[0]), jurisdictionID: "test.city").map(\.email)
            #expect(Set(followers) == ["one@example.org", "two@example.org", "three@example.org"])
            let again = try await merge(ids[0], #"{"duplicates":[\#(ids[1])]}"#)
            #expect(again.status == .conflict)
            #expect((try again.json() as? [String: Any])?["code"] as? String == "merge_merged")
            #expect(try await merge(ids[0], #"{"duplicates":[424242]}"#).status == .conflict)
            #expect(try await merge(424242, #"{"duplicates":[\#(ids[1])]}"#).status == .notFound)
            #expect(try await merge(ids[0], #"{"duplicates":[]}"#).status == .badRequest)
            #expect(try await merge(ids[0], #"{"duplicates":["x"]}"#).status == .badRequest)
        }
    }
}

@Suite("API v1: likely duplicates, as staff see them and as a resident is asked")
struct APIv1DuplicatesTests {
    @Test("a request's likely duplicates and the pre-submit check: same scores and reasons as the pages, bad input 400")
    func duplicates() async throws {
        try await TestApp.with { app, client in
            let token = try await APIv1InputTests.partner(app, client)
            var ids: [Int] = []
            // Two holes 20 m apart with the same words, one 2 km away.
            for (lat, text) in [("39.29000", "Deep pothole by the bus stop"), ("39.29018", "deep pothole at the bus stop"), ("39.31000", "Pothole")] {
                let (status, created) = try await APIv1InputTests.post(
                    client, token,
                    #"{"service_code": "POTHOLE", "lat": \#(lat), "long": -76.61, "attributes": {"SIZE": "large"}, "description": "\#(text)"}"#)
                #expect(status == .created)
                ids.append(try #require(created["id"] as? Int))
            }
            func get(_ uri: String) async throws -> (HTTPResponse.Status, [String: Any]) {
                let response = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(token)"])
                return (response.status, (try? response.json() as? [String: Any]) ?? [:])
            }
            let (status, body) = try await get("/api/v1/service-requests/\(ids[0])/duplicates")
            #expect(status == .ok)
            let items = try #require(body["items"] as? [[String: Any]])
            #expect(items.map { $0["id"] as? Int } == [ids[1]], "the near one only")
            let first = try #require(items.first)
            #expect((first["reasons"] as? String)?.hasPrefix("same service, 20 m away, opened") == true, "\(first)")
            #expect((first["reasons"] as? String)?.contains("similar description") == true)
            #expect(first["distance_m"] as? Int == 20)
            let score = try #require(first["score"] as? Double)
            #expect(score > 0.5 && score <= 1)
            #expect((body["policy"] as? [String: Any])?["radius_m"] as? Double == 50)
            // The staff page shows the same match.
            let (browser, _) = try await staffBrowser(app, client)
            let page = try await browser.get("/staff/requests/\(ids[0])")
            let reasons = try #require(first["reasons"] as? String)
            #expect(page.text.contains("/staff/requests/\(ids[1])") && page.text.contains(reasons))

            let (checked, check) = try await get("/api/v1/duplicates?service_code=POTHOLE&lat=39.29009&long=-76.61&description=deep+pothole")
            #expect(checked == .ok)
            let found = try #require(check["items"] as? [[String: Any]]).compactMap { $0["id"] as? Int }
            #expect(Set(found) == Set(ids.prefix(2)))
            for (uri, field) in [
                ("/api/v1/duplicates?lat=39.29&long=-76.61", "service_code"),
                ("/api/v1/duplicates?service_code=POTHOLE&lat=north&long=-76.61", "lat"),
                ("/api/v1/duplicates?service_code=POTHOLE&lat=39.29&long=200", "long"),
            ] {
                let (refused, problem) = try await get(uri)
                #expect(refused == .badRequest && problem["field"] as? String == field, "\(uri): \(problem)")
            }
            let (unknown, unknownProblem) = try await get("/api/v1/duplicates?service_code=NOPE&lat=39.29&long=-76.61")
            #expect(unknown == .notFound && unknownProblem["code"] as? String == "service_not_found")
            let anonymous = try await client.execute(uri: "/api/v1/duplicates?service_code=POTHOLE&lat=39.29&long=-76.61", method: .get)
            #expect(anonymous.status == .unauthorized)
            // Merged away, a request has no duplicates of its own.
            _ = try await client.execute(
                uri: "/api/v1/service-requests/\(ids[0])/merge", method: .post,
                headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                body: ByteBuffer(string: #"{"duplicates":[\#(ids[1])]}"#))
            #expect((try await get("/api/v1/service-requests/\(ids[1])/duplicates").1["items"] as? [Any])?.isEmpty == true)
        }
    }
}
