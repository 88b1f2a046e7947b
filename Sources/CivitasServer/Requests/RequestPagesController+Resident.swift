import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird

/// A resident's word on a report they made or follow: more detail or a photo while it is open, and "still a problem?"
/// for 30 days after it is closed, which opens it again.
extension RequestPagesController {
    /// What the report's page offers this reader, and the note after they used it.
    func residentActions(_ request: Request, found: ServiceRequest, identity: Identity?) async throws -> [String: Any] {
        let merged = try await stores.requests.parent(of: found.id, jurisdictionID: jurisdiction) != nil
        let recentlyClosed = found.status == .closed && Date().timeIntervalSince(found.updatedAt) <= ServiceRequestStore.reopenWindow
        var values: [String: Any] = [:]
        if let user = identity?.user, user.kind == .resident {
            let own = try await stores.requests.isOwnOrFollowed(found, userID: user.id, email: user.email)
            values["canAdd"] = own && !merged && found.status == .open
            values["canReopen"] = own && !merged && recentlyClosed
            values["reportAgain"] = found.status == .closed && !merged && !(own && recentlyClosed)
        } else {
            values["signInToAdd"] = identity == nil && !merged
            values["reportAgain"] = found.status == .closed && !merged
            values["signInNext"] = Web.formEncode("/requests/\(found.id)")
        }
        switch request.query["added"] {
        case "1": values["notice"] = t(request, "request_added_notice")
        case "reopened": values["notice"] = t(request, "request_reopened_notice")
        default: break
        }
        return values
    }

    func residentUpdate(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let identity = try await identity(request), let user = identity.user, user.kind == .resident else {
            return web.signInFirst(request)
        }
        let (form, upload) = try await web.readFormWithFile(request, upTo: Photo.maximumBytes + 64 * 1024, tooLarge: t(request, "photos_size"))
        try web.checkCSRF(form, request: request, session: identity.session)
        guard let id = context.parameters.get("id").flatMap(Int64.init),
            let found = try await stores.requests.find(id: id, jurisdictionID: jurisdiction),
            try await stores.requests.isOwnOrFollowed(found, userID: user.id, email: user.email)
        else {
            throw WebFailure(status: .notFound, title: t(request, "request_not_found"), message: t(request, "request_add_not_yours"))
        }
        let reopen = form["reopen"] == "1"
        func refused(_ field: String, _ message: String, _ status: HTTPResponse.Status = .badRequest) async throws -> Response {
            try await requestPage(
                request, context: context, values: ["comment": form["comment"] ?? ""], errors: [FieldError(field: field, message: message)],
                status: status)
        }
        var photo: MediaUpload?
        if let upload, !upload.bytes.isEmpty {
            guard let (kind, bytes) = Photo.stripped(upload.bytes) else { return try await refused("photo", t(request, "photos_type")) }
            photo = MediaUpload(contentType: kind.rawValue, bytes: bytes)
        }
        do {
            _ = try await stores.requests.residentUpdate(
                id: id, jurisdictionID: jurisdiction, comment: form["comment"] ?? "", photo: photo, reopen: reopen,
                by: ChangeOrigin(
                    actor: identity.actor.auditName,
                    source: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor)))
        } catch let error as CivitasError {
            return try await refused(
                error.field ?? "comment", web.explain(error, request), error.kind == .conflict ? .conflict : .badRequest)
        }
        return web.redirect("/requests/\(id)?added=\(reopen ? "reopened" : "1")#history")
    }
}
