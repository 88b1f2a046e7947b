import Foundation

/// A service's texts in another language, as the agency supplies them in the catalog's `translations` field:
///
///     "translations": {"es": {"service_name": "Recogida de objetos grandes", "description": "...", "group": "...",
///       "keywords": "sofá, colchón", "attributes": {"ITEMS": {"description": "¿Qué hay que recoger?",
///       "values": {"mattress": "Colchón o somier"}}}}}
///
/// Codes and keys are never translated; a text left out is shown in the catalog's own language.
public struct ServiceTranslation: Sendable, Codable, Equatable {
    public var name: String?
    public var description: String?
    public var group: String?
    public var keywords: [String]
    public var attributes: [String: AttributeTranslation]

    public init(
        name: String? = nil, description: String? = nil, group: String? = nil, keywords: [String] = [],
        attributes: [String: AttributeTranslation] = [:]
    ) {
        self.name = name
        self.description = description
        self.group = group
        self.keywords = keywords
        self.attributes = attributes
    }
}

/// One question's texts in another language.
public struct AttributeTranslation: Sendable, Codable, Equatable {
    public var description: String?
    public var datatypeDescription: String?
    /// Each choice's name, by its key.
    public var values: [String: String]

    public init(description: String? = nil, datatypeDescription: String? = nil, values: [String: String] = [:]) {
        self.description = description
        self.datatypeDescription = datatypeDescription
        self.values = values
    }
}

extension ServiceDefinition {
    /// The service as someone reading `language` sees it: every text the agency translated, the rest as the catalog
    /// has it. The search keywords keep the catalog's own words too, so "pothole" still finds it in Spanish.
    public func localized(_ language: Language) -> ServiceDefinition {
        guard language != .english, let words = translations[language] else { return self }
        var copy = self
        copy.name = words.name ?? name
        copy.description = words.description ?? description
        copy.group = words.group ?? group
        copy.keywords = words.keywords + [name] + keywords
        copy.attributes = attributes.map { attribute in
            guard let texts = words.attributes[attribute.code] else { return attribute }
            var changed = attribute
            changed.description = texts.description ?? attribute.description
            changed.datatypeDescription = texts.datatypeDescription ?? attribute.datatypeDescription
            changed.values = attribute.values.map { AttributeValue(key: $0.key, name: texts.values[$0.key] ?? $0.name) }
            return changed
        }
        return copy
    }

    /// The service's name in `language`, or as the catalog has it.
    public func name(in language: Language) -> String { translations[language]?.name ?? name }
}

extension ServiceCatalog {
    /// Reads an entry's `translations`: each language we have, checked against the service's own codes and keys so a
    /// typo is named rather than silently shown in English.
    static func parseTranslations(_ raw: JSONValue?, service: ServiceDefinition, label: String) throws(CivitasError)
        -> [Language: ServiceTranslation]
    {
        guard let raw, raw != .null else { return [:] }
        func fail(_ path: String, _ problem: String) -> CivitasError {
            .invalid("catalog_field_invalid", "\(label): field \"translations\(path)\" \(problem).", field: "translations\(path)")
        }
        func text(_ value: JSONValue?, _ path: String) throws(CivitasError) -> String? {
            switch value {
            case nil, .null?: return nil
            case .string(let text)?:
                let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard trimmed.count <= 2000 else { throw fail(path, "is longer than 2000 characters") }
                return trimmed.isEmpty ? nil : trimmed
            default: throw fail(path, "must be text")
            }
        }
        guard case .object(let languages) = raw else { throw fail("", "must map a language (es) to its texts") }
        var result: [Language: ServiceTranslation] = [:]
        for (code, entry) in languages {
            guard let language = Language(rawValue: code), language != .english else {
                throw fail(".\(code)", "names a language Civitas does not have; use es")
            }
            guard case .object(let fields) = entry else { throw fail(".\(code)", "must be an object") }
            let known: Set<String> = ["service_name", "description", "group", "keywords", "attributes"]
            if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
                throw fail(".\(code).\(unknown)", "is not a translatable field (service_name, description, group, keywords, attributes)")
            }
            var translation = ServiceTranslation(
                name: try text(fields["service_name"], ".\(code).service_name"),
                description: try text(fields["description"], ".\(code).description"), group: try text(fields["group"], ".\(code).group"))
            translation.keywords = (try text(fields["keywords"], ".\(code).keywords") ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if let attributes = fields["attributes"], attributes != .null {
                guard case .object(let byCode) = attributes else { throw fail(".\(code).attributes", "must map attribute codes to texts") }
                for (attributeCode, value) in byCode {
                    let path = ".\(code).attributes.\(attributeCode)"
                    guard let attribute = service.attributes.first(where: { $0.code == attributeCode }) else {
                        throw fail(path, "names no attribute of this service")
                    }
                    guard case .object(let texts) = value else { throw fail(path, "must be an object") }
                    var words = AttributeTranslation(
                        description: try text(texts["description"], path + ".description"),
                        datatypeDescription: try text(texts["datatype_description"], path + ".datatype_description"))
                    if let values = texts["values"], values != .null {
                        guard case .object(let names) = values else { throw fail(path + ".values", "must map value keys to names") }
                        for (key, name) in names {
                            guard attribute.values.contains(where: { $0.key == key }) else {
                                throw fail(path + ".values.\(key)", "names no value of this attribute")
                            }
                            words.values[key] = try text(name, path + ".values.\(key)")
                        }
                    }
                    translation.attributes[attributeCode] = words
                }
            }
            result[language] = translation
        }
        return result
    }
}
