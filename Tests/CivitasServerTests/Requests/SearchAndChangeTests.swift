import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CivitasServer

@Suite("What residents and staff type into search boxes, and changing one answer, through the router")
struct SearchAndChangeTests {
    /// The service codes of the search results, in the order the page lists them.
    static func results(_ page: String) -> [String] {
        var codes: [String] = []
        var rest = page[...]
        while let found = rest.range(of: #"id="result-([A-Z]+)""#, options: .regularExpression) {
            codes.append(String(rest[found].dropFirst(#"id="result-"#.count).dropLast()))
            rest = rest[found.upperBound...]
        }
        return codes
    }

    @Test("a + in a query string is a space: service search ranks by relevance, and admins' search words are found")
    func serviceSearch() async throws {
        try await TestApp.with { app, client in
            let browser = Browser(client)
            // A browser's GET form sends "street light" as street+light.
            let light = Self.results(try await browser.get("/report?q=street+light").text)
            #expect(light.first == "STREETLIGHT", "\(light)")
            #expect(Self.results(try await browser.get("/report?q=street%20light").text) == light)
            // The whole name first, then services that have one of the words.
            let pothole = Self.results(try await browser.get("/report?q=hole+in+the+road").text)
            #expect(pothole.first == "POTHOLE", "\(pothole)")
            #expect(Self.results(try await browser.get("/report?q=graf").text).first == "GRAFFITI", "the start of a word")

            // "sofa" is the page's own hint; the demo city's search words make it find bulky items.
            let hint = try await browser.get("/report")
            #expect(hint.text.contains("sofa"))
            #expect(!Self.results(try await browser.get("/report?q=sofa").text).contains("BULKY"), "not before an admin adds it")
            for (code, words) in try DemoCity.searchWords() {
                var settings = try await app.stores.serviceSettings.settings(for: code, jurisdictionID: "test.city")
                settings.searchWords = words
                try await app.stores.serviceSettings.set(settings, for: code, jurisdictionID: "test.city", actor: "test")
            }
            #expect(Self.results(try await browser.get("/report?q=sofa").text).first == "BULKY")
            #expect(Self.results(try await browser.get("/report?q=old+fridge").text).first == "BULKY")
            #expect(Self.results(try await browser.get("/report?q=xyzzy").text).isEmpty)
        }
    }

    @Test("the staff queue's text filter and the plan's department read a + as a space")
    func staffFilters() async throws {
        try await TestApp.with { app, client in
            var ids: [Int64] = []
            for (description, lat) in [("Bus stop sign knocked down", "39.2904"), ("Bus lane blocked", "39.2950"), ("Stop sign bent", "39.3000")] {
                let filed = try await client.post(
                    "/open311/v2/requests.json",
                    form: [
                        ("api_key", app.apiKey), ("service_code", "POTHOLE"), ("lat", lat), ("long", "-76.6122"),
                        ("description", description), ("attribute[SIZE]", "large"),
                    ])
                let id = try #require(try filed.jsonArray().first?["service_request_id"] as? String, "\(filed.text)")
                ids.append(try #require(Int64(id)))
            }
            let (browser, _) = try await staffBrowser(app, client)
            let link = { (id: Int64) in "/staff/requests/\(id)\"" }
            let bus = try await browser.get("/staff?q=bus")
            #expect(bus.text.contains(link(ids[0])) && bus.text.contains(link(ids[1])) && !bus.text.contains(link(ids[2])))
            let busStop = try await browser.get("/staff?q=bus+stop")
            #expect(busStop.text.contains(link(ids[0])), "\"bus stop\" finds the bus stop")
            #expect(!busStop.text.contains(link(ids[1])) && !busStop.text.contains(link(ids[2])))
            #expect(busStop.text.contains(#"value="bus stop""#), "the box shows what was typed, with its space")

            let planner = try await app.stores.users.create(
                email: "pat@city.gov", kind: .staff, role: .supervisor, departments: .only(["Health", "Public Works"]),
                passwordHash: try await Passwords(cost: 4).hash("long enough password 1"), jurisdictionID: "test.city", actor: "test",
                source: nil
            ).id
            let (cookie, _) = try await app.stores.sessions.create(userID: planner, jurisdictionID: "test.city", secondFactor: true, lifetime: 3600)
            let supervisor = Browser(client)
            supervisor.cookies[Authenticator.sessionCookie] = cookie
            let plan = try await supervisor.get("/staff/plan?department=Public+Works")
            #expect(plan.text.contains(#"<option value="Public Works" selected>"#), "the department asked for is the one shown")
        }
    }

    @Test("Change on the check page returns to it after the one answer, and its Back link goes there too")
    func changeReturnsToCheck() async throws {
        try await TestApp.with { app, client in
            try await ReportFlowTests.addresses(app)
            let browser = Browser(client)
            _ = try await browser.get("/report")
            let details = try await browser.follow(try await browser.post("/report", [("service", "POTHOLE")]))
            let path = try #require(details.text.range(of: #"/report/[0-9a-f]{40}"#, options: .regularExpression).map { String(details.text[$0]) })
            _ = try await browser.post(path + "/details", [("attr_SIZE", "large")])
            _ = try await browser.post(path + "/location", [("address", "100 N Charles St")])
            _ = try await browser.multipart(path + "/description", fields: [("description", "Deep hole by the curb")], files: [])
            let check = try await browser.follow(try await browser.post(path + "/contact", [("email", "ana@example.org")]))
            #expect(check.text.contains("Deep hole by the curb"))
            for step in ["details", "location", "description", "contact"] {
                #expect(check.text.contains(#"href="\#(path)/\#(step)?return=check""#), "Change goes to \(step) and says where it came from")
            }

            let changing = try await browser.get(path + "/description?return=check")
            #expect(changing.text.contains(#"action="\#(path)/description?return=check""#))
            #expect(changing.text.contains(#"href="\#(path)/check""#), "Back goes to the check page")
            let saved = try await browser.multipart(path + "/description?return=check", fields: [("description", "Deeper hole now")], files: [])
            #expect(saved.headers[.location] == path + "/check", "saved, straight back to the check page")
            #expect(try await browser.get(path + "/check").text.contains("Deeper hole now"))

            let moved = try await browser.post(path + "/location?return=check", [("address", "100 N Calvert St")])
            #expect(moved.headers[.location] == path + "/check")
            let answers = try await browser.post(path + "/details?return=check", [("attr_SIZE", "small")])
            #expect(answers.headers[.location] == path + "/check")
            // Without it, the steps go on in order as before.
            #expect(try await browser.post(path + "/details", [("attr_SIZE", "small")]).headers[.location] == path + "/location")
            // A wrong answer while changing keeps the way back.
            let refused = try await browser.post(path + "/contact?return=check", [("email", "not an email")])
            #expect(refused.status == .badRequest && refused.text.contains(#"action="\#(path)/contact?return=check""#))
        }
    }
}

@Suite("People on staff pages: by who they are and their role, anonymous said so, repeated readings grouped")
struct StaffPeopleTests {
    @Test("notes and the assignee name the person and role; an anonymous report says so; three readings are one line")
    func names() async throws {
        try await TestApp.with { app, client in
            let id = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org")
            let (browser, staffID) = try await staffBrowser(app, client)
            _ = try await browser.get("/staff/requests/\(id)")
            _ = try await browser.post("/staff/requests/\(id)", [("note", "Crew says it is 30 cm deep"), ("visibility", "internal")])
            _ = try await browser.post("/staff/requests/\(id)", [("assignee", String(staffID))])
            _ = try await browser.get("/staff/requests/\(id)")
            let page = try await browser.get("/staff/requests/\(id)")
            #expect(page.text.contains("sam@city.gov, agent"), "the note's author and the assignee by name and role")
            #expect(!page.text.contains("staff:\(staffID)"), "never an internal name")
            // Every reading is in the audit chain; the page groups them.
            let readings = try await app.stores.requests.views(of: id, jurisdictionID: "test.city", limit: 100)
            #expect(readings.count >= 3)
            #expect(page.text.contains("viewed \(readings.count) times that day"))
            #expect(page.text.components(separatedBy: "· staff console").count - 1 == 1, "one line for one person, purpose and day")

            let anonymous = try await client.post(
                "/open311/v2/requests.json",
                form: [("api_key", app.apiKey), ("service_code", "POTHOLE"), ("lat", "39.2904"), ("long", "-76.6122"), ("attribute[SIZE]", "large")])
            let anonymousID = try #require(try anonymous.jsonArray().first?["service_request_id"] as? String)
            #expect(try await browser.get("/staff/requests/\(anonymousID)").text.contains("Anonymous: no name or contact given"))
        }
    }
}

@Suite("The service catalog in Spanish, where the agency supplies it")
struct SpanishCatalogTests {
    @Test("a resident reading Spanish chooses, answers, checks and hears about a service in Spanish, and search finds Spanish words")
    func spanishReport() async throws {
        try await TestApp.with { app, client in
            try await ReportFlowTests.addresses(app)
            let browser = Browser(client)
            let start = try await browser.get("/report?lang=es")
            #expect(start.text.contains("Recolección de objetos grandes") && start.text.contains("Calles y aceras"))
            #expect(!start.text.contains("Bulky item pickup"))
            #expect(SearchAndChangeTests.results(try await browser.get("/report?q=sof%C3%A1").text).first == "BULKY")
            #expect(SearchAndChangeTests.results(try await browser.get("/report?q=bache").text).first == "POTHOLE")
            #expect(SearchAndChangeTests.results(try await browser.get("/report?q=pothole").text).first == "POTHOLE", "English words still work")

            let details = try await browser.follow(try await browser.post("/report", [("service", "BULKY")]))
            #expect(details.text.contains("¿Qué hay que recoger?"), "the question in Spanish")
            let path = try #require(details.text.range(of: #"/report/[0-9a-f]{40}"#, options: .regularExpression).map { String(details.text[$0]) })
            _ = try await browser.post(path + "/details", [("attr_ITEMS", "mattress"), ("attr_COUNT", "2")])
            _ = try await browser.post(path + "/location", [("address", "100 N Charles St")])
            _ = try await browser.multipart(path + "/description", fields: [("description", "Un colchón viejo")], files: [])
            let check = try await browser.follow(try await browser.post(path + "/contact", [("email", "rosa@example.org")]))
            #expect(check.text.contains("Recolección de objetos grandes") && check.text.contains("Colchón"), "answers in Spanish")
            _ = try await app.stores.outbox.claimDue()
            let sent = try await browser.post(path + "/check", [])
            let page = try await browser.follow(sent)
            #expect(page.text.contains("Recolección de objetos grandes"), "the request's page names it in Spanish")
            let stored = try #require(try await app.stores.requests.search(ServiceRequestQuery(jurisdictionID: "test.city")).first)
            #expect(stored.serviceName == "Bulky item pickup", "stored as the catalog has it, for staff and Open311")
            let mail = try #require(try await app.stores.outbox.claimDue().first { $0.recipient == "rosa@example.org" })
            #expect(mail.body.contains("Recolección de objetos grandes") && mail.body.contains("Test City"))
        }
    }
}

@Suite("Addresses that are not entries of the address points, and a page that words itself for what it offers")
struct LocationTests {
    static func start(_ app: TestApp, _ client: any TestClientProtocol) async throws -> (Browser, String) {
        try await app.stores.addresses.replaceAll(
            [
                AddressPoint(address: "100 N Charles St", zipcode: "21201", location: Coordinate(latitude: 39.2900, longitude: -76.6122)),
                AddressPoint(address: "110 N Charles St", zipcode: "21201", location: Coordinate(latitude: 39.2910, longitude: -76.6122)),
                AddressPoint(address: "100 N Calvert St", zipcode: "21202", location: Coordinate(latitude: 39.2910, longitude: -76.6120)),
            ], jurisdictionID: "test.city")
        let browser = Browser(client)
        _ = try await browser.get("/report")
        let details = try await browser.follow(try await browser.post("/report", [("service", "GRAFFITI")]))
        let path = try #require(details.text.range(of: #"/report/[0-9a-f]{40}"#, options: .regularExpression).map { String(details.text[$0]) })
        return (browser, path)
    }

    @Test("a house number between two known ones is placed between them; a misspelt street gets 'Did you mean'")
    func nearbyAddresses() async throws {
        try await TestApp.with { app, client in
            let (browser, path) = try await Self.start(app, client)
            let page = try await browser.get(path + "/location")
            #expect(page.text.contains(#"<div class="field map-field" hidden>"#), "no map without the script that draws it")

            let between = try await browser.post(path + "/location", [("address", "105 n charles st")])
            #expect(between.status == .seeOther, "\(between.text)")
            let check = try await browser.get(path + "/check")
            #expect(check.text.contains("105 N Charles St"))
            let draftID = String(path.split(separator: "/").last!)
            let draft = try #require(try await app.stores.drafts.load(draftID, jurisdictionID: "test.city"))
            let lat = try #require(draft["lat"]?.first.flatMap(Double.init))
            #expect(abs(lat - 39.2905) < 0.0001, "halfway between 100 and 110: \(lat)")

            let typo = try await browser.post(path + "/location", [("address", "110 N Charels St")])
            #expect(typo.status == .badRequest)
            #expect(typo.text.contains("Did you mean one of these?") && typo.text.contains(#"value="110 N Charles St""#))
            #expect(typo.text.contains("None of these"))
            #expect(try await browser.post(path + "/location", [("address", "110 N Charles St")]).status == .seeOther)

            // Worded for what the page offers: no map without the script.
            let nowhere = try await browser.post(path + "/location", [("address", "12 Nowhere Rd")])
            #expect(nowhere.status == .badRequest && nowhere.text.contains("latitude and longitude") && !nowhere.text.contains("on the map"))
            let withMap = try await browser.post(path + "/location", [("address", "12 Nowhere Rd"), ("js", "1")])
            #expect(withMap.text.contains("choose a spot on the map"))
            let empty = try await browser.post(path + "/location", [("address", "")])
            #expect(empty.status == .badRequest && !empty.text.contains("pin on the map"))
        }
    }
}

extension LocationTests {
    @Test("a hidden service's reports are never offered as 'the same problem'; a blurred one's are, without their address")
    func sensitiveDuplicates() async throws {
        try await TestApp.with { app, client in
            let (browser, path) = try await Self.start(app, client)
            let earlier = try await client.post(
                "/open311/v2/requests.json",
                form: [
                    ("api_key", app.apiKey), ("service_code", "GRAFFITI"), ("lat", "39.2900"), ("long", "-76.6122"),
                    ("address_string", "100 N Charles St"), ("description", "Tags on the wall"), ("attribute[SURFACE]", "building"),
                    ("attribute[OFFENSIVE]", "yes"),
                ])
            #expect(earlier.status == .ok, "\(earlier.text)")
            _ = try await browser.get(path + "/location")
            let offered = try await browser.post(path + "/location", [("address", "100 N Charles St")])
            #expect(offered.headers[.location]?.hasSuffix("/duplicates") == true)
            try await app.stores.serviceSettings.set(
                ServiceSettings(duplicates: .standard, visibility: .blurred), for: "GRAFFITI", jurisdictionID: "test.city", actor: "test")
            let blurred = try await browser.get(path + "/duplicates")
            #expect(blurred.text.contains("Tags on the wall") && !blurred.text.contains("100 N Charles St</"), "\(blurred.text)")
            try await app.stores.serviceSettings.set(
                ServiceSettings(duplicates: .standard, visibility: .hidden), for: "GRAFFITI", jurisdictionID: "test.city", actor: "test")
            _ = try await browser.get(path + "/location")
            let hidden = try await browser.post(path + "/location", [("address", "100 N Charles St")])
            #expect(hidden.headers[.location]?.hasSuffix("/description") == true)
            #expect(try await browser.get(path + "/duplicates").headers[.location]?.hasSuffix("/description") == true)
        }
    }
}
