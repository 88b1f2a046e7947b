import ArgumentParser
import CivitasCore
import CivitasServer
import CivitasStore
import Foundation

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage staff accounts.", subcommands: [Add.self, List.self, Disable.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a staff member and print a one-time link (valid 72 hours) for them to choose a password.")

        @Option(help: "Their work email address.") var email: String
        @Option(help: "admin, supervisor, agent, crew or analyst.") var role: String
        @Option(help: "A department they work in (repeat, or separate with commas). Admins and analysts default to all.")
        var department: [String] = []
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (email, role, departments) = (email, role, department)
            try await withStores(options) { configuration, stores, _ in
                let (user, link) = try await Commands.addUser(
                    email: email, role: role, departments: departments, stores: stores, configuration: configuration)
                print("Added \(user.role?.rawValue ?? "staff") \(user.email) (user \(user.id)) in \(user.departments.names.joined(separator: ", ")).")
                print("Send them this one-time set-up link (valid 72 hours; they will also set up two-factor sign-in):")
                print(link)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts, staff first.")
        @Flag(help: "Include residents.") var residents = false
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let residents = residents
            try await withStores(options) { configuration, stores, _ in
                let jurisdiction = configuration.jurisdiction.id
                var users = try await stores.users.list(jurisdictionID: jurisdiction, kind: .staff)
                if residents { users += try await stores.users.list(jurisdictionID: jurisdiction, kind: .resident) }
                print(Commands.userTable(users))
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable an account: it can no longer sign in, and its sessions and tokens end at once.")
        @Argument(help: "The user's id or email.") var user: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let text = user
            try await withStores(options) { configuration, stores, _ in
                let user = try await Commands.findUser(text, stores: stores, jurisdictionID: configuration.jurisdiction.id)
                try await stores.users.disable(id: user.id, jurisdictionID: configuration.jurisdiction.id, actor: "cli", source: "cli")
                print("Disabled \(user.email) (user \(user.id)); their sessions and tokens were ended.")
            }
        }
    }
}

struct Clients: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage partner systems that use OAuth 2.0 client credentials.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a partner system and print its id and secret (shown once).")
        @Option(help: "The partner system's name.") var name: String
        @Option(help: "Scopes, space- or comma-separated: requests:read, requests:write.") var scopes: String
        @Option(help: "Limit it to a department (repeat, or separate with commas); default: all.") var department: [String] = []
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (name, scopes, departments) = (name, scopes, department)
            try await withStores(options) { configuration, stores, _ in
                let parsed = try Scope.parseList(scopes)
                let (client, secret) = try await stores.credentials.createClient(
                    name: name, scopes: parsed, departments: Commands.departmentScope(departments),
                    jurisdictionID: configuration.jurisdiction.id, actor: "cli")
                print("client_id: \(client.id)")
                print("client_secret: \(secret)")
                FileHandle.standardError.write(
                    Data("Keep the secret safe; it is not shown again. Tokens: POST \(configuration.publicURL)/oauth/token\n".utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List partner clients (never their secrets).")
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            try await withStores(options) { configuration, stores, _ in
                print("client_id\tname\tscopes\tdepartments\tstate")
                for client in try await stores.credentials.clients(jurisdictionID: configuration.jurisdiction.id) {
                    print(
                        "\(client.id)\t\(client.name)\t\(client.scopes.map(\.rawValue).joined(separator: " "))\t"
                            + "\(client.departments.names.joined(separator: ","))\t\(client.revoked ? "revoked" : "active")")
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a client: its tokens stop working at once.")
        @Argument(help: "The client_id.") var id: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let id = id
            try await withStores(options) { configuration, stores, _ in
                try await stores.credentials.revokeClient(id: id, jurisdictionID: configuration.jurisdiction.id, actor: "cli")
                print("Revoked client \(id).")
            }
        }
    }
}

struct Tokens: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage staff members' personal API tokens.", subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a personal token that acts as a staff member, narrowed to scopes; printed once.")
        @Option(help: "The staff member's id or email.") var user: String
        @Option(help: "What the token is for.") var name: String
        @Option(help: "Scopes, space- or comma-separated.") var scopes: String
        @Option(help: "Days until it expires (default 90; 0 for never).") var days: Int = 90
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (text, name, scopes, days) = (user, name, scopes, days)
            guard days >= 0 else {
                FileHandle.standardError.write(Data("civitas: --days must be 0 or more.\n".utf8))
                throw ExitCode.failure
            }
            try await withStores(options) { configuration, stores, _ in
                let user = try await Commands.findUser(text, stores: stores, jurisdictionID: configuration.jurisdiction.id)
                guard user.kind == .staff else {
                    throw CivitasError.invalid("not_staff", "\(user.email) is not a staff member; only staff have personal tokens.")
                }
                let (token, clear) = try await stores.credentials.createPersonalToken(
                    userID: user.id, name: name, scopes: try Scope.parseList(scopes), lifetime: days == 0 ? nil : TimeInterval(days) * 86400,
                    jurisdictionID: configuration.jurisdiction.id)
                FileHandle.standardError.write(Data("Token \(token.id) for \(user.email); shown once:\n".utf8))
                print(clear)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a personal token.")
        @Argument(help: "The token's id.") var id: Int64
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let id = id
            try await withStores(options) { configuration, stores, _ in
                try await stores.credentials.revokePersonalToken(id: id, jurisdictionID: configuration.jurisdiction.id, actor: "cli")
                print("Revoked token \(id).")
            }
        }
    }
}
