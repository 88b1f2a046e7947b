import CivitasCore
import CivitasStore
import Configuration
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CivitasServer

extension Browser {
    /// Follows a 303 as a browser would.
    func follow(_ response: TestResponse) async throws -> TestResponse {
        guard response.status == .seeOther, let location = response.headers[.location] else { return response }
        return try await get(location)
    }

    func multipart(_ uri: String, fields: [(String, String)], files: [(name: String, filename: String, type: String, bytes: [UInt8])]) async throws
        -> TestResponse
    {
        let boundary = "civitas-test-boundary"
        var body = ByteBuffer()
        for (name, value) in fields + [("csrf", lastCSRF ?? "")] {
            body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
        }
        for file in files {
            body.writeString(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(file.name)\"; filename=\"\(file.filename)\"\r\nContent-Type: \(file.type)\r\n\r\n"
            )
            body.writeBytes(file.bytes)
            body.writeString("\r\n")
        }
        body.writeString("--\(boundary)--\r\n")
        var headers = headers()
        headers[.contentType] = "multipart/form-data; boundary=\(boundary)"
        let response = try await client.execute(uri: uri, method: .post, headers: headers, body: body)
        remember(response)
        return response
    }
}

/// A JPEG with an Exif segment holding GPS coordinates, as a phone writes it.
let jpegWithLocation: [UInt8] = {
    var bytes: [UInt8] = [0xFF, 0xD8]
    bytes += [0xFF, 0xE0, 0x00, 0x10] + Array("JFIF".utf8) + [0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]
    let exif = Array("Exif".utf8) + [0, 0] + Array("GPSLatitude 39.2904 GPSLongitude -76.6122".utf8)
    bytes += [0xFF, 0xE1, UInt8((exif.count + 2) >> 8), UInt8((exif.count + 2) & 0xFF)] + exif
    bytes += [0xFF, 0xDB, 0x00, 0x04, 0x00, 0x01]
    bytes += [0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00] + [0x12, 0x34, 0x56] + [0xFF, 0xD9]
    return bytes
}()

@Suite("Reporting on the web, one question per page, through the router")
struct ReportFlowTests {
    static func addresses(_ app: TestApp) async throws {
        try await app.stores.addresses.replaceAll(
            [
                AddressPoint(address: "100 N Charles St", zipcode: "21201", location: Coordinate(latitude: 39.2904, longitude: -76.6122)),
                AddressPoint(address: "100 N Calvert St", zipcode: "21202", location: Coordinate(latitude: 39.2910, longitude: -76.6120)),
            ], jurisdictionID: "test.city")
    }

    @Test("a resident reports a bulky-item pickup from start to confirmation; answers are checked next to each field")
    func wholeFlow() async throws {
        try await TestApp.with { app, client in
            try await Self.addresses(app)
            let browser = Browser(client)
            let start = try await browser.get("/report")
            #expect(start.status == .ok)
            #expect(start.text.contains(#"value="BULKY""#))
            // Nothing chosen: the page says so and stays.
            #expect(try await browser.post("/report", []).status == .badRequest)
            let details = try await browser.follow(try await browser.post("/report", [("service", "BULKY")]))
            #expect(details.text.contains("What needs to be picked up?"))
            let path = try #require(details.text.range(of: #"/report/[0-9a-f]{40}"#, options: .regularExpression).map { String(details.text[$0]) })

            // Required answers missing, a number that is not one: messages next to the fields, and what was typed is kept.
            let invalid = try await browser.post(path + "/details", [("attr_COUNT", "lots")])
            #expect(invalid.status == .badRequest)
            #expect(invalid.text.contains("Answer this question."))
            #expect(invalid.text.contains("Enter a number, like 2."))
            #expect(invalid.text.contains(#"value="lots""#))
            let location = try await browser.follow(
                try await browser.post(path + "/details", [("attr_ITEMS", "furniture"), ("attr_ITEMS", "mattress"), ("attr_COUNT", "2")]))
            #expect(location.text.contains(#"id="address""#))

            // An address that matches nothing, then two that both start the same: the resident chooses.
            let unknown = try await browser.post(path + "/location", [("address", "9 Nowhere Lane")])
            #expect(unknown.status == .badRequest && unknown.text.contains("We could not find"))
            let ambiguous = try await browser.post(path + "/location", [("address", "100 N C")])
            #expect(ambiguous.text.contains("Which address do you mean?") && ambiguous.text.contains("100 N Calvert St"))
            let description = try await browser.follow(try await browser.post(path + "/location", [("address", "100 N Charles St")]))
            #expect(description.text.contains("Describe the problem"))

            // A photo with a location in it: accepted, and stored without it.
            let contact = try await browser.follow(
                try await browser.multipart(
                    path + "/description", fields: [("description", "A sofa and a mattress by the curb")],
                    files: [("photos", "sofa.jpg", "image/jpeg", jpegWithLocation)]))
            #expect(contact.text.contains("How can we reach you?"), "\(contact.text.prefix(400))")
            let badEmail = try await browser.post(path + "/contact", [("name", "Ana"), ("email", "ana@"), ("phone", "")])
            #expect(badEmail.status == .badRequest && badEmail.text.contains("Enter an email address like name@example.com."))
            let check = try await browser.follow(
                try await browser.post(path + "/contact", [("name", "Ana"), ("email", "ana@example.org"), ("phone", "")]))
            #expect(check.text.contains("Check your answers"))
            #expect(check.text.contains("Furniture, Mattress or box spring") && check.text.contains("100 N Charles St"))

            let sent = try await browser.post(path + "/check", [])
            #expect(sent.status == .seeOther)
            let confirmation = try await browser.follow(sent)
            #expect(confirmation.text.contains("Report sent"))
            let sentTo = try #require(sent.headers[.location])
            let id = try #require(sentTo.split(separator: "/").last?.split(separator: "?").first.flatMap { Int64($0) })
            let stored = try #require(try await app.stores.requests.find(id: id, jurisdictionID: "test.city"))
            #expect(stored.serviceCode == "BULKY" && stored.attributes["ITEMS"] == ["furniture", "mattress"])
            #expect(stored.location.address == "100 N Charles St" && stored.reporter.email == "ana@example.org")
            let photos = try await app.stores.requests.photoIDs(id: id, jurisdictionID: "test.city")
            #expect(photos.count == 1)
            let photo = try #require(try await app.stores.media.find(id: photos[0]))
            #expect(!String(decoding: photo.bytes, as: UTF8.self).contains("GPSLatitude"))
            #expect(photo.bytes.suffix(2) == [0xFF, 0xD9])
            // The confirmation mail with the reference is waiting in the outbox; the draft is gone.
            let mails = try await app.stores.outbox.claimDue()
            #expect(mails.map(\.recipient) == ["ana@example.org"])
            #expect(mails.first?.subject.contains("We received your report \(id)") == true)
            #expect(try await browser.get(path + "/check").status == .notFound)
            // The public page shows the request but nobody's personal data.
            let page = try await client.get("/requests/\(id)")
            #expect(page.text.contains("Bulky item pickup") && !page.text.contains("ana@example.org") && !page.text.contains("Ana"))
        }
    }

    @Test("a second resident is offered the open request nearby and follows it instead; the follow counts and is audited")
    func duplicateBeforeSubmit() async throws {
        try await TestApp.with { app, client in
            try await Self.addresses(app)
            let first = try await client.post("/open311/v2/requests.json", form: app.bulkyForm())
            let firstID = try #require(try first.jsonArray().first?["service_request_id"] as? String)
            let browser = Browser(client)
            try await browser.get("/report")
            let details = try await browser.follow(try await browser.post("/report", [("service", "BULKY")]))
            let path = try #require(details.text.range(of: #"/report/[0-9a-f]{40}"#, options: .regularExpression).map { String(details.text[$0]) })
            _ = try await browser.post(path + "/details", [("attr_ITEMS", "furniture"), ("attr_COUNT", "1")])
            let offered = try await browser.follow(try await browser.post(path + "/location", [("address", "100 N Charles St")]))
            #expect(offered.text.contains("Is this the same problem?"))
            #expect(offered.text.contains("Bulky item pickup, 0 m away, reported just now"))
            #expect(offered.text.contains("/report/\(path.split(separator: "/").last!)/follow/\(firstID)"))
            let followPage = try await browser.get(path + "/follow/\(firstID)")
            #expect(followPage.status == .ok)
            #expect(try await browser.post(path + "/follow/\(firstID)", [("email", "nope")]).status == .badRequest)
            let done = try await browser.post(path + "/follow/\(firstID)", [("email", "ben@example.org")])
            #expect(done.text.contains("You are following report \(firstID)"))
            #expect(try await app.stores.requests.followerCount(requestID: Int64(firstID)!, jurisdictionID: "test.city") == 1)
            #expect(try await app.count() == 1, "no second request was filed")
            let audit = try await app.stores.audit.entries(person: "email:ben@example.org", jurisdictionID: "test.city")
            #expect(audit.map(\.event.action) == ["request.follow"])
        }
    }

    @Test("photos that are too big, or not pictures, are refused on the page with a message; nothing else is lost")
    func photoLimits() async throws {
        try await TestApp.with(config: ["http.maxBodySize": .init(.int(4096), isSecret: false)]) { app, client in
            try await Self.addresses(app)
            let browser = Browser(client)
            try await browser.get("/report")
            let details = try await browser.follow(try await browser.post("/report", [("service", "BULKY")]))
            let path = try #require(details.text.range(of: #"/report/[0-9a-f]{40}"#, options: .regularExpression).map { String(details.text[$0]) })
            _ = try await browser.post(path + "/details", [("attr_ITEMS", "furniture"), ("attr_COUNT", "1")])
            _ = try await browser.post(path + "/location", [("address", "100 N Calvert St")])
            let big = try await browser.multipart(
                path + "/description", fields: [("description", "Sofa")],
                files: [("photos", "big.jpg", "image/jpeg", [UInt8](repeating: 0xFF, count: 8000))])
            #expect(big.status == .contentTooLarge && big.text.contains("A photo can be at most 8 MB."))
            let text = try await browser.multipart(
                path + "/description", fields: [("description", "Sofa")], files: [("photos", "notes.txt", "image/jpeg", Array("hello".utf8))])
            #expect(text.status == .badRequest && text.text.contains("A photo must be a JPEG or PNG image."))
            #expect(text.text.contains(">Sofa</textarea>"), "the description typed is kept")
            let many = try await browser.multipart(
                path + "/description", fields: [("description", "Sofa")],
                files: Array(repeating: ("photos", "a.jpg", "image/jpeg", [UInt8](jpegWithLocation.prefix(200))), count: 4))
            #expect(many.status == .badRequest && many.text.contains("Add at most 3 photos."))
        }
    }

    @Test("pages speak Spanish when asked, remember it, and fall back to the browser's language")
    func spanish() async throws {
        try await TestApp.with { app, client in
            let browser = Browser(client)
            let asked = try await browser.get("/report?lang=es")
            #expect(asked.text.contains("¿Qué quiere reportar?") && asked.text.contains(#"<html lang="es">"#))
            #expect(browser.cookies[Catalog.cookie] == "es")
            #expect(try await browser.get("/").text.contains("Reporte un problema o siga uno"))
            let byHeader = try await client.execute(uri: "/", method: .get, headers: [.acceptLanguage: "fr;q=0.9, es-MX;q=0.8, en;q=0.5"])
            #expect(byHeader.text.contains("Reporte un problema"))
            #expect(try await client.get("/").text.contains("Report a problem or follow one"))
            // The account pages too, with their error messages.
            #expect(try await browser.get("/signin").text.contains("¿Olvidó su contraseña?"))
            #expect(try await browser.get("/register").text.contains("Crear una cuenta"))
            let wrong = try await browser.post("/register", [("email", "ana@example.org"), ("password", "short")])
            #expect(wrong.text.contains("Use una contraseña de al menos 12 caracteres."))
            #expect(try await browser.get("/password/forgot").text.contains("Restablecer su contraseña"))
        }
    }

    @Test("sensitive services: hidden ones are not listed, blurred ones show no address and a spot moved to a 200 m cell")
    func sensitive() async throws {
        try await TestApp.with { app, client in
            let created = try await client.post("/open311/v2/requests.json", form: app.bulkyForm())
            let id = try #require(try created.jsonArray().first?["service_request_id"] as? String)
            #expect(try await client.get("/requests").text.contains("/requests/\(id)"))
            try await app.stores.serviceSettings.set(
                ServiceSettings(duplicates: .standard, visibility: .blurred), for: "BULKY", jurisdictionID: "test.city", actor: "test")
            let blurred = try await client.get("/requests/map.json").text
            #expect(blurred.contains("\"id\":\(id)") && !blurred.contains("-76.6122,"))
            #expect(!(try await client.get("/requests").text.contains("100 N Charles St")))
            try await app.stores.serviceSettings.set(
                ServiceSettings(duplicates: .standard, visibility: .hidden), for: "BULKY", jurisdictionID: "test.city", actor: "test")
            #expect(!(try await client.get("/requests").text.contains("/requests/\(id)")))
            #expect(!(try await client.get("/requests?service=BULKY").text.contains("/requests/\(id)")))
            #expect(!(try await client.get("/requests/map.json").text.contains("\"id\":\(id)")))
            // Its reporter can still look it up by reference, without the place.
            let page = try await client.get("/requests/\(id)")
            #expect(page.status == .ok && !page.text.contains("100 N Charles St"))
        }
    }

    @Test("unsubscribing takes a POST (a mail scanner's GET changes nothing)")
    func unsubscribe() async throws {
        try await TestApp.with { app, client in
            let created = try await client.post("/open311/v2/requests.json", form: app.bulkyForm([("email", "ana@example.org")]))
            let id = Int64(try #require(try created.jsonArray().first?["service_request_id"] as? String))!
            let token = try #require(try await app.stores.requests.followers(requestID: id, jurisdictionID: "test.city").first?.unsubscribeToken)
            #expect(try await client.get("/unsubscribe/\(token)").status == .ok)
            #expect(try await app.stores.requests.followers(requestID: id, jurisdictionID: "test.city").count == 1)
            let done = try await client.post("/unsubscribe/\(token)", form: [("List-Unsubscribe", "One-Click")])
            #expect(done.status == .ok)
            #expect(try await app.stores.requests.followers(requestID: id, jurisdictionID: "test.city").isEmpty)
        }
    }

    @Test("every text a template uses is in the catalog, and every resident text is in Spanish too")
    func catalog() throws {
        let catalog = try Catalog.load()
        let english = catalog.texts[.english] ?? [:]
        let spanish = catalog.texts[.spanish] ?? [:]
        // Page text is plain language: no code marks (`civitas crews add`) in what people read.
        for (key, text) in english.merging(spanish.mapValues { $0 }, uniquingKeysWith: { $0 + $1 }) {
            #expect(!text.contains("`"), "\(key) has code marks: \(text)")
        }
        let folder = try #require(Views.folder)
        var used: Set<String> = []
        // Templates live in one folder per capability (requests/, cases/, ...).
        let names = try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".mustache") }
        #expect(names.count > 30)
        for name in names {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            var rest = text[...]
            while let range = rest.range(of: #"\{\{t\.[a-z_.]+\}\}"#, options: .regularExpression) {
                used.insert(String(rest[range].dropFirst(4).dropLast(2)))
                rest = rest[range.upperBound...]
            }
        }
        #expect(!used.isEmpty)
        #expect(used.subtracting(english.keys).sorted() == [], "keys used by templates but missing from en.json")
        let resident = Set(english.keys.filter { !$0.hasPrefix("staff_") })
        #expect(resident.subtracting(spanish.keys).sorted() == [], "resident texts without a Spanish version")
        #expect(spanish.filter { $0.value.isEmpty }.isEmpty)
    }
}
