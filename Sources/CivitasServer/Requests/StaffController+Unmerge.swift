import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird

/// Undoing a merge, from either page: the duplicate's (it names its own parent) or the surviving request's (the form
/// says which duplicate). Only someone who may merge both requests may undo it.
extension StaffController {
    func unmerge(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await guarded(request, context: context) { staff in
            let pairs = try await web.readFormPairs(request)
            let form = Web.firstValues(pairs)
            try web.checkCSRF(form, request: request, session: staff.identity.session)
            let found = try await readable(context, staff: staff)
            let child: Int64
            let parent: Int64
            if let chosen = form["duplicate"].flatMap(Int64.init), chosen != found.id {
                (child, parent) = (chosen, found.id)
            } else if let stored = try await stores.requests.parent(of: found.id, jurisdictionID: jurisdiction) {
                (child, parent) = (found.id, stored)
            } else {
                return try await requestView(
                    request, staff: staff, context: context,
                    errors: [FieldError(field: "unmerge", message: t(request, "staff_unmerge_not_merged", ["id": "#\(found.id)"]))],
                    status: .conflict)
            }
            let other = try await stores.requests.find(id: child == found.id ? parent : child, jurisdictionID: jurisdiction)
            let targets = [found] + (other.map { [$0] } ?? [])
            guard targets.allSatisfy({ Permissions.decide(staff.identity.actor, .mergeRequests, on: Self.target($0)).allowed }) else {
                return try await requestView(
                    request, staff: staff, context: context,
                    errors: [FieldError(field: "unmerge", message: t(request, "staff_refused", ["what": "undo the merge"]))], status: .forbidden)
            }
            if form["confirmed"] != "1" {
                return confirmPage(
                    request, staff: staff, id: found.id, action: "/staff/requests/\(found.id)/unmerge",
                    lines: [
                        t(request, "staff_will_unmerge", ["child": "#\(child)", "parent": "#\(parent)"]),
                        t(request, "staff_will_unmerge_people", ["child": "#\(child)", "parent": "#\(parent)"]),
                    ], note: nil, template: nil, told: "", fields: pairs)
            }
            let restored: RequestStatus
            do {
                restored = try await stores.requests.unmerge(
                    child, from: parent, jurisdictionID: jurisdiction, departments: staff.user.departments, by: staff.origin
                ).restored
            } catch let error as CivitasError {
                return try await requestView(
                    request, staff: staff, context: context, errors: [FieldError(field: "unmerge", message: error.message)],
                    status: error.kind == .conflict || error.kind == .notFound ? .conflict : .badRequest)
            }
            let done = restored == .open ? "unmerged" : "unmerged_closed"
            return web.redirect("/staff/requests/\(found.id)?done=\(done)&ids=" + Web.formEncode("#\(child)"))
        }
    }

    /// What the page offers for undoing merges: on a duplicate, whether its own merge can be undone; on the surviving
    /// request, which of its duplicates can be separated again.
    func unmergeValues(_ found: ServiceRequest, parent: Int64?, children: [Int64], staff: Staff, request: Request) async throws -> [String: Any] {
        let actor = staff.identity.actor
        let undoable = try await stores.requests.undoableMerges(children + [found.id], jurisdictionID: jurisdiction)
        func mayMerge(_ id: Int64) async throws -> Bool {
            guard let other = try await stores.requests.find(id: id, jurisdictionID: jurisdiction) else { return false }
            return Permissions.decide(actor, .mergeRequests, on: Self.target(other)).allowed
        }
        guard Permissions.decide(actor, .mergeRequests, on: Self.target(found)).allowed else { return ["hasChildren": !children.isEmpty] }
        var values: [String: Any] = ["hasChildren": !children.isEmpty]
        if let parent, undoable.contains(found.id), try await mayMerge(parent) { values["canUnmerge"] = true }
        var items: [[String: Any]] = []
        for id in children {
            var undo = undoable.contains(id)
            if undo { undo = try await mayMerge(id) }
            items.append(["id": id, "undoable": undo, "undoLabel": t(request, "staff_unmerge_one", ["id": "#\(id)"])])
        }
        values["children"] = items
        return values
    }
}
