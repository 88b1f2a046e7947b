import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird

/// The pages people look for on any public site: how to reach the agency (`/contact`), its accessibility statement
/// and its privacy notice. Each is shown as the agency wrote it, in the reader's language, or from the text Civitas
/// ships until it has; admins edit them on `/staff/site-pages`.
struct SitePagesController: StaffPageController {
    let staff: StaffController

    func addRoutes(to root: Router<CivitasRequestContext>) {
        let router = pageRoutes(root)
        for page in SitePage.allCases {
            router.get(RouterPath(stringLiteral: page.rawValue)) { request, _ in try await show(page, request) }
        }
        router.get("staff/site-pages", use: editorPage)
        router.post("staff/site-pages/:page", use: save)
    }

    func title(_ page: SitePage, _ request: Request) -> String { web.tr(request, "site_\(page.rawValue)_title") }

    /// The text Civitas ships for a page, with the agency's name filled in.
    func shipped(_ page: SitePage, _ language: Language) -> String {
        guard
            let url = Bundle.module.url(forResource: "\(page.rawValue).\(language.rawValue)", withExtension: "txt", subdirectory: "Resources/pages"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return "" }
        return text.replacingOccurrences(of: "{site}", with: configuration.jurisdiction.name)
    }

    func text(_ page: SitePage, _ language: Language) async throws -> (body: String, updated: Date?) {
        if let written = try await stores.sitePages.find(page, language: language, jurisdictionID: jurisdiction) {
            return (written.body, written.updatedAt)
        }
        return (shipped(page, language), nil)
    }

    func show(_ page: SitePage, _ request: Request) async throws -> Response {
        let language = Catalog.language(of: request)
        let (body, updated) = try await text(page, language)
        return web.page(
            "site/page", title: title(page, request), request: request, identity: try await web.pageIdentity(request),
            values: [
                "body": SiteText.html(body),
                "updated": updated.map { RequestPagesController.date($0, zone: configuration.jurisdiction.timeZone, language: language) } ?? "",
            ])
    }

    /// Only admins edit the site's pages; anyone else is told so.
    func requireEditor(_ request: Request, _ signedIn: StaffController.Staff) throws {
        guard Permissions.decide(signedIn.identity.actor, .manageSitePages, on: .jurisdiction(jurisdiction)).allowed else {
            throw WebFailure(
                status: .forbidden, title: staff.t(request, "staff_site_pages_title"), message: staff.t(request, "staff_site_pages_refused"))
        }
    }

    func editorPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            try await editorView(request, signedIn: signedIn)
        }
    }

    func editorView(
        _ request: Request, signedIn: StaffController.Staff, typed: (SitePage, Language, String)? = nil, errors: [FieldError] = [],
        status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        try requireEditor(request, signedIn)
        var pages: [[String: Any]] = []
        for page in SitePage.allCases {
            var versions: [[String: Any]] = []
            for language in Language.allCases {
                var (body, updated) = try await text(page, language)
                if let typed, typed.0 == page, typed.1 == language { body = typed.2 }
                let id = "\(page.rawValue)-\(language.rawValue)"
                versions.append([
                    "id": id, "language": language.rawValue, "languageName": staff.t(request, "staff_language_\(language.rawValue)"),
                    "body": body, "error": errors.first { $0.field == id }?.message ?? "",
                    "updated": updated.map { RequestPagesController.date($0, zone: configuration.jurisdiction.timeZone, language: .english) }
                        ?? staff.t(request, "staff_site_pages_shipped"),
                ])
            }
            pages.append(["page": page.rawValue, "title": web.catalog.text("site_\(page.rawValue)_title", .english), "versions": versions])
        }
        return web.page(
            "site/staff-site-pages", title: staff.t(request, "staff_site_pages_title"), request: request, identity: signedIn.identity,
            values: ["pages": pages, "notice": request.query["saved"].map { staff.t(request, "staff_site_pages_saved", ["page": $0]) } ?? ""],
            status: status, errors: errors)
    }

    func save(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        try await staff.guarded(request, context: context) { signedIn in
            let form = try await web.checkedForm(request, session: signedIn.identity.session)
            try requireEditor(request, signedIn)
            guard let page = context.parameters.get("page").flatMap(SitePage.init(rawValue:)),
                let language = form["language"].flatMap(Language.init(rawValue:))
            else { throw HTTPError(.notFound) }
            let body = form["body"] ?? ""
            do {
                try await stores.sitePages.save(
                    page, language: language, body: body, actor: signedIn.origin.actor, jurisdictionID: jurisdiction)
            } catch let error as CivitasError {
                return try await editorView(
                    request, signedIn: signedIn, typed: (page, language, body),
                    errors: [FieldError(field: "\(page.rawValue)-\(language.rawValue)", message: error.message)], status: .badRequest)
            }
            return web.redirect("/staff/site-pages?saved=\(page.rawValue)#\(page.rawValue)-\(language.rawValue)")
        }
    }
}
