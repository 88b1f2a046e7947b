import CivitasCore
import CivitasStore
import Foundation

/// The people, credential and audit verbs of `civitas`.
extension Commands {
    /// Adds a staff member and returns a one-time set-up link for them to choose a password (valid 72 hours).
    public static func addUser(
        email: String, role roleName: String, departments: [String], stores: Stores, configuration: AppConfiguration
    ) async throws -> (User, link: String) {
        guard let role = StaffRole(rawValue: roleName.lowercased()) else {
            let roles = StaffRole.allCases.map(\.rawValue).joined(separator: ", ")
            throw CivitasError.invalid("role_invalid", "--role must be one of \(roles), not \"\(roleName)\".")
        }
        let jurisdiction = configuration.jurisdiction.id
        let names = departments.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let scope: DepartmentScope
        if names.isEmpty {
            guard role.defaultsToAllDepartments else {
                throw CivitasError.invalid(
                    "department_required", "A \(role.rawValue) works in named departments: add --department NAME (one or more).")
            }
            scope = .all
        } else {
            // Departments are those of the service catalog and of the case types.
            let known = Set(try await stores.services.all(jurisdictionID: jurisdiction).compactMap(\.department))
                .union(try await stores.cases.types(jurisdictionID: jurisdiction).map(\.department))
            if !known.isEmpty, let unknown = names.first(where: { !known.contains($0) }) {
                throw CivitasError.invalid(
                    "department_unknown", "There is no department \"\(unknown)\". Known: \(known.sorted().joined(separator: ", ")).")
            }
            scope = .only(Set(names))
        }
        let user = try await stores.users.create(
            email: email, kind: .staff, role: role, departments: scope, passwordHash: nil, jurisdictionID: jurisdiction,
            actor: "cli", source: "cli")
        let token = try await stores.users.issueToken(userID: user.id, jurisdictionID: jurisdiction, purpose: .setUp, lifetime: 72 * 3600)
        return (user, "\(configuration.publicURL)/password/reset?token=\(token)")
    }

    /// A user by id or email.
    public static func findUser(_ text: String, stores: Stores, jurisdictionID: String) async throws -> User {
        let found: User?
        if let id = Int64(text) {
            found = try await stores.users.find(id: id).flatMap { $0.jurisdictionID == jurisdictionID ? $0 : nil }
        } else {
            found = try await stores.users.find(email: text, jurisdictionID: jurisdictionID)
        }
        guard let found else { throw CivitasError.notFound("user_not_found", "There is no user \(text) in \(jurisdictionID).") }
        return found
    }

    /// One line per user: id, email, kind, role, departments, second factor, state.
    public static func userTable(_ users: [User]) -> String {
        var lines = ["id\temail\tkind\trole\tdepartments\ttwo_factor\tstate"]
        for user in users {
            let departments = user.kind == .staff ? user.departments.names.joined(separator: ",") : "-"
            let state = user.disabled ? "disabled" : (user.passwordHash == nil ? "invited" : "active")
            lines.append(
                "\(user.id)\t\(user.email)\t\(user.kind.rawValue)\t\(user.role?.rawValue ?? "-")\t\(departments)\t"
                    + "\(user.totpEnabled ? "on" : "off")\t\(state)")
        }
        return lines.joined(separator: "\n")
    }

    /// Parses `--departments` for a client: none means all.
    public static func departmentScope(_ names: [String]) -> DepartmentScope {
        let cleaned = names.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return cleaned.isEmpty ? .all : .only(Set(cleaned))
    }

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
