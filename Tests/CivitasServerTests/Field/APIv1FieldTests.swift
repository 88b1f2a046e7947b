import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CivitasServer

@Suite("API v1: crews, plans and crew actions")
struct APIv1FieldTests {
    @Test("a supervisor's token plans a day and keeps a stop with a crew; a crew member's action under one key applies once")
    func field() async throws {
        try await TestApp.with { app, client in
            let partner = try await APIv1InputTests.partner(app, client)
            var ids: [Int] = []
            for lat in [39.29, 39.30, 39.31] {
                let (_, created) = try await APIv1InputTests.post(
                    client, partner, #"{"service_code": "POTHOLE", "lat": \#(lat), "long": -76.61, "attributes": {"SIZE": "large"}}"#)
                ids.append(try #require(created["id"] as? Int))
            }
            let supervisor = try await makeStaff(app, email: "sue@city.gov", role: .supervisor)
            let member = try await makeStaff(app, email: "cam@city.gov", role: .crew)
            func token(_ user: Int64) async throws -> String {
                try await app.stores.credentials.createPersonalToken(
                    userID: user, name: "t", scopes: Scope.allCases, lifetime: 3600, jurisdictionID: "test.city"
                ).1
            }
            let (supervisorToken, crewToken) = (try await token(supervisor), try await token(member))
            for (name, members) in [("Asphalt 1", [member]), ("Asphalt 2", [])] {
                _ = try await app.stores.crews.create(
                    department: "Transportation", name: name, depotName: "Yard", depot: Coordinate(latitude: 39.29, longitude: -76.60),
                    vehicle: "Truck", capacity: 10, skills: [], services: nil, shift: try Shift.parse("mon-sun 00:00-24:00"), members: members,
                    jurisdictionID: "test.city", actor: "test")
            }
            func call(_ method: HTTPRequest.Method, _ uri: String, _ token: String, _ body: String? = nil, key: String? = nil) async throws
                -> (HTTPResponse.Status, [String: Any])
            {
                var headers: HTTPFields = [.authorization: "Bearer \(token)"]
                if body != nil { headers[.contentType] = "application/json" }
                if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
                let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                return (response.status, (try? response.json() as? [String: Any]) ?? [:])
            }
            let crews = try await call(.get, "/api/v1/crews?department=Transportation", partner)
            #expect((crews.1["items"] as? [[String: Any]])?.count == 2)
            let planned = try await call(.post, "/api/v1/plans", supervisorToken, #"{"department": "Transportation", "date": "2026-11-24"}"#)
            #expect(planned.0 == .created && planned.1["version"] as? Int == 1)
            #expect((planned.1["stops"] as? [[String: Any]])?.count == 3)
            // Partners read plans but never plan.
            #expect(try await call(.post, "/api/v1/plans", partner, #"{"department": "Transportation", "date": "2026-11-24"}"#).0 == .forbidden)
            #expect(try await call(.get, "/api/v1/plans?department=Transportation&date=2026-11-24", partner).1["version"] as? Int == 1)
            #expect(try await call(.get, "/api/v1/plans?department=Transportation&date=2026-02-30", partner).0 == .badRequest)
            let asphalt2 = try #require(
                try await app.stores.crews.list(department: "Transportation", jurisdictionID: "test.city").first { $0.name == "Asphalt 2" })
            let pinned = try await call(
                .post, "/api/v1/plans/pins", supervisorToken,
                #"{"department": "Transportation", "date": "2026-11-24", "service_request_id": \#(ids[0]), "crew_id": \#(asphalt2.id)}"#)
            #expect(pinned.0 == .created && pinned.1["version"] as? Int == 2)
            let stop = (pinned.1["stops"] as? [[String: Any]])?.first { $0["service_request_id"] as? Int == ids[0] }
            #expect(stop?["crew_id"] as? Int == Int(asphalt2.id))

            let key = "api-\(UUID().uuidString)"
            let first = try await call(
                .post, "/api/v1/service-requests/\(ids[1])/crew-actions", crewToken, #"{"action": "resolve", "note": "Filled."}"#, key: key)
            #expect(first.0 == .ok && first.1["replayed"] as? Bool == false)
            let again = try await call(
                .post, "/api/v1/service-requests/\(ids[1])/crew-actions", crewToken, #"{"action": "resolve", "note": "Filled."}"#, key: key)
            #expect(again.0 == .ok && again.1["replayed"] as? Bool == true)
            let notes = try await app.stores.requests.notes(id: Int64(ids[1]), jurisdictionID: "test.city", includeInternal: true)
            #expect(notes.filter { $0.body == "Filled." }.count == 1)
            // A photo goes with resolve only, must be an image, and is stored once, without its location.
            let photo = Data(jpegWithLocation).base64EncodedString()
            #expect(
                try await call(
                    .post, "/api/v1/service-requests/\(ids[2])/crew-actions", crewToken, #"{"action": "arrive", "photo": "\#(photo)"}"#,
                    key: "api-\(UUID().uuidString)"
                ).1["code"] as? String == "photo_not_allowed")
            #expect(
                try await call(
                    .post, "/api/v1/service-requests/\(ids[2])/crew-actions", crewToken,
                    #"{"action": "resolve", "note": "Filled.", "photo": "bm90IGFuIGltYWdl"}"#,
                    key: "api-\(UUID().uuidString)"
                ).1["field"] as? String == "photo")
            #expect(try await app.stores.requests.photoIDs(id: Int64(ids[2]), jurisdictionID: "test.city").isEmpty)
            let photoKey = "api-\(UUID().uuidString)"
            for _ in 0..<2 {
                #expect(
                    try await call(
                        .post, "/api/v1/service-requests/\(ids[2])/crew-actions", crewToken,
                        #"{"action": "resolve", "note": "Filled.", "photo": "\#(photo)"}"#,
                        key: photoKey
                    ).0 == .ok)
            }
            let stored = try await app.stores.requests.photoIDs(id: Int64(ids[2]), jurisdictionID: "test.city")
            #expect(stored.count == 1)
            #expect(try await app.stores.media.find(id: stored[0]).map { !String(decoding: $0.bytes, as: UTF8.self).contains("GPS") } == true)
            let conflict = try await call(
                .post, "/api/v1/service-requests/\(ids[1])/crew-actions", crewToken, #"{"action": "resolve", "note": "Filled."}"#,
                key: "api-\(UUID().uuidString)")
            #expect(conflict.0 == .conflict && conflict.1["outcome"] as? String == "conflict")
            #expect(try await call(.post, "/api/v1/service-requests/\(ids[0])/crew-actions", crewToken, #"{"action": "arrive"}"#).0 == .badRequest)
            // An appointment: none yet (null times), then set and read back in words.
            let none = try await call(.get, "/api/v1/service-requests/\(ids[0])/appointment", supervisorToken)
            #expect(none.0 == .ok && none.1["starts"] is NSNull)
            #expect(
                try await call(
                    .put, "/api/v1/service-requests/\(ids[0])/appointment", supervisorToken,
                    #"{"starts": "2026-11-24T13:00:00-05:00", "ends": "2026-11-24T12:00:00-05:00"}"#
                ).0 == .badRequest)
            #expect(
                try await call(
                    .put, "/api/v1/service-requests/\(ids[0])/appointment", supervisorToken,
                    #"{"starts": "2026-11-24T13:00:00-05:00", "ends": "2026-11-24T14:30:00-05:00"}"#
                ).0 == .ok)
            #expect(
                try await call(.get, "/api/v1/service-requests/\(ids[0])/appointment", supervisorToken).1["text"] as? String
                    == "Tue 24 Nov 13:00–14:30")
            // One time null and the other not is refused; both null clears it, and the request has no appointment again.
            let half = try await call(
                .put, "/api/v1/service-requests/\(ids[1])/appointment", supervisorToken, #"{"starts": null, "ends": "2026-11-24T14:30:00-05:00"}"#)
            #expect(half.0 == .badRequest && half.1["field"] as? String == "starts")
            #expect(try await call(.delete, "/api/v1/service-requests/\(ids[1])/appointment", supervisorToken).0 == .methodNotAllowed)
            let cleared = try await call(.put, "/api/v1/service-requests/\(ids[0])/appointment", supervisorToken, #"{"starts": null, "ends": null}"#)
            #expect(cleared.0 == .ok && cleared.1["starts"] is NSNull)
            let after = try await call(.get, "/api/v1/service-requests/\(ids[0])/appointment", supervisorToken)
            #expect(after.0 == .ok && after.1["starts"] is NSNull && after.1["text"] is NSNull)
            #expect(
                try await call(
                    .post, "/api/v1/service-requests/\(ids[0])/crew-actions", supervisorToken, #"{"action": "arrive"}"#,
                    key: "api-\(UUID().uuidString)"
                ).0 == .forbidden)
        }
    }
}
