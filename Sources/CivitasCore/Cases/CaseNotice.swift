import Foundation

/// The mail applicants get about their cases, in the language they applied in.
public enum CaseNotice {
    public static func news(site: String, caseID: Int64, typeName: String, lines: [String], link: String, language: Language) -> RequestNotice.Mail {
        switch language {
        case .english:
            let body =
                "Hello,\n\nThere is news about your \(typeName.lowercased()) (case \(caseID)):\n\n\(lines.joined(separator: "\n\n"))\n\n"
                + "See it, and anything we need from you, at \(link)\n\n\(site)"
            return RequestNotice.Mail(subject: "Your \(typeName.lowercased()), case \(caseID)", body: body)
        case .spanish:
            let body =
                "Hola:\n\nHay novedades sobre su \(typeName.lowercased()) (caso \(caseID)):\n\n\(lines.joined(separator: "\n\n"))\n\n"
                + "Véala, y lo que necesitemos de usted, en \(link)\n\n\(site)"
            return RequestNotice.Mail(subject: "Su \(typeName.lowercased()), caso \(caseID)", body: body)
        }
    }

    public static func messageFromUs(_ language: Language) -> String {
        language == .spanish ? "Un mensaje de nuestra parte:" : "A message from us:"
    }
}
