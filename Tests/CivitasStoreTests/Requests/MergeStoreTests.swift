import CivitasCore
import Foundation
import SQLKit
import Testing

@testable import CivitasStore

@Suite("Merging and undoing a merge — on SQLite and PostgreSQL")
struct MergeStoreTests {
    /// A pothole reported by `reporter`, followed by `followers`.
    static func file(_ requests: ServiceRequestStore, _ test: TestDatabase, reporter: String, followers: [String] = []) async throws -> Int64 {
        var new = newRequest()
        new.reporter.email = reporter
        let id = try await requests.create(new, service: pothole, jurisdictionID: test.jurisdiction, source: "web").id
        for email in followers {
            _ = try await requests.follow(
                requestID: id, jurisdictionID: test.jurisdiction, email: email, userID: nil, language: .english, actor: "anonymous",
                source: nil)
        }
        return id
    }

    @Test("undoing a merge gives back exactly what it moved: status, followers, notes on both, mail and the audit entry", arguments: Engine.allCases)
    func undo(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            var requests = ServiceRequestStore(database: test.database)
            requests.notices = NoticeSettings(site: "Test City", publicURL: "https://311.example.gov")
            let outbox = MailOutboxStore(database: test.database)
            let staff = ChangeOrigin(actor: "staff:1", source: "203.0.113.5")
            let parent = try await Self.file(requests, test, reporter: "pat@example.org", followers: ["shared@example.org"])
            // "shared" had stopped following the parent; the merge signs them up again through the first duplicate.
            let token = try #require(
                try await requests.followers(requestID: parent, jurisdictionID: test.jurisdiction).first { $0.email == "shared@example.org" }
            )
            .unsubscribeToken
            _ = try await requests.unsubscribe(token: token)
            let first = try await Self.file(requests, test, reporter: "ana@example.org", followers: ["ben@example.org", "shared@example.org"])
            let second = try await Self.file(requests, test, reporter: "cy@example.org", followers: ["ben@example.org"])
            _ = try await requests.changeStatus(id: second, jurisdictionID: test.jurisdiction, to: .closed, note: nil, actor: "staff:1")
            #expect(try await requests.followerCount(requestID: parent, jurisdictionID: test.jurisdiction) == 1)

            try await requests.merge([first, second], into: parent, jurisdictionID: test.jurisdiction, by: staff)
            func following() async throws -> Set<String> {
                Set(try await requests.followers(requestID: parent, jurisdictionID: test.jurisdiction).map(\.email))
            }
            #expect(try await following() == ["pat@example.org", "shared@example.org", "ana@example.org", "ben@example.org", "cy@example.org"])
            #expect(try await requests.followerCount(requestID: parent, jurisdictionID: test.jurisdiction) == 4)
            #expect(try await requests.undoableMerges([first, second, parent], jurisdictionID: test.jurisdiction) == [first, second])
            _ = try await outbox.claimDue(limit: 100)

            // The first duplicate comes back open; ben stays, as the second duplicate (still merged) brought him too.
            let undone = try await requests.unmerge(first, from: parent, jurisdictionID: test.jurisdiction, by: staff)
            #expect(undone.restored == .open && undone.request.status == .open)
            #expect(try await requests.parent(of: first, jurisdictionID: test.jurisdiction) == nil)
            #expect(try await following() == ["pat@example.org", "ben@example.org", "cy@example.org"])
            #expect(try await requests.followerCount(requestID: parent, jurisdictionID: test.jurisdiction) == 3)
            #expect(try await requests.children(of: parent, jurisdictionID: test.jurisdiction) == [second])
            #expect(
                try await requests.publicHistory(id: first, jurisdictionID: test.jurisdiction).last?.note?.contains(
                    "Separated from request \(parent)") == true)
            #expect(
                try await requests.publicHistory(id: parent, jurisdictionID: test.jurisdiction).last?.note
                    == "Request \(first) was separated from this one: it is a different problem.")
            // The duplicate's own people hear that it is handled on its own again.
            #expect(Set(try await outbox.claimDue(limit: 100).map(\.recipient)) == ["ana@example.org", "ben@example.org", "shared@example.org"])
            let audit = try await AuditStore(database: test.database).recent(jurisdictionID: test.jurisdiction).map(\.event)
            let entry = try #require(audit.first { $0.action == "request.unmerge" })
            #expect(entry.actor == "staff:1" && entry.subject == "service_request:\(first)" && entry.purpose == "separated from \(parent)")
            #expect(try await AuditStore(database: test.database).verify(jurisdictionID: test.jurisdiction).intact)

            // The second comes back closed, as it was; now ben goes too, and the parent is as before the merge.
            #expect(try await requests.unmerge(second, from: parent, jurisdictionID: test.jurisdiction, by: staff).restored == .closed)
            #expect(try await following() == ["pat@example.org"])
            #expect(try await requests.followerCount(requestID: parent, jurisdictionID: test.jurisdiction) == 1)
            #expect(try await requests.undoableMerges([first, second], jurisdictionID: test.jurisdiction).isEmpty)
        }
    }

    @Test("an undo that would not restore what the merge changed is refused, and changes nothing", arguments: Engine.allCases)
    func refusals(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            _ = try await ServiceStore(database: test.database).upsert([pothole], jurisdictionID: test.jurisdiction)
            let requests = ServiceRequestStore(database: test.database)
            let staff = ChangeOrigin(actor: "staff:1")
            func code(_ child: Int64, _ parent: Int64) async -> String? {
                do {
                    try await requests.unmerge(child, from: parent, jurisdictionID: test.jurisdiction, by: staff)
                    return nil
                } catch let error as CivitasError {
                    return error.code
                } catch {
                    return "\(error)"
                }
            }
            let parent = try await Self.file(requests, test, reporter: "pat@example.org")
            let child = try await Self.file(requests, test, reporter: "ana@example.org")
            let other = try await Self.file(requests, test, reporter: "ben@example.org")
            #expect(await code(child, parent) == "unmerge_not_merged")
            #expect(await code(child, 424_242) == "request_not_found")
            #expect(await code(424_242, parent) == "unmerge_unknown")

            // Merged into another request since: this merge is not the one to undo.
            try await requests.merge([child], into: other, jurisdictionID: test.jurisdiction, by: staff)
            #expect(await code(child, parent) == "unmerge_not_merged")
            // The surviving request was merged on: its followers moved with it, so that merge comes first.
            try await requests.merge([other], into: parent, jurisdictionID: test.jurisdiction, by: staff)
            #expect(await code(child, other) == "unmerge_parent_merged")
            #expect(await code(other, parent) == nil)
            #expect(await code(child, other) == nil)

            // Someone changed the duplicate's status after the merge: undoing would overwrite their decision.
            try await requests.merge([child], into: parent, jurisdictionID: test.jurisdiction, by: staff)
            _ = try await requests.changeStatus(id: child, jurisdictionID: test.jurisdiction, to: .open, note: nil, actor: "staff:2")
            #expect(await code(child, parent) == "unmerge_changed")
            #expect(try await requests.parent(of: child, jurisdictionID: test.jurisdiction) == parent)

            // A merge made before merges were recorded cannot be undone exactly.
            try await requests.merge([other], into: parent, jurisdictionID: test.jurisdiction, by: staff)
            try await test.database.transaction { sql in
                let ids = try await sql.select().column("id").from("request_merges").where("child_id", .equal, other).all()
                    .map { try $0.decode(column: "id", as: Int64.self) }
                try await sql.delete(from: "request_merge_followers").where("merge_id", .in, ids).run()
                try await sql.delete(from: "request_merges").where("id", .in, ids).run()
            }
            #expect(await code(other, parent) == "unmerge_unrecorded")
            #expect(try await requests.find(id: other, jurisdictionID: test.jurisdiction)?.status == .closed)
        }
    }
}
