import CivitasCore
import Foundation
import Testing

@testable import CivitasStore

@Suite("Case types in the applicant's language: translations in the file, checked like the rest of it")
struct CaseTranslationTests {
    static let zone = TimeZone(identifier: "America/Denver")!

    @Test("a Spanish reader gets the file's Spanish texts, Civitas's own words in Spanish, and English where the file has none")
    func localized() throws {
        let type = try CaseType.load(try DefinitionFile.parse(try exampleCaseType("unemployment-claim")), zone: Self.zone)
        let spanish = type.localized(.spanish)
        #expect(spanish.name == "Solicitud de seguro de desempleo")
        #expect(spanish.field("separation_reason")?.label == "¿Por qué terminó su empleo?")
        #expect(spanish.field("separation_reason")?.choices.first { $0.key == "quit" }?.label == "Renuncié")
        #expect(spanish.field("weekly_earnings")?.hint == "Escriba 0 si no ganó nada.")
        #expect(spanish.state("approved")?.applicantText == "Su solicitud fue aprobada.")
        #expect(spanish.transition("submit")?.label == "Enviar la solicitud")
        // No translation: as the file wrote it (staff-only labels here).
        #expect(spanish.state("approved")?.label == "Approved" && spanish.transition("withdraw")?.label == "Retirar la solicitud")
        #expect(spanish.field("full_name")?.hint == nil && spanish.state("in_review")?.label == "In review")
        #expect(type.localized(.english).name == "Unemployment insurance claim")

        // Civitas's own words about answers follow the reader's language.
        let earnings = try #require(spanish.field("weekly_earnings"))
        #expect(
            spanish.problem(with: .string("lots"), for: earnings)
                == "¿Cuánto ganó la semana pasada, antes de impuestos?: escriba un número, como 312 o 312.50.")
        #expect(spanish.problem(with: nil, for: earnings) == "Responda \u{201C}¿Cuánto ganó la semana pasada, antes de impuestos?\u{201D}.")
        #expect(
            type.problem(with: nil, for: try #require(type.field("weekly_earnings")))
                == "Answer \u{201C}How much did you earn last week, before taxes?\u{201D}.")
        #expect(spanish.display(.bool(true), of: try #require(spanish.field("able_and_available"))) == "sí")

        // A decision kept in English is told again in Spanish from the values it used, the choice in Spanish too.
        var answers = claimAnswers
        answers["separation_reason"] = .string("quit")
        answers["good_cause"] = .bool(false)
        let decision = type.decide(try #require(type.rule("UI-2")), data: answers, documents: [], now: Date())
        #expect(!decision.passed && decision.text.hasPrefix("your job ended because \"I quit\""))
        let told = spanish.explain(ruleID: "UI-2", passed: decision.passed, values: decision.values, kept: decision.text)
        #expect(told.hasPrefix("su empleo terminó porque \"Renuncié\", lo que no cumple con la regla UI-2 v1"), "\(told)")
        #expect(type.localized(.english).explain(ruleID: "UI-2", passed: false, values: decision.values, kept: decision.text) == decision.text)
        // The history and the tasks Civitas wrote, told again; what people wrote, as written.
        #expect(
            spanish.historyLine(
                kind: "transition", transition: "request_documents", to: "waiting_on_applicant",
                kept: "Ask the claimant for documents: In review → Waiting on the claimant. Reason: Send your ID.")
                == "Pedimos documentos: Necesitamos algo de usted antes de continuar. Motivo: Send your ID.")
        #expect(spanish.historyLine(kind: "message", transition: nil, to: nil, kept: "Hello") == "Hello")
        #expect(type.localized(.english).historyLine(kind: "created", transition: nil, to: nil, kept: "as kept") == "as kept")
        #expect(spanish.taskTitle("Upload: Proof of identity", documentType: "proof_of_identity").hasPrefix("Suba: Prueba de identidad"))
        #expect(spanish.taskTitle("Call the employer", documentType: nil) == "Call the employer")
        #expect(
            spanish.historyLine(kind: "party", transition: nil, to: nil, kept: "Dana Ortiz is no longer on this case as lender.")
                == "Dana Ortiz ya no está en este caso como lender.")
        let english = try #require(type.reminder(of: "Reminder after 14 days"))
        #expect(spanish.reminder(of: "Reminder after 14 days")?.hasPrefix("Todavía necesitamos sus documentos") == true)
        #expect(spanish.historyLine(kind: "reminder", transition: nil, to: nil, kept: english) == spanish.reminder(of: "Reminder after 14 days"))
        // A kept decision without a value the translation names stays as kept.
        #expect(spanish.explain(ruleID: "UI-4", passed: true, values: [:], kept: "as kept") == "as kept")
    }

    @Test("every example type loads with its translations, and the building permit reads in Spanish too")
    func examples() throws {
        for name in ["unemployment-claim", "building-permit", "hr-request"] {
            _ = try CaseType.load(try DefinitionFile.parse(try exampleCaseType(name)), zone: Self.zone)
        }
        let permit = try CaseType.load(try DefinitionFile.parse(try exampleCaseType("building-permit")), zone: Self.zone).localized(.spanish)
        #expect(permit.name == "Permiso de construcción residencial")
        #expect(permit.field("work_type")?.choices.first { $0.key == "deck" }?.label == "Una terraza o un porche")
        #expect(permit.reminder(of: "Reminder after 21 days")?.hasPrefix("El examinador de planos sigue esperando") == true)
    }

    @Test("a translation that names nothing in the file, an unknown language or an unknown {value} is refused with its line")
    func mistakes() throws {
        let text =
            try exampleCaseType("unemployment-claim")
            .replacingOccurrences(
                of: "      full_name:\n        label: Su nombre completo", with: "      full_nam:\n        label: Su nombre completo"
            )
            .replacingOccurrences(of: "lo que cumple con la regla UI-2 v1", with: "{motivo} cumple con la regla UI-2 v1")
            + "  fr:\n    name: Demande\n"
        do {
            _ = try CaseType.load(try DefinitionFile.parse(text), zone: Self.zone)
            Issue.record("a broken translation was loaded")
        } catch {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            func line(_ needle: String) -> Int { lines.firstIndex { $0.contains(needle) }! + 1 }
            let messages = error.errors.map(\.description)
            #expect(
                messages.contains { $0.hasPrefix("line \(line("label: Su nombre completo")), translations.es.fields.full_nam.label: names no text") },
                "\(messages)")
            #expect(messages.contains { $0.hasPrefix("line \(line("{motivo}")), translations.es.rules.UI-2.pass: names {motivo}") }, "\(messages)")
            #expect(messages.contains { $0.contains("translations.fr: must be a language Civitas speaks besides English: es") }, "\(messages)")
        }
    }
}
