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
                    "department_required",
                    "\(["a", "e", "i", "o", "u"].contains(role.rawValue.prefix(1)) ? "An" : "A") \(role.rawValue) works in named departments: add --department NAME (one or more)."
                )
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

}
