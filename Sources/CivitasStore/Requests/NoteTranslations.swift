import CivitasCore
import Foundation

/// A text's versions in the residents' other languages (a prepared response in Spanish), stored as JSON by language
/// code. Languages Civitas does not speak, and empty texts, are left out.
public enum NoteTranslations {
    public static func encode(_ translations: [Language: String]) -> String {
        let plain = Dictionary(
            translations.filter { !$0.value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }.map { ($0.key.rawValue, $0.value) },
            uniquingKeysWith: { first, _ in first })
        guard let data = try? JSONSerialization.data(withJSONObject: plain, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    public static func decode(_ text: String?) -> [Language: String] {
        guard let text, let data = text.data(using: .utf8),
            let plain = (try? JSONSerialization.jsonObject(with: data)) as? [String: String]
        else { return [:] }
        return Dictionary(plain.compactMap { key, value in Language(rawValue: key).map { ($0, value) } }, uniquingKeysWith: { first, _ in first })
    }
}
