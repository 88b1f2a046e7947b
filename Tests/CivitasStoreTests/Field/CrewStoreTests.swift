import CivitasCore
import Foundation
import Testing

@testable import CivitasStore

@Suite("Crews, service work and saved plans, on SQLite and PostgreSQL")
struct CrewStoreTests {
    @Test("crews keep their depot, shift, skills, services and members; bad input is refused and stores nothing", arguments: Engine.allCases)
    func crews(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let users = UserStore(database: test.database)
            let member = try await users.create(
                email: "crew@city.gov", kind: .staff, role: .crew, departments: .only(["Public Works"]), passwordHash: "x",
                jurisdictionID: test.jurisdiction, actor: "test", source: nil)
            let store = CrewStore(database: test.database)
            let shift = try Shift.parse("mon-fri 07:00-15:30")
            let made = try await store.create(
                department: "Public Works", name: "Bulky 1", depotName: "Central Yard", depot: Coordinate(latitude: 39.29, longitude: -76.61),
                vehicle: "Truck 12", capacity: 20, skills: ["lift"], services: ["BULKY"], shift: shift, members: [member.id],
                jurisdictionID: test.jurisdiction, actor: "test")
            let listed = try await store.list(department: "Public Works", jurisdictionID: test.jurisdiction)
            #expect(listed == [made])
            #expect(listed.first?.members == [member.id] && listed.first?.does("BULKY") == true && listed.first?.does("POTHOLE") == false)
            #expect(try await store.list(department: "Water", jurisdictionID: test.jurisdiction).isEmpty)
            await #expect(throws: CivitasError.self) {
                try await store.create(
                    department: "Public Works", name: "Ghost", depotName: "Yard", depot: Coordinate(latitude: 39.29, longitude: -76.61),
                    vehicle: "Truck", capacity: 5, skills: [], services: nil, shift: shift, members: [424_242],
                    jurisdictionID: test.jurisdiction, actor: "test")
            }
            await #expect(throws: CivitasError.self) {
                try await store.create(
                    department: "Public Works", name: "Zero", depotName: "Yard", depot: Coordinate(latitude: 39.29, longitude: -76.61),
                    vehicle: "Truck", capacity: 0, skills: [], services: nil, shift: shift, members: [], jurisdictionID: test.jurisdiction,
                    actor: "test")
            }
            #expect(try await store.list(department: nil, jurisdictionID: test.jurisdiction).count == 1, "a refused crew leaves nothing behind")
            try await store.setWork(ServiceWork(minutes: 10, load: 2, skill: "lift"), for: "BULKY", jurisdictionID: test.jurisdiction, actor: "test")
            #expect(try await store.work(jurisdictionID: test.jurisdiction)["BULKY"] == ServiceWork(minutes: 10, load: 2, skill: "lift"))
        }
    }

    @Test("plans are saved as numbered versions with their stops, reasons and what was left out", arguments: Engine.allCases)
    func plans(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let plans = PlanStore(database: test.database)
            let at = Date(timeIntervalSince1970: 1_795_500_000)
            let stops = [
                SavedPlan.Stop(crewID: 1, requestID: 10, arrives: at, starts: at, ends: at.addingTimeInterval(600), locked: false, reason: "first"),
                SavedPlan.Stop(
                    crewID: 1, requestID: 11, arrives: at.addingTimeInterval(900), starts: at.addingTimeInterval(900),
                    ends: at.addingTimeInterval(1500), locked: true, reason: "second"),
            ]
            let first = try await plans.save(
                department: "Public Works", day: "2026-11-24", stops: stops, unplanned: [(12, "full")], distance: 1234, createdBy: "cli",
                jurisdictionID: test.jurisdiction)
            let second = try await plans.save(
                department: "Public Works", day: "2026-11-24", stops: Array(stops.prefix(1)), unplanned: [], distance: 99, createdBy: "cli",
                jurisdictionID: test.jurisdiction)
            #expect(first.version == 1 && second.version == 2)
            let latest = try #require(try await plans.latest(department: "Public Works", day: "2026-11-24", jurisdictionID: test.jurisdiction))
            #expect(latest.version == 2 && latest.stops == Array(stops.prefix(1)))
            #expect(try await plans.latest(department: "Public Works", day: "2026-11-25", jurisdictionID: test.jurisdiction) == nil)
        }
    }
}

actor Heard {
    var payloads: [String] = []
    func add(_ payload: String) { payloads.append(payload) }

    /// Waits up to `seconds` for `payload`.
    func waitFor(_ payload: String, seconds: Double = 5) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if payloads.contains(payload) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return payloads.contains(payload)
    }
}

@Suite("Announcements of changed requests reach every listener, on SQLite and PostgreSQL")
struct AnnouncementTests {
    @Test("creating, changing and merging requests announce their ids after commit; a failed change announces nothing", arguments: Engine.allCases)
    func announcements(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let requests = ServiceRequestStore(database: test.database)
            let heard = Heard()
            let stream = test.database.listen(ServiceRequestStore.liveChannel)
            let listener = Task { for await payload in stream { await heard.add(payload) } }
            defer { listener.cancel() }
            // PostgreSQL's LISTEN starts on its own connection: announce until the listener hears one.
            var ready = false
            for _ in 0..<50 where !ready {
                await test.database.announce(ServiceRequestStore.liveChannel, "ready")
                ready = await heard.waitFor("ready", seconds: 0.2)
            }
            #expect(ready)
            let created = try await requests.create(newRequest(), service: pothole, jurisdictionID: test.jurisdiction, source: "test")
            #expect(await heard.waitFor("\(test.jurisdiction) \(created.id)"))
            await #expect(throws: CivitasError.self) {
                try await requests.update(
                    id: created.id, jurisdictionID: test.jurisdiction, change: RequestChange(assigneeID: .some(424_242)), by: ChangeOrigin(actor: "t")
                )
            }
            _ = try await requests.update(
                id: created.id, jurisdictionID: test.jurisdiction, change: RequestChange(status: .closed), by: ChangeOrigin(actor: "t"))
            #expect(await heard.waitFor("\(test.jurisdiction) \(created.id)"))
            try await Task.sleep(for: .milliseconds(300))
            let announced = await heard.payloads.filter { $0 != "ready" }
            #expect(announced == ["\(test.jurisdiction) \(created.id)", "\(test.jurisdiction) \(created.id)"], "the failed change announced nothing")
        }
    }

    @Test(
        "the reporter is told the agreed time in their language, with the change, and told when it is cancelled; followers are not",
        arguments: Engine.allCases)
    func appointmentMail(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            var requests = ServiceRequestStore(database: test.database)
            requests.notices = NoticeSettings(site: "Test City", publicURL: "https://311.example.gov")
            let outbox = MailOutboxStore(database: test.database)
            let created = try await requests.create(
                newRequest(), service: pothole, jurisdictionID: test.jurisdiction, source: "web", language: .spanish)
            _ = try await requests.follow(
                requestID: created.id, jurisdictionID: test.jurisdiction, email: "ben@example.org", userID: nil, language: .english,
                actor: "anonymous", source: nil)
            _ = try await outbox.claimDue()
            let zone = TimeZone(identifier: "America/New_York")!
            let window = DateInterval(start: Date(timeIntervalSince1970: 1_795_532_400), duration: 7200)  // 2026-11-24 10:00–12:00 in New York
            try await requests.setAppointment(
                id: created.id, window, jurisdictionID: test.jurisdiction, by: ChangeOrigin(actor: "staff:1"), zone: zone)
            let told = try await outbox.claimDue()
            #expect(told.map(\.recipient) == ["ana@example.org"], "the reporter only")
            #expect(
                told.first?.body.contains("Iremos por su solicitud \(created.id)") == true && told.first?.body.contains("10:00–12:00") == true,
                "\(told)")
            #expect(told.first?.unsubscribeURL?.hasPrefix("https://311.example.gov/unsubscribe/") == true)
            try await requests.setAppointment(id: created.id, nil, jurisdictionID: test.jurisdiction, by: ChangeOrigin(actor: "staff:1"), zone: zone)
            #expect(try await outbox.claimDue().first?.subject.contains("visita cancelada") == true)
            // Clearing when there is none tells nobody.
            try await requests.setAppointment(id: created.id, nil, jurisdictionID: test.jurisdiction, by: ChangeOrigin(actor: "staff:1"), zone: zone)
            #expect(try await outbox.claimDue().isEmpty)
        }
    }

    @Test("an appointment is kept with its request, noted internally, replaced, cleared; none for a closed request", arguments: Engine.allCases)
    func appointments(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let requests = ServiceRequestStore(database: test.database)
            let created = try await requests.create(newRequest(), service: pothole, jurisdictionID: test.jurisdiction, source: "test")
            let zone = TimeZone(identifier: "America/New_York")!
            let start = Date(timeIntervalSince1970: 1_795_532_400)  // 2026-11-24 10:00 in New York
            let window = DateInterval(start: start, duration: 7200)
            try await requests.setAppointment(
                id: created.id, window, jurisdictionID: test.jurisdiction, by: ChangeOrigin(actor: "staff:1"), zone: zone)
            #expect(try await requests.appointments(jurisdictionID: test.jurisdiction) == [created.id: window])
            let notes = try await requests.notes(id: created.id, jurisdictionID: test.jurisdiction, includeInternal: true)
            #expect(notes.contains { $0.body == "Appointment set for Tue 24 Nov 10:00–12:00." && $0.visibility == .internal })
            #expect(
                try await requests.notes(id: created.id, jurisdictionID: test.jurisdiction, includeInternal: false).isEmpty, "not shown to the public"
            )
            let later = DateInterval(start: start.addingTimeInterval(3600), duration: 3600)
            try await requests.setAppointment(
                id: created.id, later, jurisdictionID: test.jurisdiction, by: ChangeOrigin(actor: "staff:1"), zone: zone)
            #expect(try await requests.appointments(ids: [created.id], jurisdictionID: test.jurisdiction)[created.id] == later)
            await #expect(throws: CivitasError.self) {
                try await requests.setAppointment(
                    id: created.id, DateInterval(start: start, duration: 13 * 3600), jurisdictionID: test.jurisdiction, by: ChangeOrigin(actor: "t"),
                    zone: zone)
            }
            #expect(try await requests.appointments(jurisdictionID: test.jurisdiction)[created.id] == later, "a refused window changes nothing")
            try await requests.setAppointment(id: created.id, nil, jurisdictionID: test.jurisdiction, by: ChangeOrigin(actor: "staff:1"), zone: zone)
            #expect(try await requests.appointments(jurisdictionID: test.jurisdiction).isEmpty)
            _ = try await requests.update(
                id: created.id, jurisdictionID: test.jurisdiction, change: RequestChange(status: .closed), by: ChangeOrigin(actor: "t"))
            do {
                try await requests.setAppointment(id: created.id, window, jurisdictionID: test.jurisdiction, by: ChangeOrigin(actor: "t"), zone: zone)
                Issue.record("a closed request took an appointment")
            } catch let error as CivitasError {
                #expect(error.code == "request_closed")
            }
        }
    }
}
