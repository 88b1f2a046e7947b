import CivitasCore
import Crypto
import Foundation
import SQLKit

/// A signed note of where one audit chain stood: its newest entry's number and hash, when, signed with Ed25519. The
/// chain alone cannot show that its newest entries were deleted and its head set back (or that it was emptied): what
/// remains is still a valid chain. Checkpoints are kept outside the database, with a key the database never holds, so
/// the entry each one names must still be there with the same hash; `civitas audit verify --checkpoints` checks that.
public struct AuditCheckpoint: Codable, Sendable, Equatable {
    public var jurisdiction: String
    public var seq: Int64
    public var hash: String
    /// When it was taken, RFC 3339 in UTC.
    public var at: String
    /// Ed25519 over `signedText`, base64.
    public var signature: String

    /// Exactly what is signed: a version line, then each field on its own line.
    public var signedText: String { "civitas audit checkpoint 1\n\(jurisdiction)\n\(seq)\n\(hash)\n\(at)" }

    public static func signed(
        jurisdiction: String, seq: Int64, hash: String, at: Date, key: Curve25519.Signing.PrivateKey
    ) throws -> AuditCheckpoint {
        var checkpoint = AuditCheckpoint(
            jurisdiction: jurisdiction, seq: seq, hash: hash, at: ISO8601DateFormatter().string(from: at), signature: "")
        checkpoint.signature = try key.signature(for: Data(checkpoint.signedText.utf8)).base64EncodedString()
        return checkpoint
    }

    public func isSigned(by key: Curve25519.Signing.PublicKey) -> Bool {
        guard let signature = Data(base64Encoded: signature) else { return false }
        return key.isValidSignature(signature, for: Data(signedText.utf8))
    }

    /// One JSON object, for one line of a checkpoint file.
    public var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The checkpoints of a file, one JSON object a line (blank lines skipped); a line that is not one is named.
    public static func read(_ text: String) throws -> [AuditCheckpoint] {
        var out: [AuditCheckpoint] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            guard let checkpoint = try? JSONDecoder().decode(AuditCheckpoint.self, from: Data(trimmed.utf8)) else {
                throw CivitasError.invalid("checkpoint_unreadable", "Line \(index + 1) of the checkpoint file is not a checkpoint.")
            }
            out.append(checkpoint)
        }
        return out
    }
}

/// The Ed25519 key pair that signs checkpoints, written as base64 of the raw 32-byte keys (`AUDIT_SIGNING_KEY`,
/// `AUDIT_PUBLIC_KEY`). The private key lives outside the database: in the environment or a file only the server reads.
public enum AuditSigningKey {
    public static func generate() -> (privateKey: String, publicKey: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (key.rawRepresentation.base64EncodedString(), key.publicKey.rawRepresentation.base64EncodedString())
    }

    /// The public half of a private key, as `AUDIT_PUBLIC_KEY` writes it.
    public static func publicKeyText(ofPrivate text: String) throws -> String {
        try privateKey(text).publicKey.rawRepresentation.base64EncodedString()
    }

    public static func privateKey(_ text: String) throws -> Curve25519.Signing.PrivateKey {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: data)
        else {
            throw CivitasError.invalid("signing_key_invalid", "The audit signing key must be 32 bytes in base64 (see `civitas audit keygen`).")
        }
        return key
    }

    public static func publicKey(_ text: String) throws -> Curve25519.Signing.PublicKey {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: data)
        else {
            throw CivitasError.invalid("public_key_invalid", "The audit public key must be 32 bytes in base64 (see `civitas audit keygen`).")
        }
        return key
    }
}

extension AuditStore {
    /// A signed checkpoint of each chain's head as it stands. Reads one row per jurisdiction: nothing is added to the
    /// work of an audited write.
    public func checkpoints(key: Curve25519.Signing.PrivateKey, at date: Date = Date()) async throws -> [AuditCheckpoint] {
        let heads = try await database.read { sql in
            try await sql.select().columns("jurisdiction_id", "seq", "hash").from("audit_heads").orderBy("jurisdiction_id").all()
                .map {
                    (
                        try $0.decode(column: "jurisdiction_id", as: String.self), try $0.decode(column: "seq", as: Int64.self),
                        try $0.decode(column: "hash", as: String.self)
                    )
                }
        }
        return try heads.map { try AuditCheckpoint.signed(jurisdiction: $0.0, seq: $0.1, hash: $0.2, at: date, key: key) }
    }

    /// What the chains no longer hold that a checkpoint says they did: a cut (the entry is gone), a rewrite (it is
    /// there with another hash), or a checkpoint the key did not sign. One line per problem; none when all hold.
    public func check(_ checkpoints: [AuditCheckpoint], publicKey: Curve25519.Signing.PublicKey) async throws -> [String] {
        var problems: [String] = []
        for checkpoint in checkpoints {
            let name = "\(checkpoint.jurisdiction): checkpoint of \(checkpoint.at)"
            guard checkpoint.isSigned(by: publicKey) else {
                problems.append("\(name) is not signed by this key (the file was altered, or another key signed it)")
                continue
            }
            let (found, last) = try await database.read { sql in
                let row = try await sql.select().column("hash").from("audit_log")
                    .where("jurisdiction_id", .equal, checkpoint.jurisdiction).where("seq", .equal, checkpoint.seq).first()
                let newest = try await sql.select().column("seq").from("audit_log")
                    .where("jurisdiction_id", .equal, checkpoint.jurisdiction).orderBy("seq", .descending).limit(1).first()
                return (try row?.decode(column: "hash", as: String.self), try newest?.decode(column: "seq", as: Int64.self) ?? 0)
            }
            guard let found else {
                let now = last == 0 ? "the chain is now empty" : "the chain now ends at entry \(last)"
                problems.append("\(name): CUT SHORT: entry \(checkpoint.seq) is gone, and \(now)")
                continue
            }
            if found != checkpoint.hash {
                problems.append("\(name): REWRITTEN: entry \(checkpoint.seq) is not the entry that was checkpointed")
            }
        }
        return problems
    }
}
