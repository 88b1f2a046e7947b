import ArgumentParser
import CivitasCore
import CivitasRouting
import CivitasServer
import CivitasStore
import Configuration
import Foundation
import Hummingbird
import Logging

struct Requests: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with service requests.", subcommands: [Update.self])

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a request's status, priority or assignee, with a public or internal note.",
            discussion: "The same change, checks and audit entry as PATCH /api/v1/service-requests/{id}.")

        @Argument(help: "The service request id.")
        var id: String

        @Option(help: "open or closed.")
        var status: String?

        @Option(help: "low, normal, high or urgent.")
        var priority: String?

        @Option(help: "A staff id of the request's department (see `civitas users list`), or none to unassign.")
        var assignee: String?

        @Option(help: "A note; public (shown to the resident as status_notes) unless --internal.")
        var note: String?

        @Flag(help: "Keep the note to staff.")
        var `internal` = false

        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (id, status, priority, assignee, note, isInternal) = (id, status, priority, assignee, note, `internal`)
            try await withStores(options) { configuration, stores, _ in
                let request = try await Commands.updateRequest(
                    id: id, status: status, priority: priority, assignee: assignee, note: note, internalNote: isInternal,
                    stores: stores, jurisdictionID: configuration.jurisdiction.id, actor: "cli")
                let assigned = request.assigneeID.map { "assigned to staff \($0)" } ?? "unassigned"
                print("Request \(request.id) is now \(request.status.rawValue), \(request.priority.rawValue) priority, \(assigned).")
            }
        }
    }
}
