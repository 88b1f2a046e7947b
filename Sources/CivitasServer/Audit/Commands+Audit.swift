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
