import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CivitasServer

@Suite("A resident adds to a report they made, and says a closed one is still a problem")
struct ResidentUpdateTests {
    @Test("more words and a photo on an open report: for its reporter only, words for staff, the photo without its location")
    func addToOpenReport() async throws {
        try await TestApp.with { app, client in
            let id = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org")
            let anonymous = try await Browser(client).get("/requests/\(id)")
            #expect(anonymous.text.contains("Did you report this?") && !anonymous.text.contains("Add to your report"))
            let (stranger, _) = try await residentBrowser(app, client, email: "eve@example.org")
            #expect(!(try await stranger.get("/requests/\(id)")).text.contains("Add to your report"))
            #expect(try await stranger.post("/requests/\(id)/update", [("comment", "mine now")]).status == .notFound)

            let (ana, anaID) = try await residentBrowser(app, client, email: "ana@example.org")
            let page = try await ana.get("/requests/\(id)")
            #expect(page.text.contains("Add to your report") && page.text.contains(#"action="/requests/\#(id)/update""#))
            let empty = try await ana.post("/requests/\(id)/update", [("comment", "  ")])
            #expect(empty.status == .badRequest && empty.text.contains("Write what you want to add, or choose a photo."))
            try await ana.get("/requests/\(id)")
            let added = try await ana.post("/requests/\(id)/update", [("comment", "Water pools in it when it rains.")])
            #expect(added.headers[.location] == "/requests/\(id)?added=1#history")
            let notes = try await app.stores.requests.notes(id: id, jurisdictionID: "test.city", includeInternal: true)
            #expect(
                notes.contains { $0.body == "Water pools in it when it rains." && $0.visibility == .internal && $0.author == "resident:\(anaID)" })
            let after = try await ana.get("/requests/\(id)?added=1")
            #expect(after.text.contains("The staff working on it can now see what you added."))
            #expect(!(try await Browser(client).get("/requests/\(id)")).text.contains("Water pools"), "the words are for staff")

            try await ana.get("/requests/\(id)")
            let notPhoto = try await ana.multipart(
                "/requests/\(id)/update", fields: [("comment", "")], files: [("photo", "a.jpg", "image/jpeg", Array("hello".utf8))])
            #expect(notPhoto.status == .badRequest && notPhoto.text.contains("JPEG"))
            try await ana.get("/requests/\(id)")
            let photo = try await ana.multipart(
                "/requests/\(id)/update", fields: [("comment", "")], files: [("photo", "hole.jpg", "image/jpeg", jpegWithLocation)])
            #expect(photo.status == .seeOther)
            let ids = try await app.stores.requests.photoIDs(id: id, jurisdictionID: "test.city")
            #expect(ids.count == 1)
            let stored = try #require(try await app.stores.media.find(id: ids[0]))
            #expect(stored.bytes.count < jpegWithLocation.count, "the location in the photo is removed")
            #expect(try await Browser(client).get("/requests/\(id)").text.contains("/media/\(ids[0])"))
            let audit = try await app.stores.audit.recent(jurisdictionID: "test.city")
            #expect(audit.contains { $0.event.action == "request.photo_added" && $0.event.subject == "service_request:\(id)" })
        }
    }

    @Test("a closed report can be opened again within 30 days with what is still wrong; later, it is reported again")
    func stillAProblem() async throws {
        try await TestApp.with { app, client in
            let id = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org")
            _ = try await app.stores.requests.changeStatus(id: id, jurisdictionID: "test.city", to: .closed, note: "Filled.", actor: "staff:1")
            let (ana, _) = try await residentBrowser(app, client, email: "ana@example.org")
            let closed = try await ana.get("/requests/\(id)")
            #expect(closed.text.contains("Still a problem?") && closed.text.contains(#"name="reopen" value="1""#))
            #expect(!closed.text.contains("Add to your report"))
            let silent = try await ana.post("/requests/\(id)/update", [("reopen", "1"), ("comment", "")])
            #expect(silent.status == .badRequest && silent.text.contains("Say what is still wrong"))
            #expect(try await app.stores.requests.find(id: id, jurisdictionID: "test.city")?.status == .closed, "nothing changed")
            try await ana.get("/requests/\(id)")
            let reopened = try await ana.post("/requests/\(id)/update", [("reopen", "1"), ("comment", "It sank again after the rain.")])
            #expect(reopened.headers[.location] == "/requests/\(id)?added=reopened#history")
            #expect(try await app.stores.requests.find(id: id, jurisdictionID: "test.city")?.status == .open)
            #expect(try await ana.get("/requests/\(id)?added=reopened").text.contains("The report is open again."))

            // Closed long ago: no reopening; the way on is a new report.
            let old = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org", lat: "39.3000")
            _ = try await app.stores.requests.changeStatus(
                id: old, jurisdictionID: "test.city", to: .closed, note: nil, actor: "staff:1", now: Date().addingTimeInterval(-40 * 86_400))
            let page = try await ana.get("/requests/\(old)")
            #expect(!page.text.contains(#"name="reopen""#) && page.text.contains("report it again") && page.text.contains(#"href="/report""#))
            let late = try await ana.post("/requests/\(old)/update", [("reopen", "1"), ("comment", "Still there")])
            #expect(late.status == .conflict && late.text.contains("more than 30 days ago"))
        }
    }
}

@Suite("Places in words: a report sent with a spot and no address is named by the nearest address point")
struct PlaceNameTests {
    @Test("the request page and the resident's lists say 'Near 100 N Charles St', not coordinates; far from any address, a spot")
    func nearestAddress() async throws {
        try await TestApp.with { app, client in
            try await ReportFlowTests.addresses(app)
            // StaffConsoleTests.pothole sends a spot (39.2904, -76.6122) and no address, as a phone app does.
            let id = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org")
            let page = try await Browser(client).get("/requests/\(id)")
            #expect(page.text.contains("Near 100 N Charles St") && !page.text.contains("39.29040"), "\(page.text)")
            #expect(try await Browser(client).get("/requests/\(id)?lang=es").text.contains("Cerca de 100 N Charles St"))
            #expect(try await Browser(client).get("/requests").text.contains("Near 100 N Charles St"))
            let (ana, _) = try await residentBrowser(app, client, email: "ana@example.org")
            #expect(try await ana.get("/my/requests").text.contains("Near 100 N Charles St"))
            let (staff, _) = try await staffBrowser(app, client)
            #expect(try await staff.get("/staff/requests/\(id)").text.contains("Near 100 N Charles St"))
            #expect(try await staff.get("/staff").text.contains("Near 100 N Charles St"))
            let far = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org", lat: "39.3500")
            #expect(try await Browser(client).get("/requests/\(far)").text.contains("A spot on the map (39.35000, -76.61220)"))
        }
    }
}

@Suite("Prepared responses in Spanish: readers and followers of Spanish get the agency's own Spanish text")
struct ResponseTranslationTests {
    @Test("a template with its Spanish: shown before saving, on the page in each reader's language, mailed in each follower's")
    func spanishResponse() async throws {
        try await TestApp.with { app, client in
            let id = try await StaffConsoleTests.pothole(app, client, email: "ana@example.org")
            let rosa = Browser(client)
            rosa.cookies["civitas_lang"] = "es"
            _ = try await rosa.get("/requests/\(id)")
            #expect(try await rosa.post("/requests/\(id)/follow", [("email", "rosa@example.org")]).status == .ok)
            let (supervisor, _) = try await staffBrowser(app, client, email: "sue@city.gov", role: .supervisor)
            let page = try await supervisor.get("/staff/templates")
            #expect(page.text.contains(#"id="body-es""#))
            let created = try await supervisor.post(
                "/staff/templates",
                [("title", "Filled"), ("body", "We filled the pothole."), ("body-es", "Rellenamos el bache."), ("status", "closed")])
            #expect(created.status == .seeOther)
            let template = try #require(try await app.stores.templates.list(serviceCode: nil, jurisdictionID: "test.city").first)
            #expect(template.translations[.spanish] == "Rellenamos el bache.")
            #expect(try await supervisor.get("/staff/templates").text.contains("Rellenamos el bache."))
            _ = try await app.stores.outbox.claimDue()

            try await supervisor.get("/staff/requests/\(id)")
            let asked = try await supervisor.post("/staff/requests/\(id)", [("template", String(template.id)), ("visibility", "public")])
            #expect(asked.text.contains("Residents who read Spanish get:") && asked.text.contains("Rellenamos el bache."))
            _ = try await supervisor.post("/staff/requests/\(id)", [("template", String(template.id)), ("visibility", "public"), ("confirmed", "1")])

            let spanish = try await rosa.get("/requests/\(id)")
            #expect(spanish.text.contains("Rellenamos el bache.") && !spanish.text.contains("We filled the pothole."), "\(spanish.text)")
            let english = try await Browser(client).get("/requests/\(id)")
            #expect(english.text.contains("We filled the pothole.") && !english.text.contains("Rellenamos"))
            let mails = try await app.stores.outbox.claimDue()
            #expect(mails.first { $0.recipient == "rosa@example.org" }?.body.contains("Rellenamos el bache.") == true)
            #expect(mails.first { $0.recipient == "ana@example.org" }?.body.contains("We filled the pothole.") == true)
            // Open311 and the API keep the agency's own text.
            #expect(try await app.stores.requests.find(id: id, jurisdictionID: "test.city")?.statusNotes == "We filled the pothole.")
        }
    }
}
