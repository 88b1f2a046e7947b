import CivitasCore
import Crypto
import Foundation
import SQLKit

/// The append-only, hash-chained audit log: each entry carries the hash of the one before, so an edit, a deletion or
/// a reordering breaks the chain at that entry. One chain per jurisdiction; its head row serialises appends.
public struct AuditStore: Sendable {
    let database: Database
    public init(database: Database) { self.database = database }

    public static let genesis = String(repeating: "0", count: 64)

    /// Appends `event` inside the caller's transaction, so the entry commits or rolls back with the action itself.
    public static func append(_ event: AuditEvent, jurisdictionID: String, at date: Date = Date(), sql: any SQLDatabase)
        async throws
    {
        func lockedHead() async throws -> (any SQLRow)? {
            let select = sql.select().columns("seq", "hash").from("audit_heads").where("jurisdiction_id", .equal, jurisdictionID)
            // PostgreSQL: lock the head so concurrent appends queue; SQLite has one writer already.
            if sql.dialect.name == "postgresql" { select.lockingClause(SQLRaw("FOR UPDATE")) }
            return try await select.first()
        }
        var found = try await lockedHead()
        if found == nil {
            // The jurisdiction's first entry: make the head (another transaction may be making it too).
            try await sql.insert(into: "audit_heads").columns("jurisdiction_id", "seq", "hash")
                .values(SQLBind(jurisdictionID), SQLBind(Int64(0)), SQLBind(genesis))
                .ignoringConflicts().run()
            found = try await lockedHead()
        }
        guard let head = found else {
            throw CivitasError(.unavailable, code: "audit_unavailable", message: "The audit chain could not be read.")
        }
        let seq = try head.decode(column: "seq", as: Int64.self) + 1
        let prev = try head.decode(column: "hash", as: String.self)
        let stamp = Clock.millis(date)
        let hash = entryHash(seq: seq, jurisdictionID: jurisdictionID, at: stamp, event: event, prevHash: prev)
        try await sql.insert(into: "audit_log")
            .columns(
                "jurisdiction_id", "seq", "at", "actor", "action", "subject", "person", "fields", "purpose", "source",
                "prev_hash", "hash"
            )
            .values(
                SQLBind(jurisdictionID), SQLBind(seq), SQLBind(stamp), SQLBind(event.actor), SQLBind(event.action),
                SQLBind(event.subject), SQLBind(event.person), SQLBind(event.fields.joined(separator: ",")),
                SQLBind(event.purpose), SQLBind(event.source), SQLBind(prev), SQLBind(hash)
            ).run()
        try await sql.update("audit_heads").set("seq", to: seq).set("hash", to: hash)
            .where("jurisdiction_id", .equal, jurisdictionID).run()
    }

    /// Appends in a transaction of its own (for actions that are themselves only reads).
    public func append(_ event: AuditEvent, jurisdictionID: String, at date: Date = Date()) async throws {
        try await database.transaction { sql in
            try await Self.append(event, jurisdictionID: jurisdictionID, at: date, sql: sql)
        }
    }

    /// SHA-256 over the previous hash and every field of the entry, in a fixed order and unambiguous encoding.
    static func entryHash(seq: Int64, jurisdictionID: String, at: Int64, event: AuditEvent, prevHash: String) -> String {
        let parts: [String?] = [
            String(seq), jurisdictionID, String(at), event.actor, event.action, event.subject, event.person,
            event.fields.joined(separator: ","), event.purpose, event.source,
        ]
        let encoded = (try? JSONEncoder().encode(parts)) ?? Data()
        var hasher = SHA256()
        hasher.update(data: Data(prevHash.utf8))
        hasher.update(data: Data("\n".utf8))
        hasher.update(data: encoded)
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Walks the whole chain in sequence order and names the first entry that was edited, deleted or moved.
    public func verify(jurisdictionID: String) async throws -> AuditVerification {
        try await database.read { sql in
            var expectedSeq: Int64 = 1
            var prev = Self.genesis
            var count = 0
            var lastSeq: Int64 = 0
            let pageSize = 2000
            while true {
                let rows = try await sql.select().column("*").from("audit_log")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("seq", .greaterThan, lastSeq)
                    .orderBy("seq").limit(pageSize).all()
                for row in rows {
                    let entry = try Self.decode(row)
                    count += 1
                    lastSeq = entry.seq
                    if entry.seq != expectedSeq {
                        return AuditVerification(
                            jurisdictionID: jurisdictionID, entries: count,
                            firstBad: (expectedSeq, "entry \(expectedSeq) is missing (deleted); the next one is \(entry.seq)"))
                    }
                    if entry.prevHash != prev {
                        return AuditVerification(
                            jurisdictionID: jurisdictionID, entries: count,
                            firstBad: (entry.seq, "entry \(entry.seq) does not follow the entry before it (an entry was deleted or moved)"))
                    }
                    let recomputed = Self.entryHash(
                        seq: entry.seq, jurisdictionID: jurisdictionID, at: Clock.millis(entry.at), event: entry.event,
                        prevHash: entry.prevHash)
                    if recomputed != entry.hash {
                        return AuditVerification(
                            jurisdictionID: jurisdictionID, entries: count,
                            firstBad: (entry.seq, "entry \(entry.seq) was edited or moved: its content does not match its hash"))
                    }
                    prev = entry.hash
                    expectedSeq += 1
                }
                if rows.count < pageSize { break }
            }
            let head = try await sql.select().columns("seq", "hash").from("audit_heads")
                .where("jurisdiction_id", .equal, jurisdictionID).first()
            if let head {
                let headSeq = try head.decode(column: "seq", as: Int64.self)
                let headHash = try head.decode(column: "hash", as: String.self)
                if headSeq >= expectedSeq {
                    return AuditVerification(
                        jurisdictionID: jurisdictionID, entries: count,
                        firstBad: (expectedSeq, "entry \(expectedSeq) is missing (deleted); the chain was written up to \(headSeq)"))
                }
                if headSeq == expectedSeq - 1, headSeq > 0, headHash != prev {
                    return AuditVerification(
                        jurisdictionID: jurisdictionID, entries: count,
                        firstBad: (headSeq, "entry \(headSeq) does not match the hash recorded when it was written"))
                }
            }
            return AuditVerification(jurisdictionID: jurisdictionID, entries: count, firstBad: nil)
        }
    }

    /// Every entry about one person, oldest first: what the resident will see as "who looked at my data".
    public func entries(person: String, jurisdictionID: String) async throws -> [AuditEntry] {
        try await database.read { sql in
            try await sql.select().column("*").from("audit_log")
                .where("jurisdiction_id", .equal, jurisdictionID).where("person", .equal, person)
                .orderBy("seq").all().map(Self.decode)
        }
    }

    /// The latest entries, newest first.
    public func recent(jurisdictionID: String, limit: Int = 100) async throws -> [AuditEntry] {
        try await database.read { sql in
            try await sql.select().column("*").from("audit_log").where("jurisdiction_id", .equal, jurisdictionID)
                .orderBy("seq", .descending).limit(limit).all().map(Self.decode)
        }
    }

    /// The jurisdictions that have a chain.
    public func jurisdictions() async throws -> [String] {
        try await database.read { sql in
            try await sql.select().column("jurisdiction_id").from("audit_heads").orderBy("jurisdiction_id").all()
                .map { try $0.decode(column: "jurisdiction_id", as: String.self) }
        }
    }

    static func decode(_ row: any SQLRow) throws -> AuditEntry {
        let fields = try row.decode(column: "fields", as: String.self)
        return AuditEntry(
            seq: try row.decode(column: "seq", as: Int64.self),
            jurisdictionID: try row.decode(column: "jurisdiction_id", as: String.self),
            at: Clock.date(try row.decode(column: "at", as: Int64.self)),
            event: AuditEvent(
                actor: try row.decode(column: "actor", as: String.self),
                action: try row.decode(column: "action", as: String.self),
                subject: try row.decode(column: "subject", as: String.self),
                person: try row.decode(column: "person", as: String?.self),
                fields: fields.isEmpty ? [] : fields.split(separator: ",").map(String.init),
                purpose: try row.decode(column: "purpose", as: String?.self),
                source: try row.decode(column: "source", as: String?.self)),
            prevHash: try row.decode(column: "prev_hash", as: String.self),
            hash: try row.decode(column: "hash", as: String.self))
    }
}
