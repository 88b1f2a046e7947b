import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import CivitasServer

@Suite("Start pages for applications, and kinds of case for staff only")
struct CaseStartTests {
    @Test("each kind has a start page: who can apply, how long, what may be asked; staff-only kinds are not offered")
    func startPages() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let visitor = Browser(client)
            let catalog = try await visitor.get("/cases")
            #expect(catalog.text.contains(#"href="/cases/unemployment-claim""#))
            #expect(!catalog.text.contains("Training or reassignment request"), "the HR request is for staff")
            let page = try await visitor.get("/cases/unemployment-claim")
            #expect(page.status == .ok)
            for text in [
                "Who can apply", "lost their job through no fault of their own", "How long it takes", "about 15 minutes",
                "Documents you may be asked for",
            ] {
                #expect(page.text.contains(text), "\(text)")
            }
            #expect(page.text.contains(#"href="/signin?next=/cases/unemployment-claim""#) && !page.text.contains("Start now"))
            let spanish = try await visitor.get("/cases/unemployment-claim?lang=es")
            #expect(spanish.text.contains("Quién puede solicitar") && spanish.text.contains("perdió su empleo"))
            #expect(try await visitor.get("/cases/hr-request").status == .notFound)

            let (resident, _) = try await residentBrowser(app, client, email: "maria@example.org")
            let signedIn = try await resident.get("/cases/unemployment-claim")
            #expect(signedIn.text.contains("Start now") && signedIn.text.contains(#"action="/cases/unemployment-claim/start""#))
            #expect(try await resident.post("/cases/hr-request/start", []).status == .notFound)
            #expect(try await resident.post("/cases/unemployment-claim/start", []).status == .seeOther)
        }
    }
}
