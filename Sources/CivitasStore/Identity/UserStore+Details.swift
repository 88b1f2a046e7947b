import CivitasCore
import Foundation
import SQLKit

extension UserStore {
    /// Saves the name a person wants us to use and a phone number to reach them on; either may be left empty. Refused,
    /// naming the field, when too long, not a phone number or holding a NUL; the change is in the audit chain.
    public func setDetails(id: Int64, name: String, phone: String, jurisdictionID: String, actor: String, now: Date = Date()) async throws {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        let phone = phone.trimmingCharacters(in: .whitespacesAndNewlines)
        if ExternalText.problem(in: name) != nil || name.count > 200 {
            throw CivitasError.invalid("name_invalid", "Write a name of at most 200 characters.", field: "name")
        }
        if !phone.isEmpty,
            ExternalText.problem(in: phone) != nil || phone.count > 30 || phone.filter(\.isNumber).count < 7
                || !phone.allSatisfy({ $0.isNumber || " +-().".contains($0) })
        {
            throw CivitasError.invalid("phone_invalid", "Write a phone number with at least 7 digits, like 410 555 0100.", field: "phone")
        }
        try await database.transaction { sql in
            try await sql.update("users").set("display_name", to: name).set("phone", to: phone).where("id", .equal, id)
                .where("jurisdiction_id", .equal, jurisdictionID).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "user.details_changed", subject: "user:\(id)", person: "user:\(id)", fields: ["name", "phone"]),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }

    /// A new password chosen by the person themselves, with the change in the audit chain.
    public func changePassword(id: Int64, hash: String, jurisdictionID: String, actor: String, now: Date = Date()) async throws {
        try await database.transaction { sql in
            try await sql.update("users").set("password_hash", to: hash).set("failed_logins", to: 0).set("locked_until", to: SQLLiteral.null)
                .where("id", .equal, id).where("jurisdiction_id", .equal, jurisdictionID).run()
            try await AuditStore.append(
                AuditEvent(actor: actor, action: "user.password_changed", subject: "user:\(id)", person: "user:\(id)"),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
        }
    }
}
