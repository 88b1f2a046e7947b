import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CivitasServer

/// Everyone who might knock: the table below says what each of them gets on every route.
enum TestActor: String, CaseIterable, Sendable {
    case anonymous
    case residentOwner, residentOther
    case admin, supervisor, agent, crew, analyst
    case adminOut, supervisorOut, agentOut, crewOut, analystOut
    case partnerRead, partnerWrite, partnerBoth, partnerReadOut
    case foreignAdmin

    static let inside: [TestActor] = [.admin, .supervisor, .agent, .crew, .analyst]
    static let outside: [TestActor] = [.adminOut, .supervisorOut, .agentOut, .crewOut, .analystOut]
    static let staff = inside + outside
    static let residents: [TestActor] = [.residentOwner, .residentOther]
    static let partners: [TestActor] = [.partnerRead, .partnerWrite, .partnerBoth, .partnerReadOut]
}

/// The credentials each actor holds in a test app, and the request they are all about.
struct ActorWorld: Sendable {
    var cookies: [TestActor: String] = [:]
    var bearers: [TestActor: String] = [:]
    var userIDs: [TestActor: Int64] = [:]
    var request: Int64 = 0
    var otherRequest: Int64 = 0
    /// A case of Transportation's, a draft of the owner resident's.
    var caseID: Int64 = 0

    static let caseType = """
        key: permit
        name: Street permit
        department: Transportation
        queues: [{name: Roads, skills: []}]
        documents: [{key: plan, label: Plan}]
        fields: [{key: what, label: What, type: text, required: true}]
        states: [{key: draft, label: Draft}, {key: submitted, label: Submitted}, {key: done, label: Done, final: true}]
        transitions:
          - {key: submit, label: Send, from: draft, to: submitted, by: [applicant, partner, agent, supervisor, admin]}
          - {key: finish, label: Finish, from: submitted, to: done, by: [agent, supervisor, admin]}
        """

    /// Makes every actor: residents and staff with sessions (staff past their second factor), staff personal
    /// tokens, partner clients with OAuth tokens from /oauth/token, and an admin of another jurisdiction.
    static func make(_ app: TestApp, _ client: any TestClientProtocol) async throws -> ActorWorld {
        var world = ActorWorld()
        let stores = app.stores
        try await stores.jurisdictions.ensure(Jurisdiction(id: "other.city", name: "Other City", timeZone: .gmt))
        func account(
            _ actor: TestActor, email: String, kind: User.Kind, role: StaffRole?, departments: DepartmentScope, jurisdiction: String = "test.city"
        ) async throws {
            let user = try await stores.users.create(
                email: email, kind: kind, role: role, departments: departments, passwordHash: "$2b$04$unused", jurisdictionID: jurisdiction,
                actor: "test", source: nil)
            world.userIDs[actor] = user.id
            if kind == .staff {
                try await stores.users.setPendingTOTP(id: user.id, secret: SecureRandom.token(bytes: 16))
                try await stores.users.enableTOTP(id: user.id, step: 1, recoveryCodeHashes: [])
                let (_, token) = try await stores.credentials.createPersonalToken(
                    userID: user.id, name: "test", scopes: Scope.allCases, lifetime: 3600, jurisdictionID: jurisdiction)
                world.bearers[actor] = token
            }
            let (cookie, _) = try await stores.sessions.create(
                userID: user.id, jurisdictionID: jurisdiction, secondFactor: true, lifetime: 3600)
            world.cookies[actor] = cookie
        }
        try await account(.residentOwner, email: "owner@example.org", kind: .resident, role: nil, departments: .only([]))
        try await account(.residentOther, email: "other@example.org", kind: .resident, role: nil, departments: .only([]))
        for (actor, role) in zip(TestActor.inside, StaffRole.allCases) {
            try await account(actor, email: "\(actor.rawValue)@city.gov", kind: .staff, role: role, departments: .only(["Transportation"]))
        }
        for (actor, role) in zip(TestActor.outside, StaffRole.allCases) {
            try await account(actor, email: "\(actor.rawValue)@city.gov", kind: .staff, role: role, departments: .only(["Public Works"]))
        }
        try await account(.foreignAdmin, email: "admin@other.gov", kind: .staff, role: .admin, departments: .all, jurisdiction: "other.city")

        let partners: [(TestActor, [Scope], DepartmentScope)] = [
            (.partnerRead, [.requestsRead], .all), (.partnerWrite, [.requestsWrite], .all),
            (.partnerBoth, [.requestsRead, .requestsWrite], .all), (.partnerReadOut, [.requestsRead], .only(["Public Works"])),
        ]
        for (actor, scopes, departments) in partners {
            let (registered, secret) = try await stores.credentials.createClient(
                name: actor.rawValue, scopes: scopes, departments: departments, jurisdictionID: "test.city", actor: "test")
            let response = try await client.execute(
                uri: "/oauth/token", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", .authorization: basic(registered.id, secret)],
                body: ByteBuffer(string: "grant_type=client_credentials"))
            #expect(response.status == .ok, "\(response.text)")
            let object = try #require(try response.json() as? [String: Any])
            world.bearers[actor] = try #require(object["access_token"] as? String)
        }

        let pothole = try #require(try await stores.services.find(code: "POTHOLE", jurisdictionID: "test.city"))
        let parameters = Open311Parameters([
            ("service_code", "POTHOLE"), ("lat", "39.2904"), ("long", "-76.6122"), ("attribute[SIZE]", "large"),
            ("description", "Deep hole by the school"), ("email", "owner@example.org"), ("first_name", "Olu"), ("phone", "555 0101"),
        ])
        let new = try NewServiceRequest.validate(parameters, service: pothole).get()
        world.request = try await stores.requests.create(
            new, service: pothole, jurisdictionID: "test.city", source: "web", residentID: world.userIDs[.residentOwner]
        ).id
        let bulky = try #require(try await stores.services.find(code: "BULKY", jurisdictionID: "test.city"))
        let other = try NewServiceRequest.validate(
            Open311Parameters([
                ("service_code", "BULKY"), ("lat", "39.3"), ("long", "-76.6"), ("attribute[ITEMS][]", "furniture"), ("attribute[COUNT]", "1"),
                ("email", "other@example.org"),
            ]),
            service: bulky
        ).get()
        world.otherRequest = try await stores.requests.create(
            other, service: bulky, jurisdictionID: "test.city", source: "web", residentID: world.userIDs[.residentOther]
        ).id
        _ = try await stores.cases.importType(caseType, createdBy: "test", jurisdictionID: "test.city")
        let owner = try #require(world.userIDs[.residentOwner])
        world.caseID = try await stores.cases.create(
            typeKey: "permit", data: ["what": .string("Skip on the street")],
            by: CaseCaller(actor: .applicant, name: "resident:\(owner)", userID: owner),
            applicantID: owner, jurisdictionID: "test.city"
        ).id
        return world
    }

    /// Sends a request as `actor`: their bearer token on the API, their session cookie everywhere.
    func send(
        _ client: any TestClientProtocol, as actor: TestActor, _ method: HTTPRequest.Method, _ uri: String, json: String? = nil,
        form: String? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if uri.hasPrefix("/api/"), let bearer = bearers[actor] { headers[.authorization] = "Bearer \(bearer)" }
        if let cookie = cookies[actor] { headers[.cookie] = "\(Authenticator.sessionCookie)=\(cookie)" }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            body = ByteBuffer(string: json)
        } else if let form {
            headers[.contentType] = "application/x-www-form-urlencoded"
            body = ByteBuffer(string: form)
        }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body)
    }
}

func basic(_ id: String, _ secret: String) -> String {
    "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
}

/// One line of the authorization table: a declared route, a concrete call of it, and each actor's answer.
struct RouteRule: Sendable, CustomStringConvertible {
    var method: HTTPRequest.Method
    /// The route as declared, e.g. `/api/v1/service-requests/:id`.
    var route: String
    /// The call made, with `{R}` standing for the request everyone is about.
    var uri: String
    var json: String? = nil
    var form: String? = nil
    var expected: [TestActor: Int]

    init(
        _ method: HTTPRequest.Method, _ route: String, _ uri: String? = nil, json: String? = nil, form: String? = nil,
        all status: Int, except: [([TestActor], Int)] = []
    ) {
        self.method = method
        self.route = route
        self.uri = uri ?? route
        self.json = json
        self.form = form
        var expected = Dictionary(uniqueKeysWithValues: TestActor.allCases.map { ($0, status) })
        for (actors, answer) in except { for actor in actors { expected[actor] = answer } }
        self.expected = expected
    }

    var description: String { "\(method.rawValue) \(uri)" }
}

/// The table: every route, every actor. Derived from `Permissions.table`, the API's 404-when-unreadable rule,
/// and the pages' redirects; a new route without a line here fails `tableCoversEveryRoute`.
let authorizationTable: [RouteRule] = {
    let inside = TestActor.inside
    let outside = TestActor.outside
    let residents = TestActor.residents
    let working: [TestActor] = [.admin, .supervisor, .agent, .crew]
    let signedIn = residents + TestActor.staff
    let item = "/api/v1/service-requests/{id}"
    let routes: [RouteRule] = [
        // Public
        RouteRule(.get, "/", all: 200),
        RouteRule(.get, "/healthz", all: 200),
        RouteRule(.get, "/metrics", all: 200),
        RouteRule(.get, "/media/{id}", "/media/unknown", all: 404),
        RouteRule(.get, "/assets/{name}", "/assets/civitas.css", all: 200),
        RouteRule(.get, "/open311/v2/{document}", "/open311/v2/services.json", all: 200),
        RouteRule(.get, "/open311/{document}", "/open311/discovery.json", all: 200),
        // Open311 answers only with a format extension, as the spec's URLs have one.
        RouteRule(.get, "/open311/v2/services", all: 404),
        RouteRule(.get, "/open311/v2/requests", all: 404),
        RouteRule(.post, "/open311/v2/services", all: 404),
        RouteRule(.post, "/open311/v2/requests", all: 404),
        RouteRule(.post, "/open311/v2/tokens", all: 404),
        RouteRule(.get, "/open311/v2/tokens", all: 404),
        RouteRule(.get, "/open311/v2/services/{file}", "/open311/v2/services/POTHOLE.json", all: 200),
        RouteRule(.get, "/open311/v2/requests/{file}", "/open311/v2/requests/{R}.json", all: 200),
        RouteRule(.get, "/open311/v2/tokens/{file}", "/open311/v2/tokens/none.json", all: 404),
        // Open311 submissions answer to the api_key, not to sessions or bearer tokens.
        RouteRule(.post, "/open311/v2/{document}", "/open311/v2/requests.json", form: "service_code=POTHOLE", all: 403),
        RouteRule(.post, "/oauth/token", form: "grant_type=client_credentials", all: 401),
        // API v1
        RouteRule(.get, "/api/v1/openapi.json", all: 200),
        RouteRule(.get, "/api/v1/me", all: 200, except: [([.anonymous], 401)]),
        RouteRule(.get, "/api/v1/service-requests", all: 200, except: [([.anonymous], 401), ([.partnerWrite], 403)]),
        RouteRule(
            .get, item, "/api/v1/service-requests/{R}", all: 404,
            except: [([.anonymous], 401), ([.residentOwner] + inside + [.partnerRead, .partnerBoth], 200)]),
        RouteRule(
            .patch, item, "/api/v1/service-requests/{R}", json: #"{"priority":"high"}"#, all: 404,
            except: [
                ([.anonymous] + residents, 401), ([.admin, .supervisor, .partnerBoth], 200), ([.agent, .crew, .analyst, .partnerRead], 403),
            ]),
        RouteRule(
            .patch, item, "/api/v1/service-requests/{R}", json: #"{"status":"open"}"#, all: 404,
            except: [([.anonymous] + residents, 401), (working + [.partnerBoth], 200), ([.analyst, .partnerRead], 403)]),
        RouteRule(
            .get, item + "/duplicates", "/api/v1/service-requests/{R}/duplicates", all: 404,
            except: [([.anonymous], 401), ([.residentOwner], 403), (inside + [.partnerRead, .partnerBoth], 200)]),
        // Another jurisdiction has no such service.
        RouteRule(
            .get, "/api/v1/duplicates", "/api/v1/duplicates?service_code=POTHOLE&lat=39.29&long=-76.61", all: 200,
            except: [([.anonymous], 401), ([.foreignAdmin], 404)]),
        RouteRule(
            .get, item + "/notes", "/api/v1/service-requests/{R}/notes", all: 404,
            except: [([.anonymous], 401), ([.residentOwner] + inside + [.partnerRead, .partnerBoth], 200)]),
        RouteRule(
            .post, item + "/notes", "/api/v1/service-requests/{R}/notes", json: #"{"body":"Checked on site","visibility":"internal"}"#,
            all: 404,
            except: [([.anonymous] + residents, 401), (working + [.partnerBoth], 201), ([.analyst, .partnerRead], 403)]),
        // Field work: crews and plans are read with requests:read (a department's plan needs the department); planning
        // is for supervisors and admins of it; crew actions for members of its crews (the world has none: 403).
        RouteRule(.get, "/api/v1/crews", all: 200, except: [([.anonymous], 401), ([.partnerWrite, .foreignAdmin], 403)]),
        RouteRule(
            .get, "/api/v1/plans", "/api/v1/plans?department=Transportation&date=2026-11-24", all: 404,
            except: [([.anonymous], 401), (outside + [.partnerWrite, .partnerReadOut, .foreignAdmin] + residents, 403)]),
        RouteRule(
            .post, "/api/v1/plans", json: #"{"department":"Transportation","date":"2026-11-24"}"#, all: 403,
            except: [([.anonymous] + residents, 401), ([.admin, .supervisor], 404)]),
        RouteRule(
            .post, "/api/v1/plans/pins", json: #"{"department":"Transportation","date":"2026-11-24","service_request_id":{R},"crew_id":null}"#,
            all: 403, except: [([.anonymous] + residents, 401), ([.admin, .supervisor], 404)]),
        RouteRule(
            .post, item + "/crew-actions", "/api/v1/service-requests/{R}/crew-actions", json: #"{"action":"arrive"}"#, all: 404,
            except: [([.anonymous] + residents, 401), (inside + [.partnerRead, .partnerBoth], 400)]),
        // Appointments: read by whoever reads the request (none set yet: null times); set and cleared (both times null) by those who assign.
        RouteRule(
            .get, item + "/appointment", "/api/v1/service-requests/{R}/appointment", all: 404,
            except: [([.anonymous], 401), ([.residentOwner] + TestActor.inside + [.partnerRead, .partnerBoth], 200)]),
        RouteRule(
            .put, item + "/appointment", "/api/v1/service-requests/{R}/appointment",
            json: #"{"starts":"2026-11-24T10:00:00-05:00","ends":"2026-11-24T12:00:00-05:00"}"#, all: 404,
            except: [
                ([.anonymous] + residents, 401), ([.admin, .supervisor, .agent, .partnerBoth], 200), ([.crew, .analyst, .partnerRead], 403),
            ]),
        RouteRule(
            .put, item + "/appointment", "/api/v1/service-requests/{R}/appointment", json: #"{"starts":null,"ends":null}"#, all: 404,
            except: [
                ([.anonymous] + residents, 401), ([.admin, .supervisor, .agent, .partnerBoth], 200), ([.crew, .analyst, .partnerRead], 403),
            ]),
        // Cases: read by admins, supervisors and agents of the case's department, and by its applicant; partners need the
        // cases scopes (none of these has them). A case one may not read is 404.
        RouteRule(
            .get, "/api/v1/case-types", all: 200,
            except: [([.anonymous], 401), ([.crew, .analyst, .crewOut, .analystOut] + TestActor.partners, 403)]),
        RouteRule(
            .get, "/api/v1/case-types/{key}", "/api/v1/case-types/permit", all: 200,
            except: [([.anonymous], 401), ([.crew, .analyst, .crewOut, .analystOut] + TestActor.partners, 403), ([.foreignAdmin], 404)]),
        RouteRule(
            .get, "/api/v1/cases", all: 200,
            except: [([.anonymous], 401), ([.crew, .analyst, .crewOut, .analystOut] + TestActor.partners, 403)]),
        RouteRule(
            .get, "/api/v1/cases/{id}", "/api/v1/cases/{C}", all: 404,
            except: [([.anonymous], 401), ([.residentOwner, .admin, .supervisor, .agent], 200)]),
        RouteRule(
            .patch, "/api/v1/cases/{id}", "/api/v1/cases/{C}", json: #"{"data":{"what":"Skip and scaffold"}}"#, all: 404,
            except: [([.anonymous] + residents, 401), ([.admin, .supervisor, .agent], 200)]),
        RouteRule(
            .post, "/api/v1/cases/{id}/transitions", "/api/v1/cases/{C}/transitions", json: #"{"transition":"finish"}"#, all: 404,
            except: [([.anonymous] + residents, 401), ([.admin, .supervisor, .agent], 409)]),
        RouteRule(
            .post, "/api/v1/cases/{id}/documents", "/api/v1/cases/{C}/documents", json: #"{"type":"plan","content_base64":"eA=="}"#, all: 404,
            except: [([.anonymous] + residents, 401), ([.admin, .supervisor, .agent], 400)]),
        RouteRule(.get, "/api/v1/cases/{id}/documents/{document}", "/api/v1/cases/{C}/documents/999", all: 404, except: [([.anonymous], 401)]),
        RouteRule(
            .post, "/api/v1/cases/{id}/notes", "/api/v1/cases/{C}/notes", json: #"{"body":"Called the applicant"}"#, all: 404,
            except: [([.anonymous] + residents, 401), ([.admin, .supervisor, .agent], 201)]),
        RouteRule(
            .post, "/api/v1/cases/{id}/tasks", "/api/v1/cases/{C}/tasks", json: #"{"title":"Call the applicant","assignee":"applicant"}"#, all: 404,
            except: [([.anonymous] + residents, 401), ([.admin, .supervisor, .agent], 201)]),
        RouteRule(
            .post, "/api/v1/cases/{id}/tasks/{task}/done", "/api/v1/cases/{C}/tasks/999/done", all: 404,
            except: [([.anonymous] + residents, 401)]),
        RouteRule(
            .post, "/api/v1/cases/{id}/parties", "/api/v1/cases/{C}/parties", json: #"{"role":"lender","name":"First Mesa Bank"}"#, all: 404,
            except: [([.anonymous] + residents, 401), ([.admin, .supervisor, .agent], 201)]),
        RouteRule(
            .delete, "/api/v1/cases/{id}/parties/{party}", "/api/v1/cases/{C}/parties/999", all: 404,
            except: [([.anonymous] + residents, 401)]),
        RouteRule(
            .post, "/api/v1/cases", json: #"{"type":"permit","data":{"what":"Crane"}}"#, all: 403,
            except: [([.anonymous] + residents, 401), ([.admin, .supervisor, .agent], 201), ([.foreignAdmin], 400)]),
        RouteRule(
            .post, "/api/v1/case-queues/pull", json: "{}", all: 403,
            except: [([.anonymous] + residents, 401), ([.admin, .supervisor, .agent, .adminOut, .supervisorOut, .agentOut, .foreignAdmin], 204)]),
        RouteRule(
            .get, "/api/v1/case-queues", all: 403,
            except: [([.anonymous], 401), ([.admin, .supervisor, .adminOut, .supervisorOut, .foreignAdmin], 200)]),
        RouteRule(
            .post, "/api/v1/cases/assign", json: #"{"ids":[{C}],"assignee_id":null}"#, all: 403,
            except: [([.anonymous] + residents, 401), ([.admin, .supervisor], 200), ([.adminOut, .supervisorOut, .foreignAdmin], 404)]),
        // Webhooks are a partner's own, and only with the cases scope.
        RouteRule(.get, "/api/v1/webhooks", all: 403, except: [([.anonymous], 401)]),
        RouteRule(.get, "/api/v1/webhooks/deliveries", all: 403, except: [([.anonymous], 401)]),
        RouteRule(.post, "/api/v1/webhooks", json: #"{"url":"https://lender.example/hooks"}"#, all: 403, except: [([.anonymous] + residents, 401)]),
        RouteRule(.delete, "/api/v1/webhooks/{id}", "/api/v1/webhooks/1", all: 403, except: [([.anonymous] + residents, 401)]),
        // Merging the request into itself: those allowed to merge reach the conflict (409), and nothing changes.
        RouteRule(
            .post, item + "/merge", "/api/v1/service-requests/{R}/merge", json: #"{"duplicates":[{R}]}"#, all: 404,
            except: [
                ([.anonymous] + residents, 401), ([.admin, .supervisor, .agent, .partnerBoth], 409), ([.crew, .analyst, .partnerRead], 403),
            ]),
        // Undoing a merge of the request from itself: those allowed to merge reach the conflict (409), and nothing changes.
        RouteRule(
            .post, item + "/unmerge", "/api/v1/service-requests/{R}/unmerge", json: #"{"duplicate":{R}}"#, all: 404,
            except: [
                ([.anonymous] + residents, 401), ([.admin, .supervisor, .agent, .partnerBoth], 409), ([.crew, .analyst, .partnerRead], 403),
            ]),
        RouteRule(
            .post, "/api/v1/service-requests",
            json: #"{"service_code":"POTHOLE","lat":39.29,"long":-76.61,"attributes":{"SIZE":"large"}}"#, all: 403,
            except: [
                ([.anonymous] + residents, 401), ([.admin, .supervisor, .agent, .partnerWrite, .partnerBoth], 201),
                ([.foreignAdmin], 400),
            ]),
        // Pages
        RouteRule(.get, "/signin", all: 200, except: [(signedIn, 303)]),
        RouteRule(.post, "/signin", form: "email=a%40b.org&password=x", all: 403),
        RouteRule(.get, "/signin/verify", all: 303),
        RouteRule(.post, "/signin/verify", form: "code=123456", all: 303),
        RouteRule(.get, "/account/two-factor", all: 303),
        RouteRule(.post, "/account/two-factor", form: "code=123456", all: 303),
        RouteRule(.get, "/register", all: 200),
        RouteRule(.post, "/register", form: "email=a%40b.org&password=x", all: 403),
        RouteRule(.get, "/verify-email", "/verify-email?token=nope", all: 404),
        RouteRule(.post, "/verify-email", form: "token=nope", all: 403),
        RouteRule(.get, "/verify-email/resend", all: 200),
        RouteRule(.post, "/verify-email/resend", form: "email=x%40example.org", all: 403),
        RouteRule(.post, "/account/resend-confirmation", form: "", all: 303, except: [(signedIn, 403)]),
        RouteRule(.get, "/password/forgot", all: 200),
        RouteRule(.post, "/password/forgot", form: "email=a%40b.org", all: 403),
        RouteRule(.get, "/password/reset", "/password/reset?token=nope", all: 404),
        RouteRule(.post, "/password/reset", form: "token=nope&password=x", all: 403),
        RouteRule(.get, "/account", all: 303, except: [(signedIn, 200)]),
        RouteRule(.post, "/account/details", form: "name=x", all: 303, except: [(signedIn, 403)]),
        RouteRule(.post, "/account/password", form: "current-password=x&new-password=y", all: 303, except: [(signedIn, 403)]),
        RouteRule(.post, "/requests/{id}/update", "/requests/{R}/update", form: "comment=x", all: 303, except: [(residents, 403)]),
        RouteRule(.get, "/contact", all: 200), RouteRule(.get, "/accessibility", all: 200), RouteRule(.get, "/privacy", all: 200),
        RouteRule(
            .get, "/staff/site-pages", all: 303,
            except: [([.admin, .adminOut], 200), (TestActor.staff.filter { $0 != .admin && $0 != .adminOut }, 403), (residents, 403)]),
        RouteRule(.post, "/signout", form: "", all: 403),
        RouteRule(.post, "/account/signout-everywhere", form: "", all: 303, except: [(signedIn, 403)]),
        RouteRule(.post, "/account/delete", form: "password=x", all: 303, except: [(residents, 403)]),
        RouteRule(.post, "/account/tokens", form: "name=x&scope=requests%3Aread", all: 303, except: [(TestActor.staff, 403)]),
        RouteRule(.post, "/account/tokens/{id}/revoke", "/account/tokens/1/revoke", form: "", all: 303, except: [(TestActor.staff, 403)]),
        RouteRule(.get, "/staff", all: 303, except: [(TestActor.staff, 200), (residents, 403)]),
        RouteRule(.get, "/staff/map.json", all: 303, except: [(TestActor.staff, 200), (residents, 403)]),
        RouteRule(.get, "/staff/templates", all: 303, except: [(TestActor.staff, 200), (residents, 403)]),
        RouteRule(.get, "/staff/plan", all: 303, except: [(TestActor.staff, 200), (residents, 403)]),
        // Case work: pages for those who read cases (crew and analysts are refused; a case elsewhere is 404).
        RouteRule(
            .get, "/staff/cases", all: 303,
            except: [
                ([.admin, .supervisor, .agent, .adminOut, .supervisorOut, .agentOut], 200),
                ([.crew, .analyst, .crewOut, .analystOut] + residents, 403),
            ]),
        RouteRule(
            .get, "/staff/cases/{id}", "/staff/cases/{C}", all: 303,
            except: [([.admin, .supervisor, .agent], 200), ([.crew, .analyst] + TestActor.outside, 404), (residents, 403)]),
        RouteRule(
            .get, "/staff/cases/{id}/documents/{document}", "/staff/cases/{C}/documents/999", all: 303,
            except: [(TestActor.staff, 404), (residents, 403)]),
        RouteRule(
            .get, "/staff/cases/{id}/answers", "/staff/cases/{C}/answers", all: 303,
            except: [([.admin, .supervisor, .agent], 200), ([.crew, .analyst] + TestActor.outside, 404), (residents, 403)]),
        RouteRule(.get, "/staff/casetypes", all: 303, except: [(TestActor.staff, 200), (residents, 403)]),
        RouteRule(.get, "/staff/casetypes/{key}", "/staff/casetypes/permit", all: 303, except: [(TestActor.staff, 200), (residents, 403)]),
        RouteRule(.get, "/staff/plan.json", all: 303, except: [(TestActor.staff, 200), (residents, 403)]),
        RouteRule(.get, "/staff/live", "/staff/live?seconds=0", all: 303, except: [(TestActor.staff, 200), (residents, 403)]),
        RouteRule(.get, "/crew", all: 303, except: [(TestActor.staff, 200), (residents, 403)]),
        RouteRule(.get, "/crew-sw.js", all: 200),
        RouteRule(.get, "/crew/stops.json", all: 303, except: [(TestActor.staff, 200), (residents, 403)]),
        // A request outside the staff member's departments is not found for them.
        RouteRule(.get, "/staff/requests/{id}", "/staff/requests/{R}", all: 303, except: [(inside, 200), (outside, 404), (residents, 403)]),
    ]
    let consoleActions: [RouteRule] = [
        ("/staff/requests/{id}", "/staff/requests/{R}", "status=closed"), ("/staff/requests/{id}/merge", "/staff/requests/{R}/merge", "parent=1"),
        ("/staff/requests/{id}/unmerge", "/staff/requests/{R}/unmerge", "duplicate=1"),
        ("/staff/bulk", "/staff/bulk", "ids=1&action=close"), ("/staff/views", "/staff/views", "name=x"),
        ("/staff/views/{id}/delete", "/staff/views/1/delete", ""), ("/staff/templates", "/staff/templates", "title=x&body=y"),
        ("/staff/templates/{id}/delete", "/staff/templates/1/delete", ""), ("/staff/plan", "/staff/plan", "department=Transportation"),
        ("/crew/stops/{id}", "/crew/stops/{R}", "action=resolve&key=0123456789abcdef"),
        ("/staff/plan/pin", "/staff/plan/pin", "department=Transportation&request=1&crew=1"),
        ("/staff/requests/{id}/appointment", "/staff/requests/{R}/appointment", "day=2026-11-24&from=10:00&to=12:00"),
        ("/staff/cases/next", "/staff/cases/next", "queue="), ("/staff/cases/assign", "/staff/cases/assign", "ids=1"),
        ("/staff/cases/{id}/steps", "/staff/cases/{C}/steps", "step=finish"), ("/staff/cases/{id}/notes", "/staff/cases/{C}/notes", "body=x"),
        ("/staff/cases/{id}/tasks", "/staff/cases/{C}/tasks", "title=Call"),
        ("/staff/cases/{id}/documents", "/staff/cases/{C}/documents", "type=plan"), ("/staff/cases/open", "/staff/cases/open", "type=permit"),
        ("/staff/casetypes", "/staff/casetypes", "x=1"), ("/staff/site-pages/{page}", "/staff/site-pages/contact", "language=en&body=x"),
        ("/staff/cases/{id}/answers", "/staff/cases/{C}/answers", "answer-what=x"),
        ("/staff/cases/{id}/tasks/{task}/done", "/staff/cases/{C}/tasks/1/done", ""),
        ("/staff/cases/{id}/parties", "/staff/cases/{C}/parties", "role=lender&name=Bank"),
        ("/staff/cases/{id}/parties/{party}/remove", "/staff/cases/{C}/parties/1/remove", ""),
    ].map { route, uri, form in
        // Console actions: staff without the form token are refused before anything changes.
        RouteRule(.post, route, uri, form: form, all: 303, except: [(TestActor.staff, 403), (residents, 403)])
    }
    let pages: [RouteRule] = [
        // Resident pages: public, with state changes behind the form token (none is sent here, so 403); a report in
        // progress is named by its draft id, and an unknown one is 404 for everyone.
        RouteRule(.get, "/find", "/find?reference={R}", all: 303),
        RouteRule(.get, "/requests", all: 200),
        RouteRule(.get, "/requests/map.json", all: 200),
        RouteRule(.get, "/requests/{id}", "/requests/{R}", all: 200),
        RouteRule(.post, "/requests/{id}/follow", "/requests/{R}/follow", form: "email=a%40b.org", all: 403),
        RouteRule(.get, "/my/requests", all: 303, except: [(signedIn, 200)]),
        // Applications: the list of kinds is public; everything under /my/cases is the applicant's own (others are sent to
        // sign in as a resident, and another resident's case is 404); changes need the form token (none sent: 403).
        RouteRule(.get, "/cases", all: 200),
        RouteRule(.get, "/cases/{type}", "/cases/permit", all: 200),
        RouteRule(.post, "/cases/{type}/start", "/cases/permit/start", form: "", all: 303, except: [(residents, 403)]),
        RouteRule(.get, "/my/cases", all: 303, except: [(residents, 200)]),
        RouteRule(.get, "/my/cases/{id}", "/my/cases/{C}", all: 303, except: [([.residentOwner], 200), ([.residentOther], 404)]),
        RouteRule(.get, "/my/cases/{id}/check", "/my/cases/{C}/check", all: 303, except: [([.residentOwner], 200), ([.residentOther], 404)]),
        RouteRule(.get, "/my/cases/{id}/sent", "/my/cases/{C}/sent", all: 303, except: [([.residentOther], 404)]),
        RouteRule(
            .get, "/my/cases/{id}/questions/{field}", "/my/cases/{C}/questions/what", all: 303,
            except: [([.residentOwner], 200), ([.residentOther], 404)]),
        RouteRule(.get, "/my/cases/{id}/documents/{document}", "/my/cases/{C}/documents/999", all: 303, except: [(residents, 404)]),
        RouteRule(
            .post, "/my/cases/{id}/questions/{field}", "/my/cases/{C}/questions/what", form: "answer=x", all: 303,
            except: [([.residentOwner], 403), ([.residentOther], 404)]),
        RouteRule(
            .post, "/my/cases/{id}/steps", "/my/cases/{C}/steps", form: "step=submit", all: 303,
            except: [([.residentOwner], 403), ([.residentOther], 404)]),
        RouteRule(
            .post, "/my/cases/{id}/documents", "/my/cases/{C}/documents", form: "type=plan", all: 303,
            except: [([.residentOwner], 403), ([.residentOther], 404)]),
        RouteRule(
            .post, "/my/cases/{id}/messages", "/my/cases/{C}/messages", form: "message=hi", all: 303,
            except: [([.residentOwner], 403), ([.residentOther], 404)]),
        RouteRule(.get, "/unsubscribe/{token}", "/unsubscribe/nope", all: 404),
        RouteRule(.post, "/unsubscribe/{token}", "/unsubscribe/nope", form: "", all: 404),
        RouteRule(.get, "/assets/leaflet/**", "/assets/leaflet/unknown.js", all: 404),
        RouteRule(.get, "/addresses", "/addresses?q=main", all: 200),
        RouteRule(.get, "/report", all: 200),
        RouteRule(.post, "/report", form: "service=POTHOLE", all: 403),
    ]
    let reportSteps: [RouteRule] = ["details", "location", "duplicates", "description", "contact", "check"].flatMap { step -> [RouteRule] in
        [RouteRule(.get, "/report/{draft}/\(step)", "/report/nope/\(step)", all: 404)]
            + (step == "duplicates" ? [] : [RouteRule(.post, "/report/{draft}/\(step)", "/report/nope/\(step)", form: "", all: 404)])
    }
    let followUps: [RouteRule] = [
        RouteRule(.get, "/report/{draft}/follow/{id}", "/report/nope/follow/{R}", all: 404),
        RouteRule(.post, "/report/{draft}/follow/{id}", "/report/nope/follow/{R}", form: "email=a%40b.org", all: 404),
    ]
    return routes + consoleActions + pages + reportSteps + followUps
}()

@Suite("Authorization: one table of route × actor → answer")
struct AuthorizationTests {
    @Test("the table covers every route the app declares")
    func tableCoversEveryRoute() async throws {
        try await TestApp.with { app, _ in
            let declared = Set(app.routes.map { "\($0.method.rawValue) \($0.path)" })
            let covered = Set(authorizationTable.map { "\($0.method.rawValue) \($0.route)" })
            #expect(declared.subtracting(covered).sorted() == [], "routes with no line in the authorization table")
            #expect(covered.subtracting(declared).sorted() == [], "table lines for routes that do not exist")
        }
    }

    @Test("every actor gets the table's answer on every route", arguments: authorizationTable)
    func answers(rule: RouteRule) async throws {
        try await TestApp.with { app, client in
            let world = try await ActorWorld.make(app, client)
            var wrong: [String] = []
            for actor in TestActor.allCases {
                let uri = rule.uri.replacingOccurrences(of: "{R}", with: String(world.request)).replacingOccurrences(
                    of: "{C}", with: String(world.caseID))
                let json = rule.json?.replacingOccurrences(of: "{R}", with: String(world.request)).replacingOccurrences(
                    of: "{C}", with: String(world.caseID))
                let response = try await world.send(client, as: actor, rule.method, uri, json: json, form: rule.form)
                let expected = rule.expected[actor]!
                if Int(response.status.code) != expected {
                    wrong.append("\(actor.rawValue): expected \(expected), got \(response.status.code) \(response.text.prefix(100))")
                }
            }
            #expect(wrong.isEmpty, "\(rule): \(wrong.joined(separator: "\n"))")
        }
    }

    @Test("lists and reads show each actor only what is theirs to see")
    func visibility() async throws {
        try await TestApp.with { app, client in
            let world = try await ActorWorld.make(app, client)
            let canSee: Set<TestActor> = Set([.residentOwner] + TestActor.inside + [.partnerRead, .partnerBoth])
            for actor in TestActor.allCases where actor != .anonymous && actor != .partnerWrite {
                let list = try await world.send(client, as: actor, .get, "/api/v1/service-requests?limit=200")
                #expect(list.status == .ok, "\(actor)")
                let items = try #require((try list.json() as? [String: Any])?["items"] as? [[String: Any]])
                let ids = Set(items.compactMap { ($0["id"] as? NSNumber)?.int64Value })
                #expect(ids.contains(world.request) == canSee.contains(actor), "\(actor) list visibility")
                // A resident's list holds only their own requests.
                if actor == .residentOwner { #expect(ids == [world.request]) }
                if actor == .residentOther { #expect(ids == [world.otherRequest]) }
                // Lists never carry personal data.
                #expect(items.allSatisfy { $0["reporter"] == nil })
            }
            // Who gets the reporter's details on a single read.
            let personal: Set<TestActor> = [.residentOwner, .admin, .supervisor, .agent, .crew, .partnerRead, .partnerBoth]
            for actor in canSee {
                let read = try await world.send(client, as: actor, .get, "/api/v1/service-requests/\(world.request)?purpose=callback")
                let object = try #require(try read.json() as? [String: Any])
                let reporter = object["reporter"] as? [String: Any]
                #expect((reporter != nil) == personal.contains(actor), "\(actor) personal data")
                if let reporter { #expect(reporter["email"] as? String == "owner@example.org") }
            }
            // Every staff and partner read of personal data is in the audit chain, with its purpose.
            let entries = try await app.stores.audit.entries(person: "user:\(world.userIDs[.residentOwner]!)", jurisdictionID: "test.city")
            let reads = entries.filter { $0.event.action == "request.read_personal" }
            #expect(Set(reads.map(\.event.actor)).count == personal.count - 1)
            #expect(reads.allSatisfy { $0.event.purpose == "callback" && $0.event.fields.contains("email") })
            #expect(try await app.stores.audit.verify(jurisdictionID: "test.city").intact)
        }
    }
}
