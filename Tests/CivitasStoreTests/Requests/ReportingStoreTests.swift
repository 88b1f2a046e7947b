import CivitasCore
import Foundation
import SQLKit
import Testing

@testable import CivitasStore

@Suite("Reporting storage: addresses, duplicates, followers and their mail, drafts, settings — on SQLite and PostgreSQL")
struct ReportingStoreTests {
    @Test("typed text finds addresses by their start or by a word; a map click finds the nearest", arguments: Engine.allCases)
    func addresses(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let store = AddressStore(database: test.database)
            let points = [
                AddressPoint(address: "100 N Charles St", zipcode: "21201", location: Coordinate(latitude: 39.2925, longitude: -76.6155)),
                AddressPoint(address: "1000 N Charles St", zipcode: "21201", location: Coordinate(latitude: 39.3010, longitude: -76.6160)),
                AddressPoint(address: "12 Calle Señora", location: Coordinate(latitude: 39.2800, longitude: -76.6000)),
                AddressPoint(address: "5 Mainly_Street", location: Coordinate(latitude: 39.2700, longitude: -76.6000)),
            ]
            #expect(try await store.replaceAll(points, jurisdictionID: test.jurisdiction) == 4)
            #expect(try await store.search("100 n charles", jurisdictionID: test.jurisdiction).map(\.address) == ["100 N Charles St"])
            #expect(try await store.search("100", jurisdictionID: test.jurisdiction).map(\.address) == ["100 N Charles St", "1000 N Charles St"])
            #expect(try await store.search("charles st", jurisdictionID: test.jurisdiction).count == 2)
            #expect(try await store.search("senora", jurisdictionID: test.jurisdiction).map(\.address) == ["12 Calle Señora"])
            // LIKE wildcards typed by a resident are plain characters.
            #expect(try await store.search("5 m%", jurisdictionID: test.jurisdiction).map(\.address) == ["5 Mainly_Street"])
            #expect(try await store.search("1_0", jurisdictionID: test.jurisdiction).isEmpty)
            #expect(try await store.search("9", jurisdictionID: test.jurisdiction).isEmpty)
            let clicked = Coordinate(latitude: 39.2926, longitude: -76.6156)
            #expect(try await store.nearest(to: clicked, jurisdictionID: test.jurisdiction)?.address == "100 N Charles St")
            #expect(try await store.nearest(to: Coordinate(latitude: 39.0, longitude: -77.0), jurisdictionID: test.jurisdiction) == nil)
            // Importing again replaces, all at once.
            try await store.replaceAll(Array(points.prefix(1)), jurisdictionID: test.jurisdiction)
            #expect(try await store.count(jurisdictionID: test.jurisdiction) == 1)
        }
    }

    @Test(
        "nearby open requests of the same service are offered as duplicates, best first; closed and merged ones are not", arguments: Engine.allCases)
    func duplicates(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let requests = ServiceRequestStore(database: test.database)
            func file(lat: Double, description: String = "Deep hole") async throws -> Int64 {
                try await requests.create(
                    newRequest(lat: lat, description: description), service: pothole, jurisdictionID: test.jurisdiction, source: "web"
                ).id
            }
            let near = try await file(lat: 39.2904)  // the same spot
            let twentyMetres = try await file(lat: 39.29058)
            let closed = try await file(lat: 39.2904)
            _ = try await requests.changeStatus(id: closed, jurisdictionID: test.jurisdiction, to: .closed, note: nil, actor: "test")
            _ = try await file(lat: 39.2914)  // about 110 m north
            let probe = DuplicateProbe(
                serviceCode: "POTHOLE", location: Coordinate(latitude: 39.2904, longitude: -76.6122), at: Date(), description: "deep hole")
            let found = try await requests.duplicates(of: probe, policy: .standard, jurisdictionID: test.jurisdiction)
            #expect(found.map(\.id) == [near, twentyMetres])
            #expect(found[1].explanation.hasPrefix("same service, 20 m away, opened just now"))
            let wider = try await requests.duplicates(
                of: probe, policy: DuplicatePolicy(radiusMetres: 200, window: 86_400), jurisdictionID: test.jurisdiction)
            #expect(wider.count == 3)
            // A different service at the same spot is never offered.
            let other = DuplicateProbe(serviceCode: "GRAFFITI", location: probe.location, at: Date())
            #expect(try await requests.duplicates(of: other, policy: .standard, jurisdictionID: test.jurisdiction).isEmpty)
        }
    }

    @Test("reporters and followers get one mail per public change, written with the change; unsubscribing stops it", arguments: Engine.allCases)
    func followersAndMail(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            var requests = ServiceRequestStore(database: test.database)
            requests.notices = NoticeSettings(site: "Test City", publicURL: "https://311.example.gov")
            let outbox = MailOutboxStore(database: test.database)
            let created = try await requests.create(
                newRequest(), service: pothole, jurisdictionID: test.jurisdiction, source: "web", language: .spanish)
            let follower = try await requests.follow(
                requestID: created.id, jurisdictionID: test.jurisdiction, email: " Ben@Example.org", userID: nil, language: .english,
                actor: "anonymous", source: "203.0.113.9")
            // Following twice is one follower.
            _ = try await requests.follow(
                requestID: created.id, jurisdictionID: test.jurisdiction, email: "ben@example.org", userID: nil, language: .english,
                actor: "anonymous", source: nil)
            #expect(try await requests.followerCount(requestID: created.id, jurisdictionID: test.jurisdiction) == 1)
            #expect(
                try await requests.followers(requestID: created.id, jurisdictionID: test.jurisdiction).map(\.email) == [
                    "ana@example.org", "ben@example.org",
                ])
            await #expect(throws: CivitasError.self) {
                try await requests.follow(
                    requestID: created.id, jurisdictionID: test.jurisdiction, email: "not an email", userID: nil, language: .english,
                    actor: "anonymous", source: nil)
            }

            // An internal note and a priority change tell nobody.
            _ = try await requests.update(
                id: created.id, jurisdictionID: test.jurisdiction,
                change: RequestChange(priority: .high, note: "Caller is 90", noteVisibility: .internal),
                by: ChangeOrigin(actor: "staff:1"))
            #expect(try await outbox.claimDue().isEmpty)

            // Closing tells both, each in their language, with the public note and an unsubscribe link.
            _ = try await requests.update(
                id: created.id, jurisdictionID: test.jurisdiction, change: RequestChange(status: .closed, note: "Filled today."),
                by: ChangeOrigin(actor: "staff:1"))
            let mails = try await outbox.claimDue().sorted { $0.recipient < $1.recipient }
            #expect(mails.map(\.recipient) == ["ana@example.org", "ben@example.org"])
            #expect(mails[0].subject.hasPrefix("Su solicitud \(created.id) está cerrada"))
            #expect(mails[1].subject.hasPrefix("Your request \(created.id) is closed"))
            #expect(mails[1].body.contains("Filled today.") && mails[1].body.contains("https://311.example.gov/requests/\(created.id)"))
            #expect(mails[1].unsubscribeURL == "https://311.example.gov/unsubscribe/\(follower.unsubscribeToken)")
            #expect(!mails.contains { $0.body.contains("Caller is 90") })

            // Unsubscribed: the next change mails only the reporter.
            #expect(try await requests.unsubscribe(token: follower.unsubscribeToken) == created.id)
            #expect(try await requests.unsubscribe(token: String(repeating: "0", count: 32)) == nil)
            _ = try await requests.update(
                id: created.id, jurisdictionID: test.jurisdiction, change: RequestChange(status: .open), by: ChangeOrigin(actor: "staff:1"))
            #expect(try await outbox.claimDue().map(\.recipient) == ["ana@example.org"])

            // A change that fails writes no mail: the outbox is part of the transaction.
            await #expect(throws: CivitasError.self) {
                try await requests.update(
                    id: created.id, jurisdictionID: test.jurisdiction, change: RequestChange(status: .closed, assigneeID: .some(424_242)),
                    by: ChangeOrigin(actor: "staff:1"))
            }
            #expect(try await outbox.claimDue().isEmpty)
            // The follow itself is in the audit chain, naming whose email it stored.
            let audit = try await AuditStore(database: test.database).entries(person: "email:ben@example.org", jurisdictionID: test.jurisdiction)
            #expect(audit.map(\.event.action) == ["request.follow", "request.follow"])
        }
    }

    @Test("drafts keep a report's answers between pages, expire, and are unguessable", arguments: Engine.allCases)
    func drafts(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let drafts = ReportDraftStore(database: test.database)
            let now = Date()
            let id = try await drafts.create(jurisdictionID: test.jurisdiction, lifetime: 3600, now: now)
            #expect(try await drafts.load(id, jurisdictionID: test.jurisdiction, now: now) == [:])
            try await drafts.save(id, data: ["service": ["BULKY"], "attribute[ITEMS]": ["sofa", "mattress"]], jurisdictionID: test.jurisdiction)
            #expect(try await drafts.load(id, jurisdictionID: test.jurisdiction, now: now)?["attribute[ITEMS]"] == ["sofa", "mattress"])
            #expect(try await drafts.load(id, jurisdictionID: "elsewhere", now: now) == nil)
            #expect(try await drafts.load(String(repeating: "a", count: 40), jurisdictionID: test.jurisdiction, now: now) == nil)
            #expect(try await drafts.load(id, jurisdictionID: test.jurisdiction, now: now.addingTimeInterval(3601)) == nil)
            #expect(try await drafts.purge(now: now.addingTimeInterval(3601)) == 1)
        }
    }

    @Test("service settings default to 50 m and 14 days, and an admin's change is checked and audited", arguments: Engine.allCases)
    func settings(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let store = ServiceSettingsStore(database: test.database)
            #expect(try await store.settings(for: "POTHOLE", jurisdictionID: test.jurisdiction) == .standard)
            let trees = ServiceSettings(duplicates: DuplicatePolicy(radiusMetres: 100, window: 3 * 86_400), visibility: .blurred)
            try await store.set(trees, for: "TREE", jurisdictionID: test.jurisdiction, actor: "staff:1")
            #expect(try await store.settings(for: "TREE", jurisdictionID: test.jurisdiction) == trees)
            await #expect(throws: CivitasError.self) {
                try await store.set(
                    ServiceSettings(duplicates: DuplicatePolicy(radiusMetres: 0, window: 3600), visibility: .public), for: "TREE",
                    jurisdictionID: test.jurisdiction, actor: "staff:1")
            }
            #expect(try await AuditStore(database: test.database).verify(jurisdictionID: test.jurisdiction).entries == 1)
        }
    }
}
