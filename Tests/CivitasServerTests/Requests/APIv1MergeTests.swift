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
