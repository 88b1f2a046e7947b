import CivitasCore
import Foundation
import SQLKit
import Testing

@testable import CivitasStore

let pothole = ServiceDefinition(
    code: "POTHOLE", name: "Pothole", description: "A hole in the road.", keywords: ["road", "hole"], group: "Streets",
    attributes: [
        ServiceAttribute(
            code: "SIZE", datatype: .singlevaluelist, required: true, order: 1, description: "How big?",
            values: [.init(key: "s", name: "Small"), .init(key: "l", name: "Large")])
    ], department: "Transportation", slaHours: 72)
let graffiti = ServiceDefinition(code: "GRAFFITI", name: "Graffiti", group: "Neighborhood", department: "Housing")

func newRequest(_ code: String = "POTHOLE", lat: Double = 39.2904, long: Double = -76.6122, description: String? = "Deep hole") -> NewServiceRequest {
    NewServiceRequest(
        serviceCode: code, description: description,
        location: RequestLocation(latitude: lat, longitude: long, address: "100 N Charles St", addressID: "42", zipcode: "21201"),
        attributes: code == "POTHOLE" ? ["SIZE": ["l"]] : [:],
        reporter: Reporter(email: "ana@example.org", deviceID: "dev-1", firstName: "Ana", lastName: "Diaz", phone: "555 0100"))
}

@Suite("Storage contract, on SQLite and PostgreSQL")
struct StoreContractTests {
    @Test("migrations apply once, in a transaction each, and are recorded", arguments: Engine.allCases)
    func migrations(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let migrator = Migrator(database: test.database)
            #expect(try await migrator.appliedVersions() == Migrator.all.map(\.version))
            #expect(Migrator.all.map(\.version) == Array(1...Migrator.all.count), "numbered without gaps")
            #expect(try await migrator.migrate().isEmpty)
            // A migration that fails leaves neither its tables nor a record behind.
            let broken = Migration(version: 99, name: "broken") { sql, _ in
                try await sql.create(table: "half_done").column("id", type: .int).run()
                try await sql.raw("THIS IS NOT SQL").run()
            }
            await #expect(throws: (any Error).self) { try await Migrator(database: test.database, migrations: Migrator.all + [broken]).migrate() }
            #expect(try await migrator.appliedVersions() == Migrator.all.map(\.version))
            let leftover = try await test.database.read { sql in
                try? await sql.select().column("id").from("half_done").all()
            }
            #expect(leftover == nil)
        }
    }

    @Test(
        "two transactions that lock the same rows in opposite orders both commit: the one ended as a deadlock is tried again",
        arguments: Engine.allCases)
    func deadlockRetried(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            try await test.database.transaction { sql in
                try await sql.raw("CREATE TABLE deadlock_probe (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)").run()
                try await sql.raw("INSERT INTO deadlock_probe (id, n) VALUES (1, 0), (2, 0)").run()
            }
            let attempts = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for order in [[1, 2], [2, 1]] {
                    group.addTask {
                        try await test.database.transaction { sql in
                            await attempts.add()
                            for (position, id) in order.enumerated() {
                                try await sql.raw("UPDATE deadlock_probe SET n = n + 1 WHERE id = \(bind: id)").run()
                                if position == 0 { try await Task.sleep(for: .milliseconds(300)) }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let rows = try await test.database.read { sql in
                try await sql.raw("SELECT n FROM deadlock_probe ORDER BY id").all().map { try $0.decode(column: "n", as: Int.self) }
            }
            #expect(rows == [2, 2], "each transaction's two updates, once")
            if engine == .postgres { #expect(await attempts.value == 3, "PostgreSQL ended one of them, which ran again") }
            // Other failures are not tried again, and what PostgreSQL said can be logged by its code alone.
            do {
                try await test.database.transaction { sql in
                    await attempts.add()
                    try await sql.raw("INSERT INTO deadlock_probe (id, n) VALUES (1, 0)").run()
                }
                Issue.record("a duplicate key was inserted")
            } catch {
                #expect(Database.sqlState(error) == (engine == .postgres ? "23505" : nil))
            }
            #expect(await attempts.value == (engine == .postgres ? 4 : 3), "a unique violation runs once")
        }
    }

    @Test("a catalog import creates, then updates by service_code", arguments: Engine.allCases)
    func catalogUpsert(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let store = ServiceStore(database: test.database)
            let first = try await store.upsert([pothole, graffiti], jurisdictionID: test.jurisdiction)
            #expect(first.created.sorted() == ["GRAFFITI", "POTHOLE"])
            #expect(try await store.find(code: "POTHOLE", jurisdictionID: test.jurisdiction) == pothole)
            var renamed = pothole
            renamed.name = "Pothole or road damage"
            renamed.attributes = []
            let second = try await store.upsert([renamed], jurisdictionID: test.jurisdiction)
            #expect(second == .init(created: [], updated: ["POTHOLE"]))
            #expect(try await store.find(code: "POTHOLE", jurisdictionID: test.jurisdiction) == renamed)
            #expect(try await store.all(jurisdictionID: test.jurisdiction).map(\.code) == ["GRAFFITI", "POTHOLE"])
            #expect(try await store.find(code: "POTHOLE", jurisdictionID: "elsewhere") == nil)
        }
    }

    @Test("a stored request reads back field for field", arguments: Engine.allCases)
    func requestRoundTrip(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let store = ServiceRequestStore(database: test.database)
            let now = Date(timeIntervalSince1970: 1_790_000_000)
            let created = try await store.create(
                newRequest(lat: 39.290385123456, long: -76.612189987654), service: pothole, jurisdictionID: test.jurisdiction,
                source: "test", now: now)
            #expect(created.id > 0)
            let found = try #require(try await store.find(id: created.id, jurisdictionID: test.jurisdiction))
            #expect(found == created)
            #expect(found.location.latitude == 39.290385123456)
            #expect(found.expectedAt == now.addingTimeInterval(72 * 3600))
            #expect(found.serviceNotice == "We aim to deal with this within 3 days.")
            #expect(found.reporter.email == "ana@example.org")
            #expect(try await store.find(id: created.id, jurisdictionID: "elsewhere") == nil)
        }
    }

    @Test("search filters by id, service, status and time, newest first, with paging", arguments: Engine.allCases)
    func search(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole, graffiti], jurisdictionID: test.jurisdiction)
            let store = ServiceRequestStore(database: test.database)
            let start = Date(timeIntervalSince1970: 1_790_000_000)
            var ids: [Int64] = []
            for index in 0..<6 {
                let service = index.isMultiple(of: 2) ? pothole : graffiti
                ids.append(
                    try await store.create(
                        newRequest(service.code), service: service, jurisdictionID: test.jurisdiction, source: "test",
                        now: start.addingTimeInterval(Double(index) * 3600)
                    ).id)
            }
            _ = try await store.changeStatus(id: ids[0], jurisdictionID: test.jurisdiction, to: .closed, note: "Fixed", actor: "test")

            var query = ServiceRequestQuery(jurisdictionID: test.jurisdiction)
            #expect(try await store.search(query).map(\.id) == ids.reversed())
            query.serviceCodes = ["POTHOLE"]
            #expect(try await store.search(query).map(\.id) == [ids[4], ids[2], ids[0]])
            query.statuses = [.closed]
            #expect(try await store.search(query).map(\.id) == [ids[0]])
            query = ServiceRequestQuery(jurisdictionID: test.jurisdiction)
            query.requestedFrom = start.addingTimeInterval(3600)
            query.requestedTo = start.addingTimeInterval(3 * 3600)
            #expect(try await store.search(query).map(\.id) == [ids[3], ids[2], ids[1]])
            query.limit = 2
            query.offset = 2
            #expect(try await store.search(query).map(\.id) == [ids[1]])
            query.ids = [ids[5], ids[0], 999_999]
            #expect(try await store.search(query).map(\.id).sorted() == [ids[0], ids[5]])
            #expect(try await store.search(ServiceRequestQuery(jurisdictionID: "elsewhere")).isEmpty)
        }
    }

    @Test("a status change updates the request and its history together", arguments: Engine.allCases)
    func statusChange(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let store = ServiceRequestStore(database: test.database)
            let created = try await store.create(newRequest(), service: pothole, jurisdictionID: test.jurisdiction, source: "open311")
            let later = created.requestedAt.addingTimeInterval(600)
            let closed = try await store.changeStatus(
                id: created.id, jurisdictionID: test.jurisdiction, to: .closed, note: "Filled today.", actor: "cli", now: later)
            #expect(closed.status == .closed)
            #expect(closed.statusNotes == "Filled today.")
            #expect(closed.updatedAt == later)
            let history = try await store.updates(id: created.id, jurisdictionID: test.jurisdiction)
            #expect(history.map(\.status) == [.open, .closed])
            #expect(history.map(\.actor) == ["open311", "cli"])

            await #expect(throws: CivitasError.self) {
                try await store.changeStatus(id: created.id, jurisdictionID: "elsewhere", to: .open, note: nil, actor: "cli")
            }
            await #expect(throws: CivitasError.self) {
                try await store.changeStatus(id: 424_242, jurisdictionID: test.jurisdiction, to: .open, note: nil, actor: "cli")
            }
            #expect(try await store.updates(id: created.id, jurisdictionID: test.jurisdiction).count == 2)
        }
    }

    @Test("writes that belong together are all kept or all dropped", arguments: Engine.allCases)
    func atomicity(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let store = ServiceRequestStore(database: test.database)
            let unknownService = ServiceDefinition(code: "NOT_IN_CATALOG", name: "Nope")
            let items = [
                ServiceRequestStore.HistoricRequest(request: newRequest(), service: pothole, requestedAt: Date(), closed: nil),
                ServiceRequestStore.HistoricRequest(
                    request: newRequest("NOT_IN_CATALOG"), service: unknownService, requestedAt: Date(), closed: nil),
            ]
            await #expect(throws: (any Error).self) {
                try await store.createAll(items, jurisdictionID: test.jurisdiction, source: "import")
            }
            #expect(try await store.count(jurisdictionID: test.jurisdiction) == 0)
            // The failed transaction left the connection usable.
            _ = try await store.create(newRequest(), service: pothole, jurisdictionID: test.jurisdiction, source: "test")
            #expect(try await store.count(jurisdictionID: test.jurisdiction) == 1)
        }
    }

    @Test("a batch submission waits under a token until the worker makes it a request", arguments: Engine.allCases)
    func tokens(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let store = ServiceRequestStore(database: test.database)
            let token = try await store.enqueue(newRequest(), jurisdictionID: test.jurisdiction)
            #expect(try await store.token(token, jurisdictionID: test.jurisdiction) == RequestToken(token: token, serviceRequestID: nil))
            #expect(try await store.token(token, jurisdictionID: "elsewhere") == nil)
            #expect(try await store.processPendingTokens() == 1)
            #expect(try await store.processPendingTokens() == 0)
            let id = try #require(try await store.token(token, jurisdictionID: test.jurisdiction)?.serviceRequestID)
            let request = try #require(try await store.find(id: id, jurisdictionID: test.jurisdiction))
            #expect(request.description == "Deep hole")
            #expect(request.attributes == ["SIZE": ["l"]])
        }
    }

    @Test("API keys are stored hashed, verified, and scoped to a jurisdiction", arguments: Engine.allCases)
    func apiKeys(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let store = APIKeyStore(database: test.database)
            let (key, secret) = try await store.create(name: "FixMyStreet", jurisdictionID: test.jurisdiction)
            #expect(try await store.verify(secret, jurisdictionID: test.jurisdiction) == key)
            #expect(try await store.verify(secret + "x", jurisdictionID: test.jurisdiction) == nil)
            #expect(try await store.verify(secret, jurisdictionID: "elsewhere") == nil)
            let stored = try await test.database.read { sql in
                try await sql.select().column("key_hash").from("api_keys").all().map { try $0.decode(column: "key_hash", as: String.self) }
            }
            #expect(stored == [SecureRandom.sha256Hex(secret)])
            #expect(!stored.contains(secret))
            await #expect(throws: CivitasError.self) { try await store.create(name: "  ", jurisdictionID: test.jurisdiction) }
        }
    }

    @Test("a photo is stored with its request in one transaction", arguments: Engine.allCases)
    func media(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0] + (0..<2000).map { UInt8($0 % 251) }
            let upload = MediaUpload(contentType: "image/jpeg", bytes: bytes)
            _ = try await ServiceRequestStore(database: test.database).create(
                newRequest(), service: pothole, jurisdictionID: test.jurisdiction, source: "test", media: upload)
            let found = try #require(try await MediaStore(database: test.database).find(id: upload.id))
            #expect(found.bytes == bytes)
            #expect(found.contentType == "image/jpeg")
        }
    }

    @Test("jurisdictions are created once and updated in place", arguments: Engine.allCases)
    func jurisdictions(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let store = JurisdictionStore(database: test.database)
            let eastern = try #require(TimeZone(identifier: "America/New_York"))
            try await store.ensure(Jurisdiction(id: test.jurisdiction, name: "Renamed", timeZone: eastern))
            try await store.ensure(Jurisdiction(id: "county", name: "County", timeZone: .gmt))
            let all = try await store.all()
            #expect(all.map(\.id) == ["county", test.jurisdiction])
            #expect(all[1].name == "Renamed")
            #expect(all[1].timeZone == eastern)
        }
    }

    @Test("concurrent writers all succeed and none is lost", arguments: Engine.allCases)
    func concurrentWrites(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let store = ServiceRequestStore(database: test.database)
            let jurisdiction = test.jurisdiction
            let ids = try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await store.create(newRequest(), service: pothole, jurisdictionID: jurisdiction, source: "test").id
                    }
                }
                return try await group.reduce(into: [Int64]()) { $0.append($1) }
            }
            #expect(Set(ids).count == 40)
            #expect(try await store.count(jurisdictionID: test.jurisdiction) == 40)
        }
    }

    @Test("under concurrency a failing write is rolled back alone; the others are kept", arguments: Engine.allCases)
    func failuresStayIsolated(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let store = ServiceRequestStore(database: test.database)
            let jurisdiction = test.jurisdiction
            let unknown = ServiceDefinition(code: "NOT_IN_CATALOG", name: "Nope")
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        let good = index % 3 != 0
                        // Each write is two rows (the photo, then the request), so a failure must undo the first.
                        let result = try? await store.create(
                            newRequest(good ? "POTHOLE" : "NOT_IN_CATALOG"), service: good ? pothole : unknown,
                            jurisdictionID: jurisdiction, source: "test",
                            media: MediaUpload(contentType: "image/png", bytes: [0x89, 0x50, 0x4E, 0x47]))
                        return (result != nil) == good
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0 })
            #expect(try await store.count(jurisdictionID: test.jurisdiction) == 40)
            if engine == .sqlite {
                // The writes really shared commits, so the per-write savepoints were exercised.
                #expect((await test.database.largestGroupCommit() ?? 0) > 1)
            }
            let stored = try await test.database.read { sql in
                try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("media")
                    .first()?.decode(column: "n", as: Int.self)
            }
            #expect(stored == 40)
        }
    }

    @Test("SQLite runs in WAL mode with full fsync on commit")
    func sqliteDurabilitySettings() async throws {
        try await TestDatabase.withFresh(.sqlite) { test in
            let (journal, synchronous) = try await test.database.read { sql in
                (
                    try await sql.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self),
                    try await sql.raw("PRAGMA synchronous").first()?.decode(column: "synchronous", as: Int.self)
                )
            }
            #expect(journal == "wal")
            #expect(synchronous == 2)
        }
    }

    @Test("a transaction started inside another joins it instead of waiting for it", arguments: Engine.allCases)
    func nestedTransaction(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let store = ServiceRequestStore(database: test.database)
            let jurisdiction = test.jurisdiction
            await #expect(throws: (any Error).self) {
                try await test.database.transaction { _ in
                    _ = try await store.create(newRequest(), service: pothole, jurisdictionID: jurisdiction, source: "test")
                    throw CivitasError.invalid("abandon", "the outer transaction fails")
                }
            }
            // The inner write was part of the outer transaction, so it was rolled back with it.
            #expect(try await store.count(jurisdictionID: test.jurisdiction) == 0)
        }
    }

    @Test("a queued submission that cannot become a request is closed and does not block the queue", arguments: Engine.allCases)
    func brokenToken(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let store = ServiceRequestStore(database: test.database)
            let jurisdiction = test.jurisdiction
            try await test.database.transaction { sql in
                try await sql.insert(into: "request_tokens")
                    .columns("token", "jurisdiction_id", "service_code", "submission", "created_at")
                    .values(SQLBind("broken"), SQLBind(jurisdiction), SQLBind("POTHOLE"), SQLBind("{}"), SQLBind(Int64(0)))
                    .run()
            }
            let good = try await store.enqueue(newRequest(), jurisdictionID: test.jurisdiction)
            #expect(try await store.processPendingTokens() == 2)
            #expect(try await store.token("broken", jurisdictionID: test.jurisdiction)?.serviceRequestID == nil)
            #expect(try await store.token(good, jurisdictionID: test.jurisdiction)?.serviceRequestID != nil)
            #expect(try await store.processPendingTokens() == 0)
        }
    }
}

actor Counter {
    var value = 0
    func add() { value += 1 }
}
