import Foundation

/// Reads a service catalog: a JSON array of Open311 service objects, with optional Civitas fields
/// (`department`, `sla_hours`) and attribute definitions in Open311 form.
public enum ServiceCatalog {
    /// Parses and checks a whole catalog; the first problem is reported with the entry and field it is in.
    public static func parse(_ data: Data) throws(CivitasError) -> [ServiceDefinition] {
        let json: JSONValue
        do {
            json = try JSONValue.parse(data)
        } catch {
            throw .invalid("catalog_not_json", "The catalog is not valid JSON: \(describe(error)).")
        }
        guard case .array(let entries) = json else {
            throw .invalid("catalog_not_array", "The catalog must be a JSON array of service objects.")
        }
        var services: [ServiceDefinition] = []
        var seen: [String: Int] = [:]
        for (index, entry) in entries.enumerated() {
            let service = try parseService(entry, index: index)
            if let first = seen[service.code] {
                throw .invalid(
                    "catalog_duplicate_code",
                    "Entry \(index + 1): service_code \"\(service.code)\" is already used by entry \(first + 1).",
                    field: "service_code")
            }
            seen[service.code] = index
            services.append(service)
        }
        return services
    }

    /// Encodes services in the same form `parse` reads, so a catalog can be exported and imported again.
    public static func encode(_ services: [ServiceDefinition]) -> Data {
        let array: [[String: Any]] = services.map { service in
            var object: [String: Any] = [
                "service_code": service.code, "service_name": service.name, "description": service.description,
                "metadata": service.hasMetadata, "type": service.type.rawValue, "keywords": service.keywords,
                "group": service.group,
                "attributes": service.orderedAttributes.map { attribute -> [String: Any] in
                    [
                        "variable": attribute.variable, "code": attribute.code, "datatype": attribute.datatype.rawValue,
                        "required": attribute.required, "datatype_description": attribute.datatypeDescription,
                        "order": attribute.order, "description": attribute.description,
                        "values": attribute.values.map { ["key": $0.key, "name": $0.name] },
                    ]
                },
            ]
            if let department = service.department { object["department"] = department }
            if !service.translations.isEmpty {
                object["translations"] = Dictionary(
                    uniqueKeysWithValues: service.translations.map { language, words -> (String, Any) in
                        var texts: [String: Any] = ["keywords": words.keywords.joined(separator: ", ")]
                        if let name = words.name { texts["service_name"] = name }
                        if let description = words.description { texts["description"] = description }
                        if let group = words.group { texts["group"] = group }
                        texts["attributes"] = words.attributes.mapValues { attribute -> [String: Any] in
                            var entry: [String: Any] = ["values": attribute.values]
                            if let description = attribute.description { entry["description"] = description }
                            if let hint = attribute.datatypeDescription { entry["datatype_description"] = hint }
                            return entry
                        }
                        return (language.rawValue, texts)
                    })
            }
            if let sla = service.slaHours { object["sla_hours"] = sla }
            return object
        }
        return (try? JSONSerialization.data(withJSONObject: array, options: [.prettyPrinted, .sortedKeys])) ?? Data()
    }

    private static func parseService(_ entry: JSONValue, index: Int) throws(CivitasError) -> ServiceDefinition {
        guard case .object(let object) = entry else {
            throw .invalid("catalog_entry_not_object", "Entry \(index + 1) is not a JSON object.")
        }
        var label = "Entry \(index + 1)"
        let reader = FieldReader(object: object, label: { label })
        let code = try reader.requiredCode("service_code")
        label += " (service_code \"\(code)\")"
        let name = try reader.requiredText("service_name")
        let description = try reader.optionalText("description") ?? ""
        _ = try reader.optionalBool("metadata")
        let typeText = try reader.optionalText("type") ?? ServiceType.realtime.rawValue
        guard let type = ServiceType(rawValue: typeText.lowercased()) else {
            throw reader.error("type", "\"\(typeText)\" is not one of realtime, batch, blackbox")
        }
        let keywords = try reader.keywords("keywords")
        let group = try reader.optionalText("group") ?? ""
        let department = try reader.optionalText("department").flatMap { $0.isEmpty ? nil : $0 }
        let slaHours = try reader.optionalInt("sla_hours")
        if let slaHours, slaHours <= 0 || slaHours > 24 * 366 {
            throw reader.error("sla_hours", "must be a whole number of hours between 1 and 8784")
        }
        var attributes: [ServiceAttribute] = []
        if let raw = object["attributes"], raw != .null {
            guard case .array(let list) = raw else { throw reader.error("attributes", "must be an array") }
            var codes = Set<String>()
            for (position, element) in list.enumerated() {
                let attribute = try parseAttribute(element, path: "attributes[\(position)]", position: position, label: label)
                guard codes.insert(attribute.code).inserted else {
                    throw reader.error("attributes[\(position)].code", "\"\(attribute.code)\" is used twice")
                }
                attributes.append(attribute)
            }
        }
        var service = ServiceDefinition(
            code: code, name: name, description: description, type: type, keywords: keywords, group: group,
            attributes: attributes, department: department, slaHours: slaHours)
        service.translations = try parseTranslations(object["translations"], service: service, label: label)
        return service
    }

    private static func parseAttribute(_ element: JSONValue, path: String, position: Int, label: String)
        throws(CivitasError) -> ServiceAttribute
    {
        guard case .object(let object) = element else {
            throw .invalid("catalog_field_invalid", "\(label): field \"\(path)\" must be an object.", field: path)
        }
        let reader = FieldReader(object: object, label: { label }, prefix: path + ".")
        let code = try reader.requiredCode("code")
        let datatypeText = try reader.requiredText("datatype")
        guard let datatype = AttributeDatatype(rawValue: datatypeText.lowercased()) else {
            let allowed = AttributeDatatype.allCases.map(\.rawValue).joined(separator: ", ")
            throw reader.error("datatype", "\"\(datatypeText)\" is not one of \(allowed)")
        }
        let description = try reader.requiredText("description")
        var values: [AttributeValue] = []
        if let raw = object["values"], raw != .null {
            guard case .array(let list) = raw else { throw reader.error("values", "must be an array of {key, name}") }
            for (index, item) in list.enumerated() {
                guard case .object(let pair) = item else {
                    throw reader.error("values[\(index)]", "must be an object with key and name")
                }
                let valueReader = FieldReader(object: pair, label: { label }, prefix: path + ".values[\(index)].")
                let key = try valueReader.requiredCode("key")
                let name = try valueReader.optionalText("name") ?? key
                if values.contains(where: { $0.key == key }) {
                    throw valueReader.error("key", "\"\(key)\" is used twice")
                }
                values.append(AttributeValue(key: key, name: name))
            }
        }
        let variable = try reader.optionalBool("variable") ?? true
        if datatype.isList, values.isEmpty, variable {
            throw reader.error("values", "a \(datatype.rawValue) needs at least one value")
        }
        return ServiceAttribute(
            variable: variable, code: code, datatype: datatype, required: try reader.optionalBool("required") ?? false,
            datatypeDescription: try reader.optionalText("datatype_description") ?? "",
            order: try reader.optionalInt("order") ?? position + 1, description: description, values: values)
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let detail = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return detail ?? context.debugDescription
        }
        return "the file could not be parsed"
    }
}

/// Reads typed fields from one JSON object and words errors as "Entry N (service_code X): field F ...".
private struct FieldReader {
    let object: [String: JSONValue]
    let label: () -> String
    var prefix = ""

    func error(_ field: String, _ problem: String) -> CivitasError {
        .invalid("catalog_field_invalid", "\(label()): field \"\(prefix)\(field)\" \(problem).", field: prefix + field)
    }

    private func value(_ field: String) -> JSONValue? {
        guard let value = object[field], value != .null else { return nil }
        return value
    }

    func optionalText(_ field: String) throws(CivitasError) -> String? {
        guard let raw = value(field) else { return nil }
        guard case .string(let text) = raw else { throw error(field, "must be a string") }
        return text.trimmingWhitespace()
    }

    func requiredText(_ field: String) throws(CivitasError) -> String {
        guard let text = try optionalText(field), !text.isEmpty else { throw error(field, "is required") }
        return text
    }

    /// Codes may arrive as strings or bare integers; both become strings.
    func requiredCode(_ field: String) throws(CivitasError) -> String {
        let text: String
        switch value(field) {
        case nil: throw error(field, "is required")
        case .string(let string)?: text = string.trimmingWhitespace()
        case .integer(let number)?: text = String(number)
        default: throw error(field, "must be a string")
        }
        guard !text.isEmpty else { throw error(field, "is required") }
        guard text.count <= 100, !text.contains(where: { $0.isNewline || $0 == "," || $0 == "/" }) else {
            throw error(field, "must be at most 100 characters, without commas, slashes or line breaks")
        }
        return text
    }

    func optionalBool(_ field: String) throws(CivitasError) -> Bool? {
        switch value(field) {
        case nil: return nil
        case .bool(let flag)?: return flag
        case .string("true")?: return true
        case .string("false")?: return false
        default: throw error(field, "must be true or false")
        }
    }

    func optionalInt(_ field: String) throws(CivitasError) -> Int? {
        switch value(field) {
        case nil: return nil
        case .integer(let number)? where abs(number) < 1_000_000_000: return Int(number)
        case .string(let text)?:
            if let number = Int(text) { return number }
        default: break
        }
        throw error(field, "must be a whole number")
    }

    func keywords(_ field: String) throws(CivitasError) -> [String] {
        switch value(field) {
        case nil: return []
        case .string(let text)?:
            return text.split(separator: ",").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        case .array(let list)?:
            var words: [String] = []
            for item in list {
                guard case .string(let word) = item else { throw error(field, "must be strings") }
                let trimmed = word.trimmingWhitespace()
                if !trimmed.isEmpty { words.append(trimmed) }
            }
            return words
        default:
            throw error(field, "must be a comma-separated string or an array of strings")
        }
    }
}
