import CivitasCore
import CivitasStore
import Foundation
import Hummingbird

/// How people appear on staff pages: by who they are and their role ("sam@city.gov, agent"), never by an internal
/// name such as `staff:1`; and the audit's many readings of one reporter's details, grouped.
extension StaffController {
    struct People {
        let staff: [Int64: User]

        /// "sam@city.gov, agent" for staff; plain words for residents, partner systems and the command line.
        func name(_ actor: String, _ request: Request, web: Web) -> String {
            let parts = actor.split(separator: ":", maxSplits: 1).map(String.init)
            let kind = parts.first ?? ""
            let rest = parts.count > 1 ? parts[1] : ""
            switch kind {
            case "staff":
                guard let id = Int64(rest), let user = staff[id] else { return web.tr(request, "staff_people_former") }
                return user.role.map { "\(user.email), \(web.tr(request, "staff_role_" + $0.rawValue))" } ?? user.email
            case "resident": return web.tr(request, "staff_people_resident")
            case "partner": return web.tr(request, "staff_people_partner", ["id": rest])
            case "cli": return web.tr(request, "staff_people_cli")
            case "anonymous", "": return web.tr(request, "staff_people_anonymous")
            default: return actor
            }
        }
    }

    func people() async throws -> People {
        People(staff: Dictionary(try await stores.users.list(jurisdictionID: jurisdiction, kind: .staff).map { ($0.id, $0) }) { first, _ in first })
    }

    /// The readings of a reporter's details, newest first, one line per person, purpose and day: "viewed 5 times".
    func groupedViews(_ views: [(actor: String, purpose: String?, at: Date)], people: People, request: Request) -> [[String: Any]] {
        let zone = configuration.jurisdiction.timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var order: [String] = []
        var groups: [String: (actor: String, purpose: String?, last: Date, count: Int)] = [:]
        for view in views {
            let day = calendar.dateComponents([.year, .month, .day], from: view.at)
            let key = "\(view.actor)|\(view.purpose ?? "")|\(day.year ?? 0)-\(day.month ?? 0)-\(day.day ?? 0)"
            if var group = groups[key] {
                group.count += 1
                groups[key] = group
            } else {
                order.append(key)
                groups[key] = (view.actor, view.purpose, view.at, 1)
            }
        }
        return order.compactMap { groups[$0] }.map { group in
            [
                "who": people.name(group.actor, request, web: web), "purpose": group.purpose ?? "",
                "when": RequestPagesController.date(group.last, zone: zone, language: .english),
                "times": group.count > 1 ? web.tr(request, "staff_viewed_times", ["count": String(group.count)]) : "",
            ]
        }
    }
}
