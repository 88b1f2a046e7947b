import CivitasCore
import Foundation
import SQLKit

/// The people on a case besides the applicant (a representative, an employer, a landlord).
extension CaseStore {
    public func parties(of caseID: Int64) async throws -> [CaseParty] {
        try await database.read { sql in
            try await sql.select().columns("id", "role", "name", "email").from("case_parties").where("case_id", .equal, caseID).orderBy("id").all()
                .map { row in
                    CaseParty(
                        id: try row.decode(column: "id", as: Int64.self), role: try row.decode(column: "role", as: String.self),
                        name: try row.decode(column: "name", as: String.self), email: try row.decode(column: "email", as: String?.self))
                }
        }
    }

    /// Adds someone to a case, with a line on the timeline the applicant can read (they should know who else is on it).
    @discardableResult
    public func addParty(
        _ caseID: Int64, role: String, name: String, email: String?, by caller: CaseCaller, jurisdictionID: String, now: Date = Date(),
        field: (String) -> String = { $0 }
    ) async throws -> CaseParty {
        let party = try CaseParty.checked(role: role, name: name, email: email, field: field)
        guard let found = try await find(id: caseID, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("case_not_found", "There is no case \(caseID).")
        }
        guard found.closedAt == nil else {
            throw CivitasError(.conflict, code: "case_closed", message: "Case \(caseID) is closed; the people on it stay as they are.")
        }
        return try await database.transaction { [self] sql in
            let row = try await sql.insert(into: "case_parties").columns("case_id", "role", "name", "email", "created_at")
                .values(SQLBind(caseID), SQLBind(party.role), SQLBind(party.name), SQLBind(party.email), SQLBind(Clock.millis(now)))
                .returning("id").first()
            guard let id = try row?.decode(column: "id", as: Int64.self) else {
                throw CivitasError.invalid("party_not_added", "The person could not be added.")
            }
            try await event(
                caseID, kind: "party", actor: caller.name, visibility: .applicant, body: CaseWords.partyAdded(party.name, party.role, .english),
                now: now, sql: sql)
            try await sql.update("cases").set("updated_at", to: SQLBind(Clock.millis(now))).where("id", .equal, caseID).run()
            return CaseParty(id: id, role: party.role, name: party.name, email: party.email)
        }
    }

    /// Takes someone off a case (added by mistake, or no longer representing the applicant); the timeline keeps that they were.
    public func removeParty(_ partyID: Int64, caseID: Int64, by caller: CaseCaller, jurisdictionID: String, now: Date = Date()) async throws {
        guard let found = try await find(id: caseID, jurisdictionID: jurisdictionID) else {
            throw CivitasError.notFound("case_not_found", "There is no case \(caseID).")
        }
        guard found.closedAt == nil else {
            throw CivitasError(.conflict, code: "case_closed", message: "Case \(caseID) is closed; the people on it stay as they are.")
        }
        try await database.transaction { [self] sql in
            guard
                let row = try await sql.select().columns("role", "name").from("case_parties").where("id", .equal, partyID).where(
                    "case_id", .equal, caseID
                ).first()
            else { throw CivitasError.notFound("party_not_found", "There is no such person on case \(caseID).") }
            try await sql.delete(from: "case_parties").where("id", .equal, partyID).run()
            let name = try row.decode(column: "name", as: String.self)
            let role = try row.decode(column: "role", as: String.self)
            try await event(
                caseID, kind: "party", actor: caller.name, visibility: .applicant, body: CaseWords.partyRemoved(name, role, .english), now: now,
                sql: sql)
            try await sql.update("cases").set("updated_at", to: SQLBind(Clock.millis(now))).where("id", .equal, caseID).run()
        }
    }
}
