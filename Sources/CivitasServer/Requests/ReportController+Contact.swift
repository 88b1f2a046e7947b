import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Steps 5 and 6: the description with photos, and how to reach the resident.
extension ReportController {
    // MARK: 5. description and photos

    func descriptionPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        return try await descriptionForm(request, draft: draft, description: draft.value("description") ?? "")
    }

    func descriptionForm(
        _ request: Request, draft: Draft, description: String, errors: [FieldError] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let service = try await service(of: draft, for: request)
        let duplicates = try await duplicateMatches(draft: draft, service: service)
        let photos = draft.data["photo"] ?? []
        return web.page(
            "requests/report-description", title: t(request, "description_title"), request: request, identity: try await identity(request),
            values: [
                "draft": draft.id, "description": description, "photoCount": photos.count, "hasPhotos": !photos.isEmpty,
                "photosKept": t(request, "photos_kept", ["count": String(photos.count)]),
                "photosLabel": t(request, "photos_label", ["optional": t(request, "optional")]),
                "descriptionError": errors.first { $0.field == "description" }?.message ?? "",
                "photosError": errors.first { $0.field == "photos" }?.message ?? "",
                "back": "/report/\(draft.id)/\(duplicates.isEmpty ? "location" : "duplicates")",
            ].merging(changeValues(request, draft: draft)) { $1 }, status: status, errors: errors)
    }

    func describe(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        var draft = try await draft(context, request: request)
        let identity = try await identity(request)
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: configuration.maxBodySize)
        } catch {
            // Too much at once: say so on the page, keeping what the draft already has.
            return try await descriptionForm(
                request, draft: draft, description: draft.value("description") ?? "",
                errors: [FieldError(field: "photos", message: t(request, "photos_size"))], status: .contentTooLarge)
        }
        let parsed: FormBody
        do {
            parsed = try FormBody.parse(contentType: request.headers[.contentType], body: buffer)
        } catch {
            throw WebFailure(status: .badRequest, title: "Form not understood", message: "Go back, reload the page and try again.")
        }
        var fields: [String: String] = [:]
        for (name, value) in parsed.fields where fields[name] == nil { fields[name] = value }
        try web.checkCSRF(fields, request: request, session: identity?.session)
        let description = (fields["description"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [FieldError] = []
        if description.unicodeScalars.count > NewServiceRequest.maximumDescriptionLength {
            errors.append(FieldError(field: "description", message: t(request, "description_too_long")))
        }
        var photos = fields["remove_photos"] != nil ? [] : (draft.data["photo"] ?? [])
        let uploads = parsed.uploads.filter { $0.name == "photos" }
        if photos.count + uploads.count > 3 {
            errors.append(FieldError(field: "photos", message: t(request, "photos_too_many")))
        }
        var cleaned: [MediaUpload] = []
        if errors.isEmpty {
            for upload in uploads {
                guard upload.file.bytes.count <= Photo.maximumBytes else {
                    errors.append(FieldError(field: "photos", message: t(request, "photos_size")))
                    break
                }
                guard let (kind, bytes) = Photo.stripped(upload.file.bytes) else {
                    errors.append(FieldError(field: "photos", message: t(request, "photos_type")))
                    break
                }
                cleaned.append(MediaUpload(contentType: kind.rawValue, bytes: bytes))
            }
        }
        if !errors.isEmpty {
            return try await descriptionForm(request, draft: draft, description: description, errors: errors, status: .badRequest)
        }
        for photo in cleaned {
            try await stores.media.store(photo, jurisdictionID: jurisdiction)
            photos.append(photo.id)
        }
        draft.data["photo"] = photos.isEmpty ? nil : photos
        draft.data["description"] = description.isEmpty ? nil : [description]
        try await stores.drafts.save(draft.id, data: draft.data, jurisdictionID: jurisdiction)
        return next(request, draft: draft, "contact")
    }

    // MARK: 6. contact

    func contactPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let draft = try await draft(context, request: request)
        let identity = try await identity(request)
        return contactForm(
            request, draft: draft, identity: identity,
            values: [
                "name": draft.value("name") ?? "", "email": draft.value("email") ?? identity?.user?.email ?? "", "phone": draft.value("phone") ?? "",
            ])
    }

    func contactForm(
        _ request: Request, draft: Draft, identity: Identity?, values extra: [String: Any], errors: [FieldError] = [],
        status: HTTPResponse.Status = .ok
    ) -> Response {
        var values = extra
        values["draft"] = draft.id
        values["back"] = "/report/\(draft.id)/description"
        values.merge(changeValues(request, draft: draft)) { $1 }
        let optional = t(request, "optional")
        values["nameLabel"] = t(request, "contact_name_label", ["optional": optional])
        values["emailLabel"] = t(request, "contact_email_label", ["optional": optional])
        values["phoneLabel"] = t(request, "contact_phone_label", ["optional": optional])
        if let user = identity?.user, user.kind == .resident {
            values["signedInAs"] = t(request, "contact_signed_in", ["email": user.email])
        }
        values["emailError"] = errors.first { $0.field == "email" }?.message ?? ""
        return web.page(
            "requests/report-contact", title: t(request, "contact_title"), request: request, identity: identity, values: values, status: status,
            errors: errors)
    }

    func contact(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        var draft = try await draft(context, request: request)
        let identity = try await identity(request)
        let fields = try await form(request, session: identity?.session)
        let name = (fields["name"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        let email = (fields["email"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        let phone = (fields["phone"]?.first ?? "").trimmingCharacters(in: .whitespaces)
        var errors: [FieldError] = []
        if !email.isEmpty, !NewServiceRequest.isPlausibleEmail(email) {
            errors.append(FieldError(field: "email", message: t(request, "email_invalid")))
        }
        if name.unicodeScalars.count > 200 || phone.unicodeScalars.count > 50 {
            errors.append(FieldError(field: name.unicodeScalars.count > 200 ? "name" : "phone", message: t(request, "details_too_long")))
        }
        if !errors.isEmpty {
            return contactForm(
                request, draft: draft, identity: identity, values: ["name": name, "email": email, "phone": phone], errors: errors,
                status: .badRequest)
        }
        draft.data["name"] = name.isEmpty ? nil : [name]
        draft.data["email"] = email.isEmpty ? nil : [email]
        draft.data["phone"] = phone.isEmpty ? nil : [phone]
        try await stores.drafts.save(draft.id, data: draft.data, jurisdictionID: jurisdiction)
        return web.redirect("/report/\(draft.id)/check")
    }
}
