import CivitasCore
import Foundation
import SQLKit
import Testing

@testable import CivitasStore

@Suite("Identity and the audit chain, on SQLite and PostgreSQL")
struct IdentityStoreTests {
    /// A chain of `count` entries about two people.
    func seedChain(_ test: TestDatabase, count: Int) async throws -> AuditStore {
        let audit = AuditStore(database: test.database)
        for index in 1...count {
            try await audit.append(
                AuditEvent(
                    actor: "staff:\(index % 3)", action: "request.read_personal", subject: "service_request:\(index)",
                    person: index % 2 == 0 ? "user:7" : "email:ana@example.org", fields: ["email", "phone"],
                    purpose: "follow-up call", source: "127.0.0.1"),
                jurisdictionID: test.jurisdiction, at: Date(timeIntervalSince1970: 1_790_000_000 + Double(index)))
        }
        return audit
    }

    @Test("an untouched chain verifies; each entry carries the hash of the one before", arguments: Engine.allCases)
    func intactChain(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let audit = try await seedChain(test, count: 12)
            let result = try await audit.verify(jurisdictionID: test.jurisdiction)
            #expect(result.intact)
            #expect(result.entries == 12)
            let entries = try await audit.recent(jurisdictionID: test.jurisdiction, limit: 12).reversed()
            #expect(entries.first?.prevHash == AuditStore.genesis)
            for (before, after) in zip(entries, entries.dropFirst()) { #expect(after.prevHash == before.hash) }
            #expect(try await audit.entries(person: "user:7", jurisdictionID: test.jurisdiction).count == 6)
        }
    }

    @Test("an edited entry is named", arguments: Engine.allCases)
    func editedEntry(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let audit = try await seedChain(test, count: 10)
            try await test.database.transaction { sql in
                try await sql.update("audit_log").set("purpose", to: "curiosity").where("seq", .equal, 4).run()
            }
            let result = try await audit.verify(jurisdictionID: test.jurisdiction)
            #expect(result.firstBad?.seq == 4)
            #expect(result.firstBad?.problem.contains("edited") == true)
        }
    }

    @Test("a deleted entry is named, in the middle and at the end", arguments: Engine.allCases)
    func deletedEntry(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let audit = try await seedChain(test, count: 10)
            try await test.database.transaction { sql in try await sql.delete(from: "audit_log").where("seq", .equal, 6).run() }
            #expect(try await audit.verify(jurisdictionID: test.jurisdiction).firstBad?.seq == 6)
            // Deleting the newest entries leaves no gap, but the head remembers how far the chain went.
            try await test.database.transaction { sql in
                try await sql.delete(from: "audit_log").where("seq", .greaterThanOrEqual, 5).run()
            }
            let tail = try await audit.verify(jurisdictionID: test.jurisdiction)
            #expect(tail.firstBad?.seq == 5)
            #expect(tail.firstBad?.problem.contains("missing") == true)
        }
    }

    @Test("reordered entries are named", arguments: Engine.allCases)
    func reorderedEntries(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let audit = try await seedChain(test, count: 10)
            // Swap entries 3 and 7 by renumbering them.
            try await test.database.transaction { sql in
                try await sql.update("audit_log").set("seq", to: 1000).where("seq", .equal, 3).run()
                try await sql.update("audit_log").set("seq", to: 3).where("seq", .equal, 7).run()
                try await sql.update("audit_log").set("seq", to: 7).where("seq", .equal, 1000).run()
            }
            #expect(try await audit.verify(jurisdictionID: test.jurisdiction).firstBad?.seq == 3)
        }
    }

    @Test("an audited action and its entry commit or roll back together", arguments: Engine.allCases)
    func auditInTransaction(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let requests = ServiceRequestStore(database: test.database)
            let created = try await requests.create(
                newRequest(), service: pothole, jurisdictionID: test.jurisdiction, source: "open311", actor: "apikey:1")
            let audit = AuditStore(database: test.database)
            let first = try await audit.entries(person: "email:ana@example.org", jurisdictionID: test.jurisdiction)
            #expect(first.map(\.event.action) == ["request.create"])
            #expect(first.first?.event.fields == ["email", "first_name", "last_name", "phone", "device_id"])
            // A failing change (unknown assignee) leaves neither the change nor an audit entry.
            await #expect(throws: CivitasError.self) {
                try await requests.update(
                    id: created.id, jurisdictionID: test.jurisdiction,
                    change: RequestChange(priority: .urgent, note: "Call back"), by: ChangeOrigin(actor: "staff:1"))
                try await requests.update(
                    id: created.id, jurisdictionID: test.jurisdiction, change: RequestChange(assigneeID: .some(99_999)),
                    by: ChangeOrigin(actor: "staff:1"))
            }
            let after = try await requests.find(id: created.id, jurisdictionID: test.jurisdiction)
            #expect(after?.priority == .urgent)
            #expect(after?.assigneeID == nil)
            let verification = try await audit.verify(jurisdictionID: test.jurisdiction)
            #expect(verification.intact)
            #expect(verification.entries == 3)
        }
    }

    @Test("a request is assigned only to active staff of its department", arguments: Engine.allCases)
    func assignees(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let requests = ServiceRequestStore(database: test.database)
            let created = try await requests.create(
                newRequest(), service: pothole, jurisdictionID: test.jurisdiction, source: "open311", actor: "apikey:1")
            let users = UserStore(database: test.database)
            func staff(_ email: String, _ departments: DepartmentScope) async throws -> Int64 {
                try await users.create(
                    email: email, kind: .staff, role: .crew, departments: departments, passwordHash: "x",
                    jurisdictionID: test.jurisdiction, actor: "test", source: nil
                ).id
            }
            let inside = try await staff("crew@city.gov", .only(["Transportation", "Water"]))
            let outside = try await staff("parks@city.gov", .only(["Parks"]))
            let everywhere = try await staff("lead@city.gov", .all)
            let resident = try await users.create(
                email: "ana@example.org", kind: .resident, role: nil, departments: .only([]), passwordHash: "x",
                jurisdictionID: test.jurisdiction, actor: "test", source: nil
            ).id
            for refused in [outside, resident, 99_999] {
                await #expect(throws: CivitasError.self) {
                    try await requests.update(
                        id: created.id, jurisdictionID: test.jurisdiction, change: RequestChange(assigneeID: .some(refused)),
                        by: ChangeOrigin(actor: "staff:1"))
                }
            }
            for accepted in [inside, everywhere] {
                let updated = try await requests.update(
                    id: created.id, jurisdictionID: test.jurisdiction, change: RequestChange(assigneeID: .some(accepted)),
                    by: ChangeOrigin(actor: "staff:1"))
                #expect(updated.assigneeID == accepted)
            }
        }
    }

    @Test("accounts: unique email per jurisdiction, lockout counting, one-time tokens, TOTP steps", arguments: Engine.allCases)
    func accounts(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let users = UserStore(database: test.database)
            let ana = try await users.create(
                email: " Ana@Example.org ", kind: .resident, role: nil, departments: .only([]), passwordHash: "x",
                jurisdictionID: test.jurisdiction, actor: "anonymous", source: nil)
            #expect(ana.email == "ana@example.org")
            await #expect(throws: CivitasError.self) {
                _ = try await users.create(
                    email: "ana@example.org", kind: .resident, role: nil, departments: .only([]), passwordHash: nil,
                    jurisdictionID: test.jurisdiction, actor: "anonymous", source: nil)
            }
            await #expect(throws: CivitasError.self) {
                _ = try await users.create(
                    email: "not an email", kind: .resident, role: nil, departments: .only([]), passwordHash: nil,
                    jurisdictionID: test.jurisdiction, actor: "anonymous", source: nil)
            }
            let now = Date()
            for _ in 1..<5 { try await users.recordFailedSignIn(id: ana.id, lockAfter: 5, lockFor: 900, now: now) }
            #expect(try await users.find(id: ana.id)?.lockedUntil == nil)
            try await users.recordFailedSignIn(id: ana.id, lockAfter: 5, lockFor: 900, now: now)
            let locked = try await users.find(id: ana.id)
            #expect(locked?.lockedUntil.map { $0 > now } == true)

            let token = try await users.issueToken(userID: ana.id, jurisdictionID: test.jurisdiction, purpose: .resetPassword, lifetime: 3600)
            #expect(try await users.consumeToken(token, purposes: [.verifyEmail], jurisdictionID: test.jurisdiction) == nil)
            #expect(try await users.consumeToken(token, purposes: [.resetPassword], jurisdictionID: test.jurisdiction) == ana.id)
            #expect(try await users.consumeToken(token, purposes: [.resetPassword], jurisdictionID: test.jurisdiction) == nil)
            let old = try await users.issueToken(
                userID: ana.id, jurisdictionID: test.jurisdiction, purpose: .verifyEmail, lifetime: 60, now: now.addingTimeInterval(-120))
            #expect(try await users.consumeToken(old, purposes: [.verifyEmail], jurisdictionID: test.jurisdiction) == nil)

            #expect(try await users.useTOTPStep(id: ana.id, step: 100))
            #expect(try await users.useTOTPStep(id: ana.id, step: 100) == false)
            #expect(try await users.useTOTPStep(id: ana.id, step: 99) == false)
            try await users.enableTOTP(id: ana.id, step: 101, recoveryCodeHashes: ["h1", "h2"])
            #expect(try await users.useRecoveryCode(id: ana.id, hash: "h1"))
            #expect(try await users.useRecoveryCode(id: ana.id, hash: "h1") == false)
            #expect(try await users.unusedRecoveryCodes(id: ana.id) == 1)
        }
    }

    @Test("sessions: idle and absolute ends, sign-out everywhere", arguments: Engine.allCases)
    func sessions(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let users = UserStore(database: test.database)
            let sessions = SessionStore(database: test.database)
            let ana = try await users.create(
                email: "ana@example.org", kind: .resident, role: nil, departments: .only([]), passwordHash: "x",
                jurisdictionID: test.jurisdiction, actor: "anonymous", source: nil)
            let start = Date()
            let (cookie, session) = try await sessions.create(
                userID: ana.id, jurisdictionID: test.jurisdiction, secondFactor: false, lifetime: 3600, now: start)
            #expect(session.idHash != cookie)
            #expect(try await sessions.find(cookie: cookie, idle: 600, now: start.addingTimeInterval(300))?.userID == ana.id)
            // Seen at +300 s, so idle until +900 s.
            #expect(try await sessions.find(cookie: cookie, idle: 600, now: start.addingTimeInterval(850)) != nil)
            #expect(try await sessions.find(cookie: "forged", idle: 600) == nil)
            let (idle, _) = try await sessions.create(
                userID: ana.id, jurisdictionID: test.jurisdiction, secondFactor: false, lifetime: 3600, now: start)
            #expect(try await sessions.find(cookie: idle, idle: 600, now: start.addingTimeInterval(700)) == nil)
            let (absolute, _) = try await sessions.create(
                userID: ana.id, jurisdictionID: test.jurisdiction, secondFactor: false, lifetime: 100, now: start)
            #expect(try await sessions.find(cookie: absolute, idle: 600, now: start.addingTimeInterval(101)) == nil)
            _ = try await sessions.create(userID: ana.id, jurisdictionID: test.jurisdiction, secondFactor: false, lifetime: 3600)
            #expect(try await sessions.count(userID: ana.id) >= 2)
            try await sessions.deleteAll(userID: ana.id)
            #expect(try await sessions.count(userID: ana.id) == 0)
        }
    }

    @Test("rate limits count across connections in one window", arguments: Engine.allCases)
    func rateLimits(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let limits = RateLimitStore(database: test.database)
            let now = Date(timeIntervalSince1970: 1_790_000_010)
            let outcomes = try await withThrowingTaskGroup(of: RateLimitStore.Outcome.self) { group in
                for _ in 0..<8 { group.addTask { try await limits.hit("signin:ip:1", limit: 5, window: 60, now: now) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter(\.allowed).count == 5)
            #expect(Set(outcomes.map(\.hits)) == Set(1...8))
            #expect(try await limits.hit("signin:ip:1", limit: 5, window: 60, now: now.addingTimeInterval(60)).allowed)
        }
    }

    @Test("partner clients and personal tokens: secrets shown once, revocation sticks", arguments: Engine.allCases)
    func credentials(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let store = CredentialStore(database: test.database)
            let (client, secret) = try await store.createClient(
                name: "Lender LOS", scopes: [.requestsRead], departments: .only(["Transportation"]),
                jurisdictionID: test.jurisdiction, actor: "cli")
            #expect(try await store.authenticateClient(id: client.id, secret: secret)?.scopes == [.requestsRead])
            #expect(try await store.authenticateClient(id: client.id, secret: secret + "x") == nil)
            try await store.revokeClient(id: client.id, jurisdictionID: test.jurisdiction, actor: "cli")
            #expect(try await store.authenticateClient(id: client.id, secret: secret) == nil)
            #expect(try await store.signingSecret() == store.signingSecret())

            let keys = APIKeyStore(database: test.database)
            let (key, clear) = try await keys.create(name: "App", owner: "dev@example.org", jurisdictionID: test.jurisdiction)
            #expect(try await keys.verify(clear, jurisdictionID: test.jurisdiction)?.owner == "dev@example.org")
            try await keys.revoke(id: key.id, jurisdictionID: test.jurisdiction, actor: "cli")
            #expect(try await keys.verify(clear, jurisdictionID: test.jurisdiction) == nil)
            #expect(try await keys.list(jurisdictionID: test.jurisdiction).first?.revoked == true)
            #expect(try await AuditStore(database: test.database).verify(jurisdictionID: test.jurisdiction).entries == 4)
        }
    }
}
