import Foundation

/// The languages resident-facing text is written in.
public enum Language: String, Sendable, CaseIterable, Equatable {
    case english = "en"
    case spanish = "es"

    /// The best of ours for an `Accept-Language` header (RFC 9110 §12.5.4), English when none fits.
    public static func preferred(_ header: String?) -> Language {
        guard let header else { return .english }
        var best: (Language, Double)?
        for part in header.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = pieces.first?.lowercased(), !tag.isEmpty else { continue }
            var quality = 1.0
            for parameter in pieces.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            let primary = String(tag.split(separator: "-").first ?? "")
            guard quality > 0, let language = Language(rawValue: primary) else { continue }
            if best == nil || quality > best!.1 { best = (language, quality) }
        }
        return best?.0 ?? .english
    }
}
