import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `/api/v1/service-requests`: listing, filing, reading and changing service requests, and their notes (merging is in `APIv1+Merge.swift`).
extension APIv1Controller {
    func addRequestRoutes(to api: RouterGroup<CivitasRequestContext>) {
        api.get("service-requests", use: list)
        api.post("service-requests", use: create)
        api.get("service-requests/:id", use: show)
        api.patch("service-requests/:id", use: update)
        api.get("service-requests/:id/notes", use: notes)
        api.post("service-requests/:id/notes", use: addNote)
        addMergeRoutes(to: api)
    }

    func list(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        try require(identity, .readRequests, on: .jurisdiction(jurisdiction))
        let parameters = try Self.query(request)
        var query = ServiceRequestQuery(jurisdictionID: jurisdiction)
        query.includePrivate = false
        switch identity.actor {
        case .resident(let id, _): query.residentID = id
        case .staff(_, _, _, let departments, _), .partner(_, _, _, let departments): query.departments = departments
        case .anonymous: throw Problem.unauthenticated(nil)
        }
        if let codes = parameters["service_code"], !codes.isEmpty {
            query.serviceCodes = codes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        if let status = parameters["status"] {
            guard let parsed = RequestStatus(rawValue: status) else {
                throw Problem(.badRequest, code: "invalid_parameter", detail: "status must be open or closed.", field: "status")
            }
            query.statuses = [parsed]
        }
        if let department = parameters["department"] { query.department = department }
        if let bbox = parameters["bbox"] { query.area = try BoundingBox.parse(bbox) }
        query.requestedFrom = try dateParameter(parameters, "requested_after")
        query.requestedTo = try dateParameter(parameters, "requested_before")
        if let text = parameters["q"] {
            guard text.unicodeScalars.count <= 200 else {
                throw Problem(.badRequest, code: "invalid_parameter", detail: "q may have at most 200 characters.", field: "q")
            }
            query.text = text
        }
        var limit = 50
        if let text = parameters["limit"] {
            guard let number = Int(text), (1...200).contains(number) else {
                throw Problem(.badRequest, code: "invalid_parameter", detail: "limit must be a whole number from 1 to 200.", field: "limit")
            }
            limit = number
        }
        if let cursor = parameters["cursor"] { query.after = try RequestCursor.parse(cursor) }
        query.limit = limit + 1
        let found = try await stores.requests.search(query)
        let page = Array(found.prefix(limit))
        let next: Any = found.count > limit ? (page.last.map { RequestCursor(after: $0).token } ?? NSNull()) : NSNull()
        return json(["items": page.map { summary($0) }, "next_cursor": next])
    }

    func show(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readable(request, context: context, identity: identity)
        var body = summary(found)
        let target = Self.target(found)
        // Both places a purpose can come from are checked, whoever asks; the query parameter wins when both are sent.
        let fromQuery = try Self.query(request)["purpose"]
        let fromHeader = request.headers[.civitasPurpose]
        for (given, field) in [(fromQuery, "purpose"), (fromHeader, "Civitas-Purpose")] {
            if let given, given.unicodeScalars.count > 200 {
                throw Problem(.badRequest, code: "invalid_parameter", detail: "\(field) may have at most 200 characters.", field: field)
            }
        }
        if Permissions.decide(identity.actor, .readPersonalData, on: target).allowed {
            let purpose = fromQuery ?? fromHeader
            if case .resident = identity.actor {
                // A resident reading their own request is not someone else reading their data.
            } else {
                try await stores.requests.recordPersonalRead(found, by: origin(identity, request, context), purpose: purpose)
            }
            body["attributes"] = found.attributes
            body["reporter"] =
                [
                    "email": found.reporter.email ?? NSNull(), "first_name": found.reporter.firstName ?? NSNull(),
                    "last_name": found.reporter.lastName ?? NSNull(), "phone": found.reporter.phone ?? NSNull(),
                    "device_id": found.reporter.deviceID ?? NSNull(),
                ] as [String: Any]
        }
        return json(body)
    }

    func create(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let jurisdiction = identity.actor.jurisdictionID ?? ""
        try require(identity, .createRequest, on: .jurisdiction(jurisdiction))
        let body = try await jsonBody(request, context: context)
        let allowed: Set<String> = ["service_code", "description", "lat", "long", "address", "zipcode", "attributes", "reporter"]
        try rejectUnknown(body, allowed: allowed)
        guard case .string(let code)? = body["service_code"], !code.isEmpty else {
            throw Problem(.badRequest, code: "service_code_missing", detail: "service_code is required.", field: "service_code")
        }
        guard let service = try await stores.services.find(code: code, jurisdictionID: jurisdiction) else {
            throw Problem(.badRequest, code: "service_unknown", detail: "There is no service with service_code \(code).", field: "service_code")
        }
        try require(identity, .createRequest, on: .record(jurisdictionID: jurisdiction, department: service.department, residentID: nil))
        var pairs: [(String, String)] = [("service_code", code)]
        // The document gives no field null as a value: a field without an answer is left out, and null is refused
        // with a message that says so rather than being read as a blank.
        func noNull(_ value: JSONValue?, _ field: String) throws {
            if value == .null {
                throw Problem(.badRequest, code: "invalid_field", detail: "\(field) may not be null; leave it out instead.", field: field)
            }
        }
        func text(_ key: String, as name: String) throws {
            try noNull(body[key], key)
            switch body[key] {
            case nil: return
            case .string(let string)?: pairs.append((name, string))
            case .integer(let number)? where key == "lat" || key == "long": pairs.append((name, String(number)))
            case .number(let number)? where key == "lat" || key == "long": pairs.append((name, String(number)))
            default: throw Problem(.badRequest, code: "invalid_field", detail: "\(key) has the wrong type.", field: key)
            }
        }
        try text("description", as: "description")
        try text("lat", as: "lat")
        try text("long", as: "long")
        if case .string(let address)? = body["address"], address.unicodeScalars.allSatisfy(\.properties.isWhitespace) {
            // A blank address is a mistake, not "no address" (Open311 forms drop empty fields; JSON says what it means).
            throw Problem(.badRequest, code: "address_blank", detail: "address is blank; leave it out or give the address.", field: "address")
        }
        try text("address", as: "address_string")
        try text("zipcode", as: "zipcode")
        try noNull(body["attributes"], "attributes")
        switch body["attributes"] {
        case nil: break
        case .object(let object)?:
            for (key, value) in object.sorted(by: { $0.key < $1.key }) {
                switch value {
                case .string(let one): pairs.append(("attribute[\(key)]", one))
                case .array(let many):
                    for item in many {
                        guard case .string(let one) = item else {
                            throw Problem(
                                .badRequest, code: "invalid_field", detail: "attributes.\(key) must be a string or a list of strings.",
                                field: "attributes")
                        }
                        pairs.append(("attribute[\(key)][]", one))
                    }
                default:
                    throw Problem(
                        .badRequest, code: "invalid_field", detail: "attributes.\(key) must be a string or a list of strings.", field: "attributes")
                }
            }
        default: throw Problem(.badRequest, code: "invalid_field", detail: "attributes must be an object.", field: "attributes")
        }
        try noNull(body["reporter"], "reporter")
        switch body["reporter"] {
        case nil: break
        case .object(let object)?:
            try rejectUnknown(object, allowed: ["email", "first_name", "last_name", "phone"], prefix: "reporter.")
            for key in ["email", "first_name", "last_name", "phone"] {
                try noNull(object[key], "reporter.\(key)")
                switch object[key] {
                case nil: continue
                case .string(let string)?:
                    // JSON clients get the address checked as sent (Open311 forms have theirs trimmed first).
                    if key == "email", !string.isEmpty, !NewServiceRequest.isPlausibleEmail(string) {
                        throw Problem(
                            .badRequest, code: "email_invalid", detail: "reporter.email is not a valid email address.",
                            field: "reporter.email")
                    }
                    pairs.append((key, string))
                default:
                    throw Problem(.badRequest, code: "invalid_field", detail: "reporter.\(key) must be a string.", field: "reporter.\(key)")
                }
            }
        default: throw Problem(.badRequest, code: "invalid_field", detail: "reporter must be an object.", field: "reporter")
        }
        let new: NewServiceRequest
        switch NewServiceRequest.validate(Open311Parameters(pairs), service: service) {
        case .success(let valid): new = valid
        case .failure(let failures):
            let first = failures.errors[0]
            throw Problem(
                .badRequest, code: first.code, detail: failures.errors.map(\.message).joined(separator: " "), field: first.field)
        }
        let created = try await stores.requests.create(
            new, service: service, jurisdictionID: jurisdiction, source: "api", actor: identity.actor.auditName,
            origin: clientAddress(request, context: context, trustForwardedFor: configuration.security.trustForwardedFor))
        var response = json(summary(created), status: .created)
        response.headers[.location] = "\(configuration.publicURL)/api/v1/service-requests/\(created.id)"
        return response
    }

    func update(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readable(request, context: context, identity: identity)
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["status", "assignee_id", "priority", "note", "note_visibility"])
        var change = RequestChange()
        let target = Self.target(found)
        if let value = body["status"] {
            guard case .string(let text) = value, let status = RequestStatus(rawValue: text) else {
                throw Problem(.badRequest, code: "invalid_field", detail: "status must be open or closed.", field: "status")
            }
            try require(identity, .changeStatus, on: target)
            change.status = status
        }
        if let value = body["assignee_id"] {
            if value == .null {
                change.assigneeID = .some(nil)
            } else if case .integer(let id) = value {
                change.assigneeID = .some(id)
            } else {
                throw Problem(.badRequest, code: "invalid_field", detail: "assignee_id must be a staff id or null.", field: "assignee_id")
            }
            try require(identity, .assignRequest, on: target)
        }
        if let value = body["priority"] {
            guard case .string(let text) = value, let priority = RequestPriority(rawValue: text) else {
                throw Problem(.badRequest, code: "invalid_field", detail: "priority must be low, normal, high or urgent.", field: "priority")
            }
            try require(identity, .setPriority, on: target)
            change.priority = priority
        }
        if let value = body["note_visibility"] {
            guard case .string(let text) = value, let visibility = NoteVisibility(rawValue: text) else {
                throw Problem(.badRequest, code: "invalid_field", detail: "note_visibility must be public or internal.", field: "note_visibility")
            }
            change.noteVisibility = visibility
        }
        if let value = body["note"] {
            guard case .string(let text) = value else {
                throw Problem(.badRequest, code: "invalid_field", detail: "note must be text.", field: "note")
            }
            try require(identity, .addNote, on: target)
            change.note = text
        }
        let updated = try await stores.requests.update(
            id: found.id, jurisdictionID: found.jurisdictionID, change: change, by: origin(identity, request, context))
        return json(summary(updated))
    }

    func notes(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readable(request, context: context, identity: identity)
        let target = Self.target(found)
        try require(identity, .readNotes, on: target)
        let includeInternal = Permissions.decide(identity.actor, .readInternalNotes, on: target).allowed
        let notes = try await stores.requests.notes(id: found.id, jurisdictionID: found.jurisdictionID, includeInternal: includeInternal)
        return json(["items": notes.map(noteObject)])
    }

    func addNote(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        let identity = try await authenticate(request, context: context)
        let found = try await readable(request, context: context, identity: identity)
        try require(identity, .addNote, on: Self.target(found))
        let body = try await jsonBody(request, context: context)
        try rejectUnknown(body, allowed: ["body", "visibility"])
        guard case .string(let text)? = body["body"] else {
            throw Problem(.badRequest, code: "note_invalid", detail: "body is required: the text of the note.", field: "body")
        }
        var visibility = NoteVisibility.internal
        if let value = body["visibility"] {
            guard case .string(let raw) = value, let parsed = NoteVisibility(rawValue: raw) else {
                throw Problem(.badRequest, code: "invalid_field", detail: "visibility must be public or internal.", field: "visibility")
            }
            visibility = parsed
        }
        let note = try await stores.requests.addNote(
            id: found.id, jurisdictionID: found.jurisdictionID, body: text, visibility: visibility, by: origin(identity, request, context))
        return json(noteObject(note), status: .created)
    }

    /// The request named in the path, if the caller may read it; otherwise 404, so its existence is not revealed.
    func readable(_ request: Request, context: CivitasRequestContext, identity: Identity) async throws -> ServiceRequest {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int64(raw), id >= 1 else {
            throw Problem(.badRequest, code: "invalid_parameter", detail: "The request id must be a positive whole number.", field: "id")
        }
        guard let jurisdiction = identity.actor.jurisdictionID,
            let found = try await stores.requests.find(id: id, jurisdictionID: jurisdiction),
            Permissions.decide(identity.actor, .readRequests, on: Self.target(found)).allowed
        else { throw Problem.notFound("service request \(id)") }
        return found
    }

    static func target(_ request: ServiceRequest) -> PermissionTarget {
        .record(jurisdictionID: request.jurisdictionID, department: request.agencyResponsible, residentID: request.residentID)
    }

    func summary(_ request: ServiceRequest) -> [String: Any] {
        [
            "id": request.id, "service_code": request.serviceCode, "service_name": request.serviceName,
            "status": request.status.rawValue, "status_notes": request.statusNotes ?? NSNull(),
            "description": request.description ?? NSNull(), "department": request.agencyResponsible ?? NSNull(),
            "priority": request.priority.rawValue, "assignee_id": request.assigneeID ?? NSNull(),
            "requested_at": rfc3339(request.requestedAt), "updated_at": rfc3339(request.updatedAt),
            "expected_at": request.expectedAt.map(rfc3339) ?? NSNull(),
            "location": [
                "lat": request.location.latitude ?? NSNull(), "long": request.location.longitude ?? NSNull(),
                "address": request.location.address ?? NSNull(), "zipcode": request.location.zipcode ?? NSNull(),
            ] as [String: Any],
            "media_url": request.mediaURL ?? NSNull(),
        ]
    }

    func noteObject(_ note: RequestNote) -> [String: Any] {
        [
            "id": note.id, "body": note.body, "visibility": note.visibility.rawValue, "author": note.author,
            "status": note.status.rawValue, "created_at": rfc3339(note.createdAt),
        ]
    }
}
