import CivitasCore
import Foundation
import SQLKit

/// What the store needs to write residents' mail: the site's name and public address.
public struct NoticeSettings: Sendable, Equatable {
    public var site: String
    public var publicURL: String

    public init(site: String, publicURL: String) {
        self.site = site
        self.publicURL = publicURL
    }
}

extension ServiceRequestStore {
    /// Makes `email` a follower of a request (again, if they had unsubscribed); a second follow changes nothing.
    static func addFollower(
        requestID: Int64, jurisdictionID: String, email rawEmail: String, userID: Int64?, kind: Follower.Kind, language: Language,
        now: Date, newRequest: Bool = false, sql: any SQLDatabase
    ) async throws -> Follower {
        let email = rawEmail.trimmingCharacters(in: .whitespaces).lowercased()
        // A request created in this very transaction has no followers yet: no need to look.
        if !newRequest,
            let existing = try await sql.select().columns(Self.followerColumns).from("request_followers")
                .where("service_request_id", .equal, requestID).where("email", .equal, email).first()
        {
            var follower = try Self.follower(existing)
            try await sql.update("request_followers").set("unsubscribed_at", to: SQLLiteral.null)
                .set("user_id", to: userID ?? follower.userID).set("language", to: language.rawValue)
                .where("id", .equal, follower.id).run()
            follower.userID = userID ?? follower.userID
            follower.language = language
            return follower
        }
        let token = SecureRandom.token(bytes: 16)
        let row = try await sql.insert(into: "request_followers")
            .columns("jurisdiction_id", "service_request_id", "email", "user_id", "kind", "language", "unsubscribe_token", "created_at")
            .values(
                SQLBind(jurisdictionID), SQLBind(requestID), SQLBind(email), SQLBind(userID), SQLBind(kind.rawValue),
                SQLBind(language.rawValue), SQLBind(token), SQLBind(Clock.millis(now))
            ).returning("id").first()
        guard let id = try row?.decode(column: "id", as: Int64.self) else {
            throw CivitasError(.unavailable, code: "insert_failed", message: "The follower could not be stored.")
        }
        return Follower(id: id, requestID: requestID, email: email, userID: userID, kind: kind, language: language, unsubscribeToken: token)
    }

    static let followerColumns = ["id", "service_request_id", "email", "user_id", "kind", "language", "unsubscribe_token"]

    static func follower(_ row: any SQLRow) throws -> Follower {
        Follower(
            id: try row.decode(column: "id", as: Int64.self), requestID: try row.decode(column: "service_request_id", as: Int64.self),
            email: try row.decode(column: "email", as: String.self), userID: try row.decode(column: "user_id", as: Int64?.self),
            kind: Follower.Kind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .follower,
            language: Language(rawValue: try row.decode(column: "language", as: String.self)) ?? .english,
            unsubscribeToken: try row.decode(column: "unsubscribe_token", as: String.self))
    }

    /// A resident follows an open request instead of reporting it again ("me too"). The follow is audited, as it
    /// stores their email address with the request.
    public func follow(
        requestID: Int64, jurisdictionID: String, email: String, userID: Int64?, language: Language, actor: String, source: String?,
        now: Date = Date()
    ) async throws -> Follower {
        guard NewServiceRequest.isPlausibleEmail(email.trimmingCharacters(in: .whitespaces)) else {
            throw CivitasError.invalid("email_invalid", "Enter an email address like name@example.com.", field: "email")
        }
        return try await database.transaction { sql in
            guard
                let row = try await sql.select().columns("status", "parent_id").from("service_requests")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("id", .equal, requestID).first()
            else { throw CivitasError.notFound("request_not_found", "There is no service request \(requestID).") }
            // Following a merged duplicate means following what it was merged into.
            let target = try row.decode(column: "parent_id", as: Int64?.self) ?? requestID
            let follower = try await Self.addFollower(
                requestID: target, jurisdictionID: jurisdictionID, email: email, userID: userID, kind: .follower, language: language,
                now: now, sql: sql)
            try await AuditStore.append(
                AuditEvent(
                    actor: actor, action: "request.follow", subject: "service_request:\(target)",
                    person: userID.map { "user:\($0)" } ?? "email:" + follower.email, fields: ["email"], source: source),
                jurisdictionID: jurisdictionID, at: now, sql: sql)
            return follower
        }
    }

    /// The people who hear about a request, unsubscribed ones left out.
    public func followers(requestID: Int64, jurisdictionID: String) async throws -> [Follower] {
        try await database.read { sql in
            try await sql.select().columns(Self.followerColumns).from("request_followers")
                .where("jurisdiction_id", .equal, jurisdictionID).where("service_request_id", .equal, requestID)
                .where("unsubscribed_at", .is, SQLLiteral.null).orderBy("id").all().map(Self.follower)
        }
    }

    /// How many residents said "me too" (followers who did not report it themselves).
    public func followerCount(requestID: Int64, jurisdictionID: String) async throws -> Int {
        try await database.read { sql in
            let row = try await sql.select().column(SQLFunction("COUNT", args: SQLLiteral.all), as: "n").from("request_followers")
                .where("jurisdiction_id", .equal, jurisdictionID).where("service_request_id", .equal, requestID)
                .where("kind", .equal, Follower.Kind.follower.rawValue).first()
            return try row?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Stops the mail of the follower holding `token`; returns the request id, or nil for an unknown token.
    /// What an unsubscribe link stops, without stopping it: the request, the address mail goes to, and whether it
    /// was stopped already.
    public func unsubscribeTarget(token: String) async throws -> (requestID: Int64, email: String, stopped: Bool)? {
        guard token.count == 32, token.allSatisfy(\.isHexDigit) else { return nil }
        return try await database.read { sql in
            guard
                let row = try await sql.select().columns("service_request_id", "email", "unsubscribed_at").from("request_followers")
                    .where("unsubscribe_token", .equal, token).first()
            else { return nil }
            return (
                try row.decode(column: "service_request_id", as: Int64.self), try row.decode(column: "email", as: String.self),
                try row.decode(column: "unsubscribed_at", as: Int64?.self) != nil
            )
        }
    }

    public func unsubscribe(token: String, now: Date = Date()) async throws -> Int64? {
        guard token.count == 32, token.allSatisfy(\.isHexDigit) else { return nil }
        return try await database.transaction { sql in
            guard
                let row = try await sql.select().column("service_request_id").from("request_followers")
                    .where("unsubscribe_token", .equal, token).first()
            else { return nil }
            try await sql.update("request_followers").set("unsubscribed_at", to: Clock.millis(now))
                .where("unsubscribe_token", .equal, token).where("unsubscribed_at", .is, SQLLiteral.null).run()
            return try row.decode(column: "service_request_id", as: Int64.self)
        }
    }

    /// The requests a signed-in resident reported or follows, newest first.
    public func followedBy(userID: Int64, email: String, jurisdictionID: String, limit: Int = 200) async throws -> [ServiceRequest] {
        let ids: [Int64] = try await database.read { sql in
            let followed = try await sql.select().column("service_request_id").from("request_followers")
                .where("jurisdiction_id", .equal, jurisdictionID)
                .where { $0.where("user_id", .equal, userID).orWhere("email", .equal, email.lowercased()) }
                .all().map { try $0.decode(column: "service_request_id", as: Int64.self) }
            let reported = try await sql.select().column("id").from("service_requests")
                .where("jurisdiction_id", .equal, jurisdictionID).where("resident_id", .equal, userID)
                .all().map { try $0.decode(column: "id", as: Int64.self) }
            return Array(Set(followed + reported))
        }
        guard !ids.isEmpty else { return [] }
        var query = ServiceRequestQuery(jurisdictionID: jurisdictionID)
        query.ids = ids
        query.includePrivate = false
        return Array(try await search(query).sorted { $0.requestedAt > $1.requestedAt }.prefix(limit))
    }

    /// Open, unmerged requests of the probe's service inside the policy's radius and window, scored best first.
    public func duplicates(of probe: DuplicateProbe, policy: DuplicatePolicy, jurisdictionID: String, excluding: Int64? = nil) async throws
        -> [DuplicateMatch]
    {
        let box = probe.location.box(within: policy.radiusMetres)
        let from = Clock.millis(probe.at.addingTimeInterval(-policy.window))
        let to = Clock.millis(probe.at.addingTimeInterval(policy.window))
        let candidates: [DuplicateCandidate] = try await database.read { sql in
            try await sql.select().columns("id", "service_code", "status", "latitude", "longitude", "requested_at", "description")
                .from("service_requests")
                .where("jurisdiction_id", .equal, jurisdictionID).where("service_code", .equal, probe.serviceCode)
                .where("status", .equal, RequestStatus.open.rawValue).where("parent_id", .is, SQLLiteral.null)
                .where("latitude", .greaterThanOrEqual, box.minLatitude).where("latitude", .lessThanOrEqual, box.maxLatitude)
                .where("longitude", .greaterThanOrEqual, box.minLongitude).where("longitude", .lessThanOrEqual, box.maxLongitude)
                .where("requested_at", .greaterThanOrEqual, from).where("requested_at", .lessThanOrEqual, to)
                .limit(200).all()
                .map { row in
                    DuplicateCandidate(
                        id: try row.decode(column: "id", as: Int64.self), serviceCode: try row.decode(column: "service_code", as: String.self),
                        status: .open,
                        location: Coordinate(
                            latitude: try row.decode(column: "latitude", as: Double.self),
                            longitude: try row.decode(column: "longitude", as: Double.self)),
                        requestedAt: Clock.date(try row.decode(column: "requested_at", as: Int64.self)),
                        description: try row.decode(column: "description", as: String?.self))
                }
        }
        return DuplicateScoring.rank(probe, candidates.filter { $0.id != excluding }, policy: policy)
    }

    /// A service's name in each language the agency translated it into, and as the catalog has it (`.english`), read
    /// in the caller's transaction; mail names the service in its reader's language.
    static func serviceNames(code: String, jurisdictionID: String, sql: any SQLDatabase) async throws -> [Language: String] {
        guard
            let row = try await sql.select().columns("service_name", "translations").from("services")
                .where("jurisdiction_id", .equal, jurisdictionID).where("service_code", .equal, code).first()
        else { return [.english: code] }
        var names: [Language: String] = [.english: try row.decode(column: "service_name", as: String.self)]
        let translations = try JSONDecoder().decode(
            [String: ServiceTranslation].self, from: Data(try row.decode(column: "translations", as: String.self).utf8))
        for (code, words) in translations { if let language = Language(rawValue: code), let name = words.name { names[language] = name } }
        return names
    }

    /// Writes the status mail for every follower into the outbox, in the caller's transaction.
    static func enqueueStatusNotices(
        requestID: Int64, jurisdictionID: String, serviceNames: [Language: String], status: RequestStatus, note: String?,
        noteTranslations: [Language: String] = [:], settings: NoticeSettings, now: Date, sql: any SQLDatabase
    ) async throws {
        let followers = try await sql.select().columns(followerColumns).from("request_followers")
            .where("jurisdiction_id", .equal, jurisdictionID).where("service_request_id", .equal, requestID)
            .where("unsubscribed_at", .is, SQLLiteral.null).all().map(follower)
        for follower in followers {
            let unsubscribe = "\(settings.publicURL)/unsubscribe/\(follower.unsubscribeToken)"
            let mail = RequestNotice.statusChanged(
                site: settings.site, requestID: requestID,
                serviceName: serviceNames[follower.language] ?? serviceNames[.english] ?? "", status: status,
                note: note.map { noteTranslations[follower.language] ?? $0 },
                link: "\(settings.publicURL)/requests/\(requestID)", unsubscribe: unsubscribe, language: follower.language)
            try await MailOutboxStore.enqueue(
                to: follower.email, subject: mail.subject, body: mail.body, unsubscribeURL: unsubscribe, jurisdictionID: jurisdictionID,
                now: now, sql: sql)
        }
    }
}

extension ServiceRequestStore {
    /// The middle of the jurisdiction's open requests (where a map should open), or nil when there are none.
    public func centre(jurisdictionID: String) async throws -> Coordinate? {
        try await database.read { sql in
            let row = try await sql.select()
                .column(SQLFunction("AVG", args: SQLColumn("latitude")), as: "lat")
                .column(SQLFunction("AVG", args: SQLColumn("longitude")), as: "long")
                .from("service_requests").where("jurisdiction_id", .equal, jurisdictionID)
                .where("status", .equal, RequestStatus.open.rawValue).where("latitude", .isNot, SQLLiteral.null).first()
            guard let lat = try row?.decode(column: "lat", as: Double?.self), let long = try row?.decode(column: "long", as: Double?.self) else {
                return nil
            }
            return Coordinate(latitude: lat, longitude: long)
        }
    }
}

/// One public step in a request's history: what anyone may see on its page.
public struct PublicStep: Sendable, Equatable {
    public var status: RequestStatus
    public var note: String?
    public var at: Date
    /// The note in other languages, when it was sent with translations (a prepared response).
    public var translations: [Language: String] = [:]
}

extension ServiceRequestStore {
    /// The changes anyone may see, oldest first: status changes and public notes, never internal notes or who made them.
    public func publicHistory(id: Int64, jurisdictionID: String) async throws -> [PublicStep] {
        try await database.read { sql in
            try await sql.select().columns("status", "note", "visibility", "created_at", "note_translations").from("request_updates")
                .where("jurisdiction_id", .equal, jurisdictionID).where("service_request_id", .equal, id)
                .orderBy("created_at").orderBy("id").all()
                .map { row in
                    let visible = try row.decode(column: "visibility", as: String.self) == NoteVisibility.public.rawValue
                    return PublicStep(
                        status: RequestStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .open,
                        note: visible ? try row.decode(column: "note", as: String?.self) : nil,
                        at: Clock.date(try row.decode(column: "created_at", as: Int64.self)),
                        translations: visible ? NoteTranslations.decode(try row.decode(column: "note_translations", as: String.self)) : [:])
                }
        }
    }

    /// The request a merged duplicate now lives on, if it was merged.
    public func parent(of id: Int64, jurisdictionID: String) async throws -> Int64? {
        try await database.read { sql in
            try await sql.select().column("parent_id").from("service_requests").where("jurisdiction_id", .equal, jurisdictionID)
                .where("id", .equal, id).first()?.decode(column: "parent_id", as: Int64?.self)
        }
    }
}
