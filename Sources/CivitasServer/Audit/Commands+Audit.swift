import CivitasCore
import CivitasStore
import Foundation

extension Commands {
    /// `civitas audit verify`: one line per jurisdiction's chain; false when any is broken.
    public static func verifyAudit(stores: Stores, jurisdictionID: String?) async throws -> (ok: Bool, report: [String]) {
        let jurisdictions: [String]
        if let jurisdictionID { jurisdictions = [jurisdictionID] } else { jurisdictions = try await stores.audit.jurisdictions() }
        var ok = true
        var report: [String] = []
        for jurisdiction in jurisdictions {
            let result = try await stores.audit.verify(jurisdictionID: jurisdiction)
            if let bad = result.firstBad {
                ok = false
                report.append("\(jurisdiction): BROKEN at entry \(bad.seq): \(bad.problem)")
            } else {
                report.append("\(jurisdiction): intact, \(result.entries) entries")
            }
        }
        if jurisdictions.isEmpty { report.append("no audit entries yet") }
        return (ok, report)
    }

    /// `civitas audit export --person`: the person id as the chain files it (`user:N` or `email:ADDRESS`).
    public static func personID(_ text: String) -> String {
        if text.hasPrefix("user:") || text.hasPrefix("email:") { return text }
        if Int64(text) != nil { return "user:" + text }
        return "email:" + text.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// One JSON object per line for each entry about a person.
    public static func exportAudit(person: String, stores: Stores, jurisdictionID: String) async throws -> [String] {
        let entries = try await stores.audit.entries(person: personID(person), jurisdictionID: jurisdictionID)
        return entries.map { entry in
            let object: [String: Any] = [
                "seq": entry.seq, "at": rfc3339(entry.at), "actor": entry.event.actor, "action": entry.event.action,
                "subject": entry.event.subject, "person": entry.event.person ?? NSNull(), "fields": entry.event.fields,
                "purpose": entry.event.purpose ?? NSNull(), "source": entry.event.source ?? NSNull(), "hash": entry.hash,
            ]
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        }
    }
}

extension Commands {
    /// `civitas audit checkpoint --to FILE`, and the server's timer: appends a signed checkpoint of each chain's head to
    /// `file` (one JSON line each) and makes it durable before returning. Returns what was written.
    @discardableResult
    public static func appendCheckpoints(stores: Stores, signingKey: String, file: String, at date: Date = Date()) async throws
        -> [AuditCheckpoint]
    {
        let checkpoints = try await stores.audit.checkpoints(key: try AuditSigningKey.privateKey(signingKey), at: date)
        try append(checkpoints, to: file)
        return checkpoints
    }

    /// Appends checkpoints to `file`, one JSON line each, durable before returning.
    static func append(_ checkpoints: [AuditCheckpoint], to file: String) throws {
        guard !checkpoints.isEmpty else { return }
        let url = URL(fileURLWithPath: file)
        if !FileManager.default.fileExists(atPath: file) {
            guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o644]) else {
                throw CivitasError.invalid("checkpoint_file", "Cannot create the checkpoint file \(file).")
            }
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(checkpoints.map { $0.line + "\n" }.joined().utf8))
        try handle.synchronize()
    }

    /// The public key checkpoints are checked with: the one given, or the signing key's.
    public static func auditPublicKey(_ settings: AppConfiguration.AuditSettings) throws -> String {
        if let publicKey = settings.publicKey { return publicKey }
        if let signingKey = settings.signingKey {
            return try AuditSigningKey.publicKeyText(ofPrivate: signingKey)
        }
        throw CivitasError.invalid(
            "public_key_missing", "Give the public key that signed the checkpoints: --public-key or AUDIT_PUBLIC_KEY.")
    }

    /// `civitas audit verify --checkpoints FILE`: every checkpoint in the file (of the jurisdictions checked) must still
    /// hold; one line per problem, false when any.
    public static func verifyCheckpoints(stores: Stores, file: String, publicKey: String, jurisdictionID: String?) async throws
        -> (ok: Bool, report: [String])
    {
        let text: String
        do {
            text = try String(contentsOfFile: file, encoding: .utf8)
        } catch {
            throw CivitasError.invalid("checkpoint_file", "Cannot read the checkpoint file \(file).")
        }
        let checkpoints = try AuditCheckpoint.read(text).filter { jurisdictionID == nil || $0.jurisdiction == jurisdictionID }
        let problems = try await stores.audit.check(checkpoints, publicKey: try AuditSigningKey.publicKey(publicKey))
        if problems.isEmpty {
            return (true, ["checkpoints: all \(checkpoints.count) still hold"])
        }
        return (false, problems.map { "BROKEN: " + $0 })
    }
}
