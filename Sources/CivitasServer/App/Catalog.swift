import CivitasCore
import Foundation
import Hummingbird
import NIOCore

/// Every piece of text a page shows, by key, in each language (Resources/locales/<code>.json). Keys starting with
/// `staff_` are for staff pages and exist in English only; every other key is complete in every language (a test
/// checks this and that every key a template uses exists).
struct Catalog: Sendable {
    let texts: [Language: [String: String]]

    static func load() throws -> Catalog {
        var texts: [Language: [String: String]] = [:]
        for language in Language.allCases {
            guard let url = Bundle.module.url(forResource: language.rawValue, withExtension: "json", subdirectory: "Resources/locales") else {
                throw CivitasError(.unavailable, code: "catalog_missing", message: "The \(language.rawValue) message catalog is missing.")
            }
            texts[language] = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: url))
        }
        return Catalog(texts: texts)
    }

    /// The text for `key`, in `language` or else in English; `{name}` placeholders are filled from `values`.
    func text(_ key: String, _ language: Language, _ values: [String: String] = [:]) -> String {
        var text = texts[language]?[key] ?? texts[.english]?[key] ?? key
        for (name, value) in values { text = text.replacingOccurrences(of: "{\(name)}", with: value) }
        return text
    }

    /// All texts of a language (English filling any gap), for templates as `{{t.key}}`.
    func all(_ language: Language) -> [String: String] {
        (texts[.english] ?? [:]).merging(texts[language] ?? [:]) { $1 }
    }

    static let cookie = "civitas_lang"

    /// The page language: `?lang=` (remembered in a cookie), else the cookie, else the browser's Accept-Language.
    static func language(of request: Request) -> Language {
        if let asked = request.query.get("lang").flatMap(Language.init(rawValue:)) { return asked }
        if let remembered = request.cookies[cookie]?.value, let language = Language(rawValue: remembered) { return language }
        return Language.preferred(request.headers[.acceptLanguage])
    }
}

/// Points for a page's map, as every map in Civitas fetches them.
func geoJSON(_ features: [[String: Any]]) throws -> Response {
    let data = try JSONSerialization.data(withJSONObject: ["type": "FeatureCollection", "features": features], options: [.sortedKeys])
    return Response(
        status: .ok, headers: [.contentType: "application/geo+json", .cacheControl: "no-store"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
