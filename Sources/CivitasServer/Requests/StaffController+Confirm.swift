import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird

/// Actions that reach the public or cannot simply be taken back (closing, a prepared response, a merge) are shown
/// first, in words, and saved only when confirmed; every saved action then says what it did.
extension StaffController {
    /// What a change will do, one line each, for the confirmation page and for the notice after saving.
    func describe(_ change: RequestChange, _ request: Request, people: People) -> [String] {
        var lines: [String] = []
        if let status = change.status { lines.append(t(request, status == .closed ? "staff_will_close" : "staff_will_reopen")) }
        if let assignee = change.assigneeID {
            lines.append(
                assignee.map { t(request, "staff_will_assign", ["who": people.name("staff:\($0)", request, web: web)]) }
                    ?? t(request, "staff_will_unassign"))
        }
        if let priority = change.priority { lines.append(t(request, "staff_will_priority", ["priority": priority.rawValue])) }
        if change.note != nil { lines.append(t(request, change.noteVisibility == .public ? "staff_will_note_public" : "staff_will_note_internal")) }
        return lines
    }

    /// The page that asks before saving: what will change, the note as it will read, who will be told. Its form
    /// posts the same fields again to `action`, with `confirmed=1`.
    func confirmPage(
        _ request: Request, staff: Staff, id: Int64, action: String, lines: [String], note: String?, template: String?,
        spanish: String? = nil, told: String, fields pairs: [(String, String)]
    ) -> Response {
        let fields =
            pairs.filter { $0.0 != "csrf" && $0.0 != "confirmed" }.map { ["name": $0.0, "value": $0.1] } + [["name": "confirmed", "value": "1"]]
        return web.page(
            "requests/staff-confirm", title: t(request, "staff_confirm_title", ["id": String(id)]), request: request, identity: staff.identity,
            values: [
                "id": id, "action": action, "lines": lines, "note": note ?? "", "template": template ?? "", "fields": fields, "told": told,
                "spanish": spanish ?? "",
            ])
    }

    /// Who hears of a change: its followers, when the change reaches the public.
    func told(_ change: RequestChange, found: ServiceRequest, _ request: Request) async throws -> String {
        guard change.status != nil || (change.note != nil && change.noteVisibility == .public) else { return t(request, "staff_confirm_quiet") }
        let followers = try await stores.requests.followerCount(requestID: found.id, jurisdictionID: jurisdiction)
        switch followers {
        case 0: return t(request, "staff_confirm_nobody")
        case 1: return t(request, "staff_confirm_told_one")
        default: return t(request, "staff_confirm_told", ["count": String(followers)])
        }
    }

    /// The notice after an action: what was done, from the `done` keys the action redirected with.
    func doneNotice(_ request: Request) -> String {
        guard let done = request.query.get("done") else { return "" }
        let known = [
            "closed": "staff_done_closed", "reopened": "staff_done_reopened", "assigned": "staff_done_assigned",
            "unassigned": "staff_done_unassigned", "priority": "staff_done_priority", "note_public": "staff_done_note_public",
            "note_internal": "staff_done_note_internal", "merged": "staff_done_merged", "appointment": "staff_done_appointment",
            "unmerged": "staff_done_unmerged", "unmerged_closed": "staff_done_unmerged_closed",
        ]
        let lines = done.split(separator: ",").compactMap { known[String($0)].map { t(request, $0, ["ids": request.query.get("ids") ?? ""]) } }
        return lines.isEmpty ? t(request, "staff_done") : lines.joined(separator: " ")
    }

    static func doneKeys(_ change: RequestChange) -> String {
        var keys: [String] = []
        if let status = change.status { keys.append(status == .closed ? "closed" : "reopened") }
        if let assignee = change.assigneeID { keys.append(assignee == nil ? "unassigned" : "assigned") }
        if change.priority != nil { keys.append("priority") }
        if change.note != nil { keys.append(change.noteVisibility == .public ? "note_public" : "note_internal") }
        return keys.joined(separator: ",")
    }
}
