import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import CivitasServer

let pdfBytes: [UInt8] = Array("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".utf8)

/// The example case types, imported as an admin would.
func importCaseTypes(_ app: TestApp) async throws {
    for name in DemoCity.exampleCaseTypes {
        _ = try await app.stores.cases.importType(try DemoCity.exampleCaseType(name), createdBy: "test", jurisdictionID: "test.city")
    }
}

/// A staff member of one department, signed in past the second factor, with skills.
func caseWorker(
    _ app: TestApp, _ client: any TestClientProtocol, email: String, role: StaffRole = .agent, department: String = "Workforce Solutions",
    skills: Set<String> = ["ui"]
) async throws -> (Browser, Int64) {
    let hash = try await Passwords(cost: 4).hash("long enough password 1")
    let id = try await app.stores.users.create(
        email: email, kind: .staff, role: role, departments: .only([department]), passwordHash: hash, jurisdictionID: "test.city", actor: "test",
        source: nil
    ).id
    try await app.stores.cases.setSkills(userID: id, skills: skills)
    let (cookie, _) = try await app.stores.sessions.create(userID: id, jurisdictionID: "test.city", secondFactor: true, lifetime: 3600)
    let browser = Browser(client)
    browser.cookies[Authenticator.sessionCookie] = cookie
    return (browser, id)
}

func residentBrowser(_ app: TestApp, _ client: any TestClientProtocol, email: String) async throws -> (Browser, Int64) {
    let id = try await makeResident(app, email: email)
    let (cookie, _) = try await app.stores.sessions.create(userID: id, jurisdictionID: "test.city", secondFactor: false, lifetime: 3600)
    let browser = Browser(client)
    browser.cookies[Authenticator.sessionCookie] = cookie
    return (browser, id)
}

@Suite("Cases on the web: a resident applies, an agent works the case, the decision is explained")
struct CaseWebTests {
    static let answers: [String: String] = [
        "full_name": "Maria Lopez", "birth_date": "1988-04-02", "mailing_address": "12 Elm St, Santa Fe NM", "phone": "505 555 0100",
        "last_employer": "Acme Foods", "last_day_worked": "2026-10-30", "separation_reason": "laid_off", "weekly_earnings": "120",
        "able_and_available": "yes",
    ]

    @Test("apply one question per page, save and come back, send; pull, ask for a document, upload it, approve; the decision explains itself")
    func unemploymentJourney() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let (resident, residentID) = try await residentBrowser(app, client, email: "maria@example.org")
            let catalog = try await resident.get("/cases")
            #expect(catalog.status == .ok && catalog.text.contains("Unemployment insurance claim"))
            let started = try await resident.post("/cases/unemployment-claim/start", [])
            let first = try #require(started.headers[.location])
            #expect(first.hasSuffix("/questions/full_name"))
            let caseID = try #require(Int64(first.split(separator: "/")[2]))

            // A required question left empty is refused on its page; a bad amount is refused with the rule in words.
            try await resident.get(first)
            let empty = try await resident.post(first, [("answer", ""), ("continue", "1")])
            #expect(empty.status == .badRequest && empty.text.contains("Answer this question to go on."))
            var page = first
            var answered = 0
            // Answer until half-way, then save and leave.
            while answered < 4 {
                let key = String(page.split(separator: "/").last!)
                try await resident.get(page)
                let next = try await resident.post(page, [("answer", Self.answers[key] ?? ""), ("continue", "1")])
                #expect(next.status == .seeOther, "\(key): \(next.text.prefix(300))")
                page = try #require(next.headers[.location])
                answered += 1
            }
            let key = String(page.split(separator: "/").last!)
            try await resident.get(page)
            let saved = try await resident.post(page, [("answer", Self.answers[key] ?? ""), ("save", "1")])
            #expect(saved.headers[.location] == "/my/cases/\(caseID)?saved=1")
            let mine = try await resident.get("/my/cases")
            #expect(mine.text.contains("You have not sent this claim yet."))
            // Coming back: the application continues where the answers stop.
            let overview = try await resident.get("/my/cases/\(caseID)")
            #expect(overview.text.contains("Continue the application"))
            page = "/my/cases/\(caseID)/questions/last_employer"
            while page.contains("/questions/") {
                let key = String(page.split(separator: "/").last!.split(separator: "?").first!)
                try await resident.get(page)
                if key == "weekly_earnings" {
                    let bad = try await resident.post(page, [("answer", "lots"), ("continue", "1")])
                    #expect(bad.status == .badRequest && bad.text.contains("give a number"))
                }
                let next = try await resident.post(page, [("answer", Self.answers[key] ?? ""), ("continue", "1")])
                #expect(next.status == .seeOther, "\(key): \(next.text.prefix(300))")
                page = try #require(next.headers[.location])
            }
            #expect(page == "/my/cases/\(caseID)/check")
            let check = try await resident.get(page)
            #expect(check.text.contains("$120") && check.text.contains("I was laid off because there was not enough work"))
            #expect(!check.text.contains("Did you quit"), "a question that does not apply is not asked")
            let sent = try await resident.post("/my/cases/\(caseID)/steps", [("step", "submit")])
            #expect(sent.status == .seeOther)
            #expect(try await resident.get("/my/cases/\(caseID)").text.contains("We have your claim and will start on it soon."))

            // The agent pulls the next case from the queue and asks for proof of identity.
            let (agent, _) = try await caseWorker(app, client, email: "ana@labor.gov")
            let queue = try await agent.get("/staff/cases")
            #expect(queue.status == .ok && queue.text.contains("Next case"))
            let pulled = try await agent.post("/staff/cases/next", [("queue", "")])
            #expect(pulled.headers[.location] == "/staff/cases/\(caseID)")
            let work = try await agent.get("/staff/cases/\(caseID)")
            #expect(work.text.contains("Maria Lopez") && work.text.contains("Start the review"))
            #expect(try await agent.post("/staff/cases/\(caseID)/steps", [("step", "start_review")]).status == .seeOther)
            try await agent.get("/staff/cases/\(caseID)")
            let refused = try await agent.post("/staff/cases/\(caseID)/steps", [("step", "approve")])
            #expect(refused.status == .conflict && refused.text.contains("has not been provided"))
            try await agent.get("/staff/cases/\(caseID)")
            #expect(
                try await agent.post(
                    "/staff/cases/\(caseID)/steps",
                    [
                        ("step", "request_documents"), ("reason-request_documents", "Please upload proof of identity."),
                        ("documents-request_documents", "proof_of_identity"),
                    ]
                ).status == .seeOther)

            // The resident sees what is needed and by when, and uploads it from the phone.
            try await app.stores.cases.addParty(
                caseID, role: "authorised representative", name: "Dana Ortiz", email: nil, by: CaseCaller(actor: .role("agent"), name: "staff:1"),
                jurisdictionID: "test.city")
            let needed = try await resident.get("/my/cases/\(caseID)")
            #expect(needed.text.contains("What we need from you") && needed.text.contains("Upload: Proof of identity"))
            #expect(needed.text.contains("Others on this case") && needed.text.contains("Dana Ortiz – authorised representative"))
            #expect(needed.text.contains("Please upload proof of identity."))
            let notPDF = try await resident.multipart(
                "/my/cases/\(caseID)/documents", fields: [("type", "proof_of_identity")],
                files: [("file", "id.txt", "application/pdf", Array("hello".utf8))])
            #expect(notPDF.status == .badRequest && notPDF.text.contains("the file must be PDF, JPEG, PNG"))
            try await resident.get("/my/cases/\(caseID)")
            let uploaded = try await resident.multipart(
                "/my/cases/\(caseID)/documents", fields: [("type", "proof_of_identity")], files: [("file", "id.pdf", "application/pdf", pdfBytes)])
            #expect(uploaded.status == .seeOther)
            try await resident.get("/my/cases/\(caseID)")
            #expect(try await resident.post("/my/cases/\(caseID)/steps", [("step", "provide_documents")]).status == .seeOther)

            // The agent approves; the resident reads the decision with the values it used.
            try await agent.get("/staff/cases/\(caseID)")
            #expect(try await agent.post("/staff/cases/\(caseID)/steps", [("step", "approve")]).status == .seeOther)
            let decided = try await resident.get("/my/cases/\(caseID)")
            #expect(decided.text.contains("Your claim is approved."))
            #expect(decided.text.contains("your weekly earnings of $120 are within the $300 limit in rule UI-4 v2"))
            let audit = try await app.stores.audit.entries(person: "user:\(residentID)", jurisdictionID: "test.city")
            #expect(audit.contains { $0.event.action == "case.read_personal" && $0.event.subject == "case:\(caseID)" })

            // Nobody else sees it: another resident, or staff of another department.
            let (stranger, _) = try await residentBrowser(app, client, email: "eve@example.org")
            #expect(try await stranger.get("/my/cases/\(caseID)").status == .notFound)
            let (parks, _) = try await caseWorker(app, client, email: "pat@parks.gov", department: "Parks")
            #expect(try await parks.get("/staff/cases/\(caseID)").status == .notFound)
            let diagram = try await agent.get("/staff/casetypes/unemployment-claim")
            #expect(diagram.text.contains("<svg") && diagram.text.contains("Waiting on the claimant") && diagram.text.contains("rule UI-4 passes"))
        }
    }
}

extension CaseWebTests {
    @Test("a Spanish-speaking resident applies in Spanish: the questions, the refusals, the status and the decisions' explanations")
    func inSpanish() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let (resident, residentID) = try await residentBrowser(app, client, email: "rosa@example.org")
            resident.cookies["civitas_lang"] = "es"
            #expect(try await resident.get("/cases").text.contains("Solicitud de seguro de desempleo"))
            let started = try await resident.post("/cases/unemployment-claim/start", [])
            let first = try #require(started.headers[.location])
            let question = try await resident.get(first)
            #expect(question.text.contains("Su nombre completo") && !question.text.contains("Your full name"))
            let caseID = try #require(Int64(first.split(separator: "/")[2]))
            #expect(try await app.stores.cases.find(id: caseID, jurisdictionID: "test.city")?.language == .spanish)
            try await resident.get("/my/cases/\(caseID)/questions/weekly_earnings")
            let refused = try await resident.post("/my/cases/\(caseID)/questions/weekly_earnings", [("answer", "mucho"), ("continue", "1")])
            #expect(refused.status == .badRequest && refused.text.contains("escriba un número, como 312 o 312.50"), "\(refused.text)")
            // Sending it half-answered is refused with what is missing, in Spanish.
            try await resident.get("/my/cases/\(caseID)/check")
            let early = try await resident.post("/my/cases/\(caseID)/steps", [("step", "submit")])
            #expect(early.status == .conflict && early.text.contains("Responda \u{201C}Su nombre completo\u{201D}."), "\(early.text)")
            #expect(!early.text.contains("Answer \u{201C}"))
            // A claim sent with all its answers: the status and each decision in Spanish, the choice too.
            var answers = Self.answers.mapValues { JSONValue.string($0) }
            answers["weekly_earnings"] = .integer(350)
            answers["able_and_available"] = .bool(true)
            let sent = try await app.stores.cases.create(
                typeKey: "unemployment-claim", data: answers, by: CaseCaller(actor: .applicant, name: "resident:\(residentID)", userID: residentID),
                applicantID: residentID, submit: true, language: .spanish, jurisdictionID: "test.city")
            // The mail about it is in Spanish too.
            let mail = try #require(try await app.stores.outbox.claimDue().first { $0.recipient == "rosa@example.org" })
            #expect(mail.subject == "Su solicitud de seguro de desempleo, caso \(sent.id)", "\(mail.subject)")
            #expect(mail.body.contains("Recibimos su solicitud y empezaremos a revisarla pronto."), "\(mail.body)")
            let page = try await resident.get("/my/cases/\(sent.id)")
            #expect(page.text.contains("Recibimos su solicitud y empezaremos a revisarla pronto."))
            #expect(!page.text.contains("UI-4") && !page.text.contains("La decisión"), "no decision is shown before one is made")
            #expect(try await resident.get("/my/cases").text.contains("Solicitud de seguro de desempleo"))
            // Asked for a document: the task and the history in Spanish, the agent's reason as written.
            let agent = CaseCaller(actor: .role("agent"), name: "staff:1")
            _ = try await app.stores.cases.transition(sent.id, "start_review", by: agent, jurisdictionID: "test.city")
            _ = try await app.stores.cases.transition(
                sent.id, "request_documents", by: agent, reason: "Please send your ID.", documents: ["proof_of_identity"], jurisdictionID: "test.city"
            )
            let asked = try await resident.get("/my/cases/\(sent.id)")
            #expect(asked.text.contains("Suba: Prueba de identidad (licencia de conducir, identificación estatal o pasaporte)"), "\(asked.text)")
            #expect(asked.text.contains("Necesitamos algo de usted antes de continuar. Motivo: Please send your ID."))
            #expect(asked.text.contains("Solicitud de seguro de desempleo: iniciada."))
            #expect(!asked.text.contains("Upload: Proof of identity"))
            // Fourteen days on, the reminder: in the history and in the mail, in Spanish; so is a person added to the case.
            _ = try await app.stores.outbox.claimDue()
            let fortnight = Date().addingTimeInterval(15 * 86_400)
            #expect(try await app.stores.cases.sweep(jurisdictionID: "test.city", now: fortnight) == 1)
            let reminders = try await app.stores.outbox.claimDue(now: fortnight).filter { $0.recipient == "rosa@example.org" }
            #expect(reminders.contains { $0.body.contains("Todavía necesitamos sus documentos") }, "\(reminders.map(\.body))")
            try await app.stores.cases.addParty(
                sent.id, role: "representante autorizada", name: "Dana Ortiz", email: nil, by: agent, jurisdictionID: "test.city")
            let later = try await resident.get("/my/cases/\(sent.id)")
            #expect(later.text.contains("Todavía necesitamos sus documentos para continuar con su solicitud."))
            #expect(later.text.contains("Dana Ortiz se agregó como representante autorizada."))
            resident.cookies["civitas_lang"] = "en"
            let english = try await resident.get("/my/cases/\(sent.id)")
            #expect(english.text.contains("Upload: Proof of identity") && english.text.contains("Reason: Please send your ID."))
            // Denied: the decision, what it means and each reason, in Spanish; the same in English for an English reader.
            _ = try await app.stores.cases.transition(
                sent.id, "provide_documents", by: CaseCaller(actor: .applicant, name: "resident:\(residentID)", userID: residentID),
                jurisdictionID: "test.city")
            _ = try await app.stores.cases.transition(sent.id, "deny", by: agent, reason: "Earnings above the limit.", jurisdictionID: "test.city")
            resident.cookies["civitas_lang"] = "es"
            let denied = try await resident.get("/my/cases/\(sent.id)")
            #expect(denied.text.contains("La decisión") && denied.text.contains("Su solicitud fue denegada. Puede apelar dentro de 30 días."))
            #expect(denied.text.contains("sus ingresos semanales de $350 superan el límite de $300 de la regla UI-4 v2"), "\(denied.text)")
            #expect(
                denied.text.contains("su empleo terminó porque &quot;Me despidieron porque no había suficiente trabajo&quot;")
                    || denied.text.contains("su empleo terminó porque \"Me despidieron porque no había suficiente trabajo\""))
            resident.cookies["civitas_lang"] = "en"
            let deniedEnglish = try await resident.get("/my/cases/\(sent.id)")
            #expect(deniedEnglish.text.contains("your weekly earnings of $350 are above the $300 limit in rule UI-4 v2"))
            #expect(deniedEnglish.text.contains("The reason we gave:") && deniedEnglish.text.contains("Earnings above the limit."))
        }
    }

    @Test("an agent opens a case for a caller with an account, fills in the answers on one page, and sends it for them")
    func staffOpensForCaller() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let (_, residentID) = try await residentBrowser(app, client, email: "jo@example.org")
            let (agent, _) = try await caseWorker(app, client, email: "ana@labor.gov")
            let page = try await agent.get("/staff/cases")
            #expect(page.text.contains("Open a case for someone") && page.text.contains("Unemployment insurance claim"))
            #expect(!page.text.contains(">Residential building permit<"), "only kinds of the agent's department")
            let unknown = try await agent.post("/staff/cases/open", [("type", "unemployment-claim"), ("email", "nobody@example.org")])
            #expect(unknown.status == .badRequest && unknown.text.contains("There is no resident account with that email"))
            try await agent.get("/staff/cases")
            let opened = try await agent.post("/staff/cases/open", [("type", "unemployment-claim"), ("email", "jo@example.org"), ("language", "es")])
            let location = try #require(opened.headers[.location])
            #expect(location.hasSuffix("/answers"))
            let caseID = try #require(Int64(location.split(separator: "/")[2]))
            let stored = try await app.stores.cases.find(id: caseID, jurisdictionID: "test.city")
            #expect(stored?.applicantID == residentID && stored?.language == .spanish)
            let form = try await agent.get(location)
            #expect(form.status == .ok && form.text.contains("Your last employer"))
            var answers = CaseWebTests.answers.map { ("answer-" + $0.key, $0.value) }
            answers.removeAll { $0.0 == "answer-weekly_earnings" }
            let bad = try await agent.post(location, answers + [("answer-weekly_earnings", "lots")])
            #expect(bad.status == .badRequest && bad.text.contains("give a number"))
            #expect(try await app.stores.cases.find(id: caseID, jurisdictionID: "test.city")?.data.isEmpty == true, "nothing saved with a mistake")
            try await agent.get(location)
            #expect(try await agent.post(location, answers + [("answer-weekly_earnings", "80")]).status == .seeOther)
            let saved = try #require(try await app.stores.cases.find(id: caseID, jurisdictionID: "test.city"))
            #expect(saved.data["weekly_earnings"] == .integer(80) && saved.data["able_and_available"] == .bool(true))
            try await agent.get("/staff/cases/\(caseID)")
            #expect(try await agent.post("/staff/cases/\(caseID)/steps", [("step", "submit")]).status == .seeOther)
            #expect(try await app.stores.cases.find(id: caseID, jurisdictionID: "test.city")?.state == "submitted")
            // The caller's ID arrived by post: the agent scans it in.
            try await agent.get("/staff/cases/\(caseID)")
            let notPDF = try await agent.multipart(
                "/staff/cases/\(caseID)/documents", fields: [("type", "proof_of_identity")],
                files: [("file", "id.txt", "text/plain", Array("x".utf8))])
            #expect(notPDF.status == .badRequest)
            try await agent.get("/staff/cases/\(caseID)")
            #expect(
                try await agent.multipart(
                    "/staff/cases/\(caseID)/documents", fields: [("type", "proof_of_identity")],
                    files: [("file", "id.pdf", "application/pdf", pdfBytes)]
                ).status == .seeOther)
            #expect(try await app.stores.cases.documents(of: caseID).map(\.type) == ["proof_of_identity"])
        }
    }
}

extension CaseWebTests {
    @Test("an admin imports a case type from the browser; mistakes are listed by line and nothing is imported; others may not")
    func importFromBrowser() async throws {
        try await TestApp.with { app, client in
            let (admin, _) = try await caseWorker(app, client, email: "it@city.gov", role: .admin)
            let page = try await admin.get("/staff/casetypes")
            #expect(page.text.contains("Import a case type"))
            let text = try DemoCity.exampleCaseType("hr-request")
            let broken = text.replacingOccurrences(of: "    sla: 3 business days", with: "    sla: soon")
            let refused = try await admin.multipart(
                "/staff/casetypes", fields: [], files: [("definition", "hr.yaml", "text/yaml", Array(broken.utf8))])
            #expect(refused.status == .badRequest && refused.text.contains("states[1].sla: must read like"))
            #expect(try await app.stores.cases.types(jurisdictionID: "test.city").isEmpty)
            try await admin.get("/staff/casetypes")
            let imported = try await admin.multipart(
                "/staff/casetypes", fields: [], files: [("definition", "hr.yaml", "text/yaml", Array(text.utf8))])
            #expect(imported.status == .seeOther)
            #expect(try await admin.follow(imported).text.contains("Imported Training or reassignment request v1."))
            let (agent, _) = try await caseWorker(app, client, email: "ann@city.gov")
            #expect(!(try await agent.get("/staff/casetypes")).text.contains("Import a case type"))
            #expect(
                try await agent.multipart("/staff/casetypes", fields: [], files: [("definition", "hr.yaml", "text/yaml", Array(text.utf8))]).status
                    == .forbidden)
        }
    }
}

@Suite("Cases through the API: partners, idempotency, guards, all three example types")
struct CaseAPITests {
    static func token(_ app: TestApp, _ client: any TestClientProtocol, scopes: [Scope], departments: DepartmentScope = .all) async throws -> String {
        let (registered, secret) = try await app.stores.credentials.createClient(
            name: "lender", scopes: scopes, departments: departments, jurisdictionID: "test.city", actor: "test")
        let response = try await client.execute(
            uri: "/oauth/token", method: .post,
            headers: [.contentType: "application/x-www-form-urlencoded", .authorization: basic(registered.id, secret)],
            body: ByteBuffer(string: "grant_type=client_credentials"))
        return try #require((try response.json() as? [String: Any])?["access_token"] as? String)
    }

    static func call(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ token: String, _ body: String? = nil, key: String? = nil
    ) async throws -> (HTTPResponse.Status, [String: Any], HTTPFields) {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        if body != nil { headers[.contentType] = "application/json" }
        if let key { headers[HTTPField.Name("Idempotency-Key")!] = key }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return (response.status, (try? response.json() as? [String: Any]) ?? [:], response.headers)
    }

    @Test("a partner creates a case under an idempotency key: the retry returns the same case, another body under the key is refused")
    func idempotentCreate() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let lender = try await Self.token(app, client, scopes: [.casesRead, .casesWrite])
            let body = """
                {"type": "hr-request", "submit": true, "data": {"service_number": "A-1029", "unit": "4th Wing", "request_kind": "training",
                 "course_name": "Avionics II", "training_cost": 1800, "justification": "Needed for the new aircraft."},
                 "parties": [{"role": "supervisor", "name": "Maj. Lee", "email": "lee@example.mil"}]}
                """
            let key = "los-\(UUID().uuidString)"
            let first = try await Self.call(client, .post, "/api/v1/cases", lender, body, key: key)
            #expect(first.0 == .created && first.1["state"] as? String == "submitted", "\(first.1)")
            let again = try await Self.call(client, .post, "/api/v1/cases", lender, body, key: key)
            #expect(again.0 == .created && again.1["id"] as? Int == first.1["id"] as? Int)
            #expect(again.2[HTTPField.Name("Idempotent-Replayed")!] == "true")
            // The same object serialised afresh (other key order, no spacing) is the same request, not another one.
            let reserialised = String(
                decoding: try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: Data(body.utf8)), options: [.sortedKeys]),
                as: UTF8.self)
            let replayed = try await Self.call(client, .post, "/api/v1/cases", lender, reserialised, key: key)
            #expect(replayed.0 == .created && replayed.1["id"] as? Int == first.1["id"] as? Int, "\(replayed.1)")
            #expect(try await app.stores.cases.list(CaseStore.Query(jurisdictionID: "test.city")).count == 1)
            let other = try await Self.call(client, .post, "/api/v1/cases", lender, body.replacingOccurrences(of: "1800", with: "1900"), key: key)
            #expect(other.0 == .unprocessableContent && other.1["code"] as? String == "idempotency_key_reused")
            // Bad input is a clear 4xx naming the field, and creates nothing.
            let unknown = try await Self.call(client, .post, "/api/v1/cases", lender, #"{"type": "hr-request", "data": {"shoe": 9}}"#)
            #expect(unknown.0 == .badRequest && unknown.1["field"] as? String == "data.shoe")
            // A partner that shows the questions itself (a chatbot) reads them in Spanish.
            let spanishType = try await Self.call(client, .get, "/api/v1/case-types/unemployment-claim?lang=es", lender)
            #expect(spanishType.0 == .ok && spanishType.1["name"] as? String == "Solicitud de seguro de desempleo")
            #expect((spanishType.1["fields"] as? [[String: Any]])?.first?["label"] as? String == "Su nombre completo")
            let kinds = try await Self.call(client, .get, "/api/v1/case-types?lang=es", lender)
            #expect((kinds.1["items"] as? [[String: Any]])?.contains { $0["name"] as? String == "Solicitud de seguro de desempleo" } == true)
            #expect(try await Self.call(client, .get, "/api/v1/case-types/unemployment-claim?lang=fr", lender).0 == .badRequest)
            let inSpanish = try await Self.call(client, .post, "/api/v1/cases", lender, #"{"type": "hr-request", "language": "es"}"#)
            #expect(inSpanish.0 == .created && inSpanish.1["language"] as? String == "es")
            let french = try await Self.call(client, .post, "/api/v1/cases", lender, #"{"type": "hr-request", "language": "fr"}"#)
            #expect(french.0 == .badRequest && french.1["field"] as? String == "language")
            let noType = try await Self.call(client, .post, "/api/v1/cases", lender, #"{"type": "boat-licence"}"#)
            #expect(noType.0 == .badRequest && noType.1["field"] as? String == "type")
            #expect(try await app.stores.cases.list(CaseStore.Query(jurisdictionID: "test.city")).count == 2)
            // Without the cases scope, a partner is refused.
            let requestsOnly = try await Self.token(app, client, scopes: [.requestsRead, .requestsWrite])
            #expect(try await Self.call(client, .post, "/api/v1/cases", requestsOnly, body).0 == .forbidden)
            // Tasks: for the applicant or a staff member, with a due time; done once; an unknown assignee is refused.
            let caseID = try #require(first.1["id"] as? Int)
            let task = try await Self.call(
                client, .post, "/api/v1/cases/\(caseID)/tasks", lender,
                #"{"title": "Call the supervisor", "assignee": "applicant", "due": "2026-12-01T17:00:00Z"}"#)
            #expect(task.0 == .created)
            #expect(
                try await Self.call(client, .post, "/api/v1/cases/\(caseID)/tasks", lender, #"{"title": "x", "assignee": 424242}"#).0 == .badRequest)
            #expect(try await Self.call(client, .post, "/api/v1/cases/\(caseID)/tasks", lender, #"{"title": "  "}"#).0 == .badRequest)
            let taskID = try #require(task.1["id"] as? Int)
            #expect(try await Self.call(client, .post, "/api/v1/cases/\(caseID)/tasks/\(taskID)/done", lender).0 == .noContent)
            #expect(try await Self.call(client, .post, "/api/v1/cases/\(caseID)/tasks/999/done", lender).0 == .notFound)
            let shown = try await Self.call(client, .get, "/api/v1/cases/\(first.1["id"] as! Int)", lender)
            #expect((shown.1["tasks"] as? [[String: Any]])?.first { $0["id"] as? Int == taskID }?["done_at"] is String)
            #expect((shown.1["parties"] as? [[String: Any]])?.first?["name"] as? String == "Maj. Lee")
            // Staff see the parties on the case's page.
            let hash = try await Passwords(cost: 4).hash("long enough password 1")
            let hrID = try await app.stores.users.create(
                email: "hr@city.gov", kind: .staff, role: .agent, departments: .only(["Human Resources"]), passwordHash: hash,
                jurisdictionID: "test.city",
                actor: "test", source: nil
            ).id
            let (cookie, _) = try await app.stores.sessions.create(userID: hrID, jurisdictionID: "test.city", secondFactor: true, lifetime: 3600)
            let hr = Browser(client)
            hr.cookies[Authenticator.sessionCookie] = cookie
            #expect(try await hr.get("/staff/cases/\(caseID)").text.contains("Maj. Lee – supervisor · lee@example.mil"))
            // People are added later and taken off again; each names its field when wrong.
            let party = try await Self.call(
                client, .post, "/api/v1/cases/\(caseID)/parties", lender,
                #"{"role": "authorised representative", "name": "Dana Ortiz", "email": "dana@example.org"}"#)
            #expect(party.0 == .created && party.1["name"] as? String == "Dana Ortiz", "\(party.1)")
            let badEmail = try await Self.call(
                client, .post, "/api/v1/cases/\(caseID)/parties", lender, #"{"role": "lender", "name": "Bank", "email": "bank"}"#)
            #expect(badEmail.0 == .badRequest && badEmail.1["field"] as? String == "email" && badEmail.1["code"] as? String == "party_invalid")
            let noName = try await Self.call(client, .post, "/api/v1/cases/\(caseID)/parties", lender, #"{"role": "lender"}"#)
            #expect(noName.0 == .badRequest && noName.1["field"] as? String == "name")
            let listed = try await Self.call(client, .get, "/api/v1/cases/\(caseID)", lender)
            #expect((listed.1["parties"] as? [[String: Any]])?.map { $0["name"] as? String } == ["Maj. Lee", "Dana Ortiz"])
            let partyID = try #require(party.1["id"] as? Int)
            #expect(try await Self.call(client, .delete, "/api/v1/cases/\(caseID)/parties/\(partyID)", lender).0 == .noContent)
            #expect(try await Self.call(client, .delete, "/api/v1/cases/\(caseID)/parties/\(partyID)", lender).0 == .notFound)
            #expect(try await app.stores.cases.parties(of: Int64(caseID)).map(\.name) == ["Maj. Lee"])
            // And from the case's page: the form names the wrong field, then adds; the remove button takes it off.
            let wrong = try await hr.post("/staff/cases/\(caseID)/parties", [("role", "employer"), ("name", "  ")])
            #expect(wrong.status == .badRequest && wrong.text.contains("A person on a case needs a name"))
            #expect(
                try await hr.post("/staff/cases/\(caseID)/parties", [("role", "employer"), ("name", "US Air Force"), ("email", "")]).status
                    == .seeOther)
            let withEmployer = try await app.stores.cases.parties(of: Int64(caseID))
            #expect(withEmployer.last?.name == "US Air Force" && withEmployer.last?.email == nil)
            try await hr.get("/staff/cases/\(caseID)")
            #expect(try await hr.post("/staff/cases/\(caseID)/parties/\(withEmployer.last!.id)/remove", []).status == .seeOther)
            #expect(try await app.stores.cases.parties(of: Int64(caseID)).count == 1)
        }
    }

    @Test("a webhook's receiver is checked on each delivery: a name that resolves inside, or not at all, is not sent to")
    func deliveryRefusals() async {
        #expect(await CaseWorkService.refusal("http://localhost:9/hooks")?.contains("local or private") == true)
        #expect(await CaseWorkService.refusal("http://2130706433:9/hooks")?.contains("local or private") == true)
        #expect(await CaseWorkService.refusal("https://no-such-host.invalid/hooks")?.contains("did not resolve") == true)
        #expect(await CaseWorkService.refusal("https://93.184.216.34/hooks") == nil)
    }

    @Test("each example type through its whole life by API: guards refuse, documents are versioned, decisions kept")
    func wholeLives() async throws {
        try await TestApp.with { app, client in
            try await importCaseTypes(app)
            let partner = try await Self.token(app, client, scopes: [.casesRead, .casesWrite])
            let supervisorID = try await app.stores.users.create(
                email: "sue@city.gov", kind: .staff, role: .supervisor, departments: .all, passwordHash: nil, jurisdictionID: "test.city",
                actor: "test", source: nil
            ).id
            let staffToken = try await app.stores.credentials.createPersonalToken(
                userID: supervisorID, name: "t", scopes: Scope.allCases, lifetime: 3600, jurisdictionID: "test.city"
            ).1

            // Building permit: a small deck, with its site plan uploaded twice (two versions), then plan review to closure.
            let permit = try await Self.call(
                client, .post, "/api/v1/cases", partner,
                #"{"type": "building-permit", "data": {"applicant_role": "owner", "site_address": "4 Oak Ave", "work_type": "deck", "description_of_work": "Deck", "project_value": 4200, "floor_area": 120}}"#
            )
            let permitID = try #require(permit.1["id"] as? Int)
            let refused = try await Self.call(client, .post, "/api/v1/cases/\(permitID)/transitions", partner, #"{"transition": "submit"}"#)
            #expect(
                refused.0 == .conflict
                    && (refused.1["detail"] as? String)?.contains("Upload Site plan showing the work and the property lines.") == true, "\(refused.1)"
            )
            let pdf = Data(pdfBytes).base64EncodedString()
            for _ in 0..<2 {
                #expect(
                    try await Self.call(
                        client, .post, "/api/v1/cases/\(permitID)/documents", partner,
                        #"{"type": "site_plan", "filename": "plan.pdf", "content_base64": "\#(pdf)"}"#
                    ).0 == .created)
            }
            let docKey = "doc-\(UUID().uuidString)"
            for _ in 0..<2 {
                #expect(
                    try await Self.call(
                        client, .post, "/api/v1/cases/\(permitID)/documents", partner,
                        #"{"type": "site_plan", "filename": "plan-v3.pdf", "content_base64": "\#(pdf)"}"#, key: docKey
                    ).0 == .created)
            }
            let versions = try await app.stores.cases.documents(of: Int64(permitID)).map(\.version)
            #expect(versions == [1, 2, 3], "a retried upload under one key adds one version")
            let reviewing = try await Self.call(client, .post, "/api/v1/cases/\(permitID)/transitions", partner, #"{"transition": "submit"}"#)
            #expect(reviewing.1["state"] as? String == "plan_review" && reviewing.1["queue"] as? String == "Small Projects")
            for step in ["approve_plans"] {
                #expect(
                    try await Self.call(client, .post, "/api/v1/cases/\(permitID)/transitions", staffToken, #"{"transition": "\#(step)"}"#).0 == .ok)
            }
            let noFee = try await Self.call(client, .post, "/api/v1/cases/\(permitID)/transitions", partner, #"{"transition": "pay_fee"}"#)
            #expect(noFee.0 == .conflict)
            _ = try await Self.call(
                client, .post, "/api/v1/cases/\(permitID)/documents", partner, #"{"type": "fee_receipt", "content_base64": "\#(pdf)"}"#)
            #expect(
                try await Self.call(client, .post, "/api/v1/cases/\(permitID)/transitions", partner, #"{"transition": "pay_fee"}"#).1["state"]
                    as? String == "issued")
            #expect(
                try await Self.call(client, .post, "/api/v1/cases/\(permitID)/transitions", partner, #"{"transition": "request_inspection"}"#).0
                    == .ok)
            let failed = try await Self.call(
                client, .post, "/api/v1/cases/\(permitID)/transitions", staffToken,
                #"{"transition": "fail_inspection", "reason": "Railing too low."}"#)
            #expect(failed.1["state"] as? String == "issued")
            _ = try await Self.call(client, .post, "/api/v1/cases/\(permitID)/transitions", partner, #"{"transition": "request_inspection"}"#)
            _ = try await Self.call(
                client, .post, "/api/v1/cases/\(permitID)/documents", staffToken, #"{"type": "inspection_report", "content_base64": "\#(pdf)"}"#)
            let closed = try await Self.call(
                client, .post, "/api/v1/cases/\(permitID)/transitions", staffToken, #"{"transition": "pass_inspection"}"#)
            #expect(closed.1["state"] as? String == "closed" && closed.1["closed_at"] is String)

            // HR reassignment: the time-in-unit rule refuses approval at 8 months, passes at 14.
            let hr = try await Self.call(
                client, .post, "/api/v1/cases", partner,
                #"{"type": "hr-request", "submit": true, "data": {"service_number": "B-77", "unit": "Supply", "request_kind": "reassignment", "target_unit": "Logistics", "months_in_unit": 8, "justification": "Family move."}}"#
            )
            let hrID = try #require(hr.1["id"] as? Int)
            #expect(hr.1["queue"] as? String == "HR Assignments")
            let early = try await Self.call(
                client, .post, "/api/v1/cases/\(hrID)/transitions", staffToken, #"{"transition": "approve_reassignment"}"#)
            #expect(
                early.0 == .conflict
                    && (early.1["detail"] as? String)?.contains(
                        "you have served 8 months in your unit, fewer than the 12 months rule HR-R1 v1 requires") == true
            )
            _ = try await Self.call(
                client, .post, "/api/v1/cases/\(hrID)/transitions", staffToken,
                #"{"transition": "ask_information", "reason": "Confirm your months in unit.", "documents": ["supervisor_endorsement"]}"#)
            #expect(try await Self.call(client, .patch, "/api/v1/cases/\(hrID)", partner, #"{"data": {"months_in_unit": 14}}"#).0 == .ok)
            #expect(try await Self.call(client, .post, "/api/v1/cases/\(hrID)/transitions", partner, #"{"transition": "answer"}"#).0 == .ok)
            let approved = try await Self.call(
                client, .post, "/api/v1/cases/\(hrID)/transitions", staffToken, #"{"transition": "approve_reassignment"}"#)
            #expect(approved.1["state"] as? String == "approved")
            let decisions = try #require(approved.1["decisions"] as? [[String: Any]])
            #expect(decisions.last?["rule"] as? String == "HR-R1" && decisions.last?["passed"] as? Bool == true)
            #expect((decisions.last?["values"] as? [String: String])?["months_in_unit"] == "14")

            // Unemployment: the timer closes an unanswered request for documents at 30 days (clock injected through the store).
            let claim = try await Self.call(
                client, .post, "/api/v1/cases", partner,
                #"{"type": "unemployment-claim", "submit": true, "data": {"full_name": "Jo Smith", "birth_date": "1990-01-01", "mailing_address": "1 Main St", "last_employer": "Mill", "last_day_worked": "2026-11-01", "separation_reason": "laid_off", "weekly_earnings": 0, "able_and_available": true}}"#
            )
            let claimID = try #require(claim.1["id"] as? Int)
            _ = try await Self.call(client, .post, "/api/v1/cases/\(claimID)/transitions", staffToken, #"{"transition": "start_review"}"#)
            _ = try await Self.call(
                client, .post, "/api/v1/cases/\(claimID)/transitions", staffToken,
                #"{"transition": "request_documents", "reason": "ID needed", "documents": ["proof_of_identity"]}"#)
            _ = try await app.stores.cases.sweep(jurisdictionID: "test.city", now: Date().addingTimeInterval(31 * 86_400))
            let abandoned = try await Self.call(client, .get, "/api/v1/cases/\(claimID)", partner)
            #expect(abandoned.1["state"] as? String == "abandoned")
            #expect((abandoned.1["timeline"] as? [[String: Any]])?.contains { $0["kind"] as? String == "reminder" } == true)
            // Queue health for the supervisor; reassignment all or none.
            let health = try await Self.call(client, .get, "/api/v1/case-queues", staffToken)
            #expect((health.1["items"] as? [[String: Any]])?.contains { $0["name"] as? String == "HR Training" } == true)
        }
    }
}
