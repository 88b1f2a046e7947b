import Foundation

/// What Civitas itself says about answers to a case type's questions, in the applicant's language (the questions
/// themselves come from the type's file and its translations).
public enum CaseWords {
    public static func yesNo(_ flag: Bool, _ language: Language) -> String {
        switch language {
        case .english: flag ? "yes" : "no"
        case .spanish: flag ? "sí" : "no"
        }
    }

    static func noAnswer(_ language: Language) -> String { language == .spanish ? "sin respuesta" : "no answer" }

    static func provided(_ flag: Bool, _ language: Language) -> String {
        switch language {
        case .english: flag ? "provided" : "not provided"
        case .spanish: flag ? "entregado" : "no entregado"
        }
    }

    static func upload(_ document: String, _ language: Language) -> String {
        language == .spanish ? "Suba: \(document)." : "Upload \(document)."
    }

    static func uploadTask(_ document: String, _ language: Language) -> String {
        language == .spanish ? "Suba: \(document)" : "Upload: \(document)"
    }

    // Lines of a case's history that Civitas writes. They are stored in English and told again in the applicant's
    // language (`CaseType.historyLine`), so the English form is written only here, and read back only here.

    public static func started(_ name: String, _ language: Language) -> String {
        language == .spanish ? "\(name): iniciada." : "\(name) started."
    }

    public static func partyAdded(_ name: String, _ role: String, _ language: Language) -> String {
        language == .spanish ? "\(name) se agregó como \(role)." : "\(name)\(addedAs)\(role)."
    }

    public static func partyRemoved(_ name: String, _ role: String, _ language: Language) -> String {
        language == .spanish ? "\(name) ya no está en este caso como \(role)." : "\(name)\(noLongerAs)\(role)."
    }

    /// What a step's line ends with when it was taken with a reason (" Reason: the reason").
    public static func withReason(_ reason: String, _ language: Language) -> String { " \(Self.reason(language)) \(reason)" }

    static let addedAs = " added as ", noLongerAs = " is no longer on this case as "

    /// A stored English line about a person on a case, in `language`; nil for a line of another kind.
    static func party(_ kept: String, _ language: Language) -> String? {
        for (joiner, line) in [(addedAs, partyAdded), (noLongerAs, partyRemoved)] {
            if kept.hasSuffix("."), let split = kept.range(of: joiner, options: .backwards) {
                return line(String(kept[..<split.lowerBound]), String(kept[split.upperBound...].dropLast()), language)
            }
        }
        return nil
    }

    /// A stored English step line's reason, if it was given one.
    public static func reason(in kept: String) -> Substring? {
        kept.range(of: withReason("", .english)).map { kept[$0.upperBound...] }
    }

    static func notNow(_ step: String, _ state: String, _ language: Language) -> String {
        language == .spanish
            ? "\u{201C}\(step)\u{201D} no se puede hacer mientras el caso está en \u{201C}\(state)\u{201D}."
            : "\u{201C}\(step)\u{201D} cannot be taken while the case is \(state)."
    }

    static func notYours(_ step: String, _ who: String, _ actor: String, _ language: Language) -> String {
        language == .spanish ? "\u{201C}\(step)\u{201D} no le corresponde a usted." : "\u{201C}\(step)\u{201D} is for \(who), not \(actor)."
    }

    static func giveReason(_ step: String, _ language: Language) -> String {
        language == .spanish ? "Escriba un motivo para \u{201C}\(step)\u{201D}." : "Give a reason for \u{201C}\(step)\u{201D}."
    }

    static func notProvided(_ document: String, _ language: Language) -> String {
        language == .spanish ? "Falta: \(document)." : "\(document) has not been provided."
    }

    static func conditionFails(_ condition: String, _ language: Language) -> String {
        language == .spanish ? "No se cumple la condición \u{201C}\(condition)\u{201D}." : "The condition \u{201C}\(condition)\u{201D} does not hold."
    }

    static func reason(_ language: Language) -> String { language == .spanish ? "Motivo:" : "Reason:" }

    static func answer(_ label: String, _ language: Language) -> String {
        language == .spanish ? "Responda \u{201C}\(label)\u{201D}." : "Answer \u{201C}\(label)\u{201D}."
    }

    static func atMostCharacters(_ label: String, _ count: String, _ language: Language) -> String {
        language == .spanish ? "\(label): como máximo \(count) caracteres." : "\(label): at most \(count) characters."
    }

    static func email(_ label: String, _ language: Language) -> String {
        language == .spanish
            ? "\(label): escriba un correo electrónico como nombre@ejemplo.org." : "\(label): give an email address like name@example.org."
    }

    static func phone(_ label: String, _ language: Language) -> String {
        language == .spanish ? "\(label): escriba un teléfono de al menos 7 dígitos." : "\(label): give a phone number with at least 7 digits."
    }

    static func number(_ label: String, _ language: Language) -> String {
        language == .spanish ? "\(label): escriba un número, como 312 o 312.50." : "\(label): give a number, like 312 or 312.50."
    }

    static func atLeast(_ label: String, _ value: String, _ language: Language) -> String {
        language == .spanish ? "\(label): al menos \(value)." : "\(label): at least \(value)."
    }

    static func atMost(_ label: String, _ value: String, _ language: Language) -> String {
        language == .spanish ? "\(label): como máximo \(value)." : "\(label): at most \(value)."
    }

    static func cents(_ label: String, _ language: Language) -> String {
        language == .spanish ? "\(label): escriba dólares y centavos como máximo." : "\(label): give dollars and cents at most."
    }

    static func date(_ label: String, _ language: Language) -> String {
        language == .spanish
            ? "\(label): escriba una fecha real como AAAA-MM-DD, por ejemplo 2026-11-24."
            : "\(label): give a real date written YYYY-MM-DD, like 2026-11-24."
    }

    static func address(_ label: String, _ language: Language) -> String {
        language == .spanish
            ? "\(label): escriba el número y la calle, como 12 Elm Street, Santa Fe NM 87501."
            : "\(label): give the number and street, like 12 Elm Street, Santa Fe NM 87501."
    }

    /// A date too late: after `day`, or after today when `day` is nil.
    static func notAfter(_ label: String, _ day: String?, _ language: Language) -> String {
        switch (language, day) {
        case (.spanish, nil): "\(label): debe ser hoy o una fecha pasada."
        case (.spanish, let day?): "\(label): debe ser el \(day) o antes."
        case (.english, nil): "\(label) must be today or in the past."
        case (.english, let day?): "\(label) must be on or before \(day)."
        }
    }

    /// A date too early: before `day`, or before today when `day` is nil.
    static func notBefore(_ label: String, _ day: String?, _ language: Language) -> String {
        switch (language, day) {
        case (.spanish, nil): "\(label): debe ser hoy o una fecha futura."
        case (.spanish, let day?): "\(label): debe ser el \(day) o después."
        case (.english, nil): "\(label) must be today or in the future."
        case (.english, let day?): "\(label) must be on or after \(day)."
        }
    }

    static func chooseOne(_ label: String, _ choices: [String], _ language: Language) -> String {
        language == .spanish
            ? "\(label): elija una de estas opciones: \(choices.joined(separator: "; "))."
            : "\(label): choose one of \(choices.joined(separator: "; "))."
    }

    static func yesOrNo(_ label: String, _ language: Language) -> String {
        language == .spanish ? "\(label): responda sí o no." : "\(label): answer yes or no."
    }
}
