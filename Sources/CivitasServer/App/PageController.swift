import CivitasStore
import Hummingbird

/// A controller of server-rendered pages: everything it needs comes through `web`, and its failures are shown as pages.
protocol PageController: Sendable {
    var web: Web { get }
}

extension PageController {
    var stores: Stores { web.stores }
    var configuration: AppConfiguration { web.configuration }
    var catalog: Catalog { web.catalog }
    var jurisdiction: String { configuration.jurisdiction.id }

    /// The group to add this controller's pages to: a failure on any of them is answered with a page, not JSON.
    func pageRoutes(_ root: Router<CivitasRequestContext>) -> RouterGroup<CivitasRequestContext> {
        root.group().add(middleware: WebFailureMiddleware(controller: web))
    }
}

/// A controller of staff pages, reached through the staff console's frame (who is signed in, and the guard).
protocol StaffPageController: PageController {
    var staff: StaffController { get }
}

extension StaffPageController {
    var web: Web { staff.web }
}
