import CivitasCore
import Foundation
import SQLKit
import Testing

@testable import CivitasStore

@Suite("Signed checkpoints of the audit chain, on SQLite and PostgreSQL")
struct AuditCheckpointTests {
    func seed(_ test: TestDatabase, count: Int) async throws -> AuditStore {
        let audit = AuditStore(database: test.database)
        for index in 1...count {
            try await audit.append(
                AuditEvent(actor: "staff:1", action: "request.read_personal", subject: "service_request:\(index)", person: "user:7"),
                jurisdictionID: test.jurisdiction)
        }
        return audit
    }

    @Test("a chain cut short and its head set back passes the walk, but not its checkpoint", arguments: Engine.allCases)
    func cut(engine: Engine) async throws {
        try await TestDatabase.withFresh(engine) { test in
            let audit = try await seed(test, count: 10)
            let pair = AuditSigningKey.generate()
            let (key, publicKey) = (try AuditSigningKey.privateKey(pair.privateKey), try AuditSigningKey.publicKey(pair.publicKey))
            let checkpoints = try await audit.checkpoints(key: key)
            #expect(checkpoints.map(\.seq) == [10])
            #expect(try await audit.check(checkpoints, publicKey: publicKey).isEmpty)
            // A checkpoint reads the heads only: taking one changes nothing in the database.
            #expect(try await audit.verify(jurisdictionID: test.jurisdiction).entries == 10)

            try await test.database.transaction { sql in
                try await sql.delete(from: "audit_log").where("seq", .greaterThan, 7).run()
                let seven = try #require(
                    try await sql.select().column("hash").from("audit_log").where("jurisdiction_id", .equal, test.jurisdiction)
                        .where("seq", .equal, 7).first()?.decode(column: "hash", as: String.self))
                try await sql.update("audit_heads").set("seq", to: 7).set("hash", to: seven)
                    .where("jurisdiction_id", .equal, test.jurisdiction).run()
            }
            #expect(try await audit.verify(jurisdictionID: test.jurisdiction).intact, "the walk alone cannot see a cut")
            let problems = try await audit.check(checkpoints, publicKey: publicKey)
            #expect(problems.count == 1)
            #expect(problems.first?.contains("CUT SHORT: entry 10 is gone, and the chain now ends at entry 7") == true)

            try await test.database.transaction { sql in
                try await sql.delete(from: "audit_log").run()
                try await sql.delete(from: "audit_heads").run()
            }
            #expect(try await audit.check(checkpoints, publicKey: publicKey).first?.contains("the chain is now empty") == true)
        }
    }

    @Test("a checkpoint is bound to its key and its fields; a file line that is not one is named")
    func signatures() throws {
        let pair = AuditSigningKey.generate()
        let (key, publicKey) = (try AuditSigningKey.privateKey(pair.privateKey), try AuditSigningKey.publicKey(pair.publicKey))
        let otherPublic = try AuditSigningKey.publicKey(AuditSigningKey.generate().publicKey)
        let checkpoint = try AuditCheckpoint.signed(jurisdiction: "city", seq: 42, hash: "ab", at: Date(), key: key)
        #expect(checkpoint.isSigned(by: publicKey))
        #expect(!checkpoint.isSigned(by: otherPublic))
        var moved = checkpoint
        moved.seq = 41
        #expect(!moved.isSigned(by: publicKey))
        #expect(try AuditCheckpoint.read(checkpoint.line + "\n\n" + checkpoint.line + "\n") == [checkpoint, checkpoint])
        #expect(throws: CivitasError.self) { try AuditCheckpoint.read(checkpoint.line + "\nnot json\n") }
        #expect(throws: CivitasError.self) { try AuditSigningKey.privateKey("too short") }
    }
}
