import Foundation

extension CaseType {
    /// The application's questions, in the file's order; in its own function to keep `load`'s frame small.
    static func readFields(_ root: DefinitionNode, documents: [DocumentType], _ r: inout DefinitionReader) -> [CaseField] {
        let line = root.line
        func isKey(_ text: String?) -> Bool { text.map { $0.range(of: keyPattern, options: .regularExpression) != nil } ?? false }
        var fields: [CaseField] = []
        for (index, item) in r.list(root["fields"], "fields", parentLine: line, required: true).enumerated() {
            let path = "fields[\(index)]"
            r.only(item, path, ["key", "label", "hint", "type", "required", "when", "choices", "min", "max", "personal", "earliest", "latest"])
            let fieldKey = r.text(item["key"], path + ".key", parentLine: item.line) ?? ""
            if !isKey(fieldKey) || fieldKey.contains("-") {
                r.fail(item["key"], path + ".key", "must be lowercase letters, digits or _, starting with a letter")
            }
            if fields.contains(where: { $0.key == fieldKey }) { r.fail(item["key"], path + ".key", "repeats the field \u{201C}\(fieldKey)\u{201D}") }
            let typeText = r.text(item["type"], path + ".type", parentLine: item.line) ?? "text"
            let type = CaseFieldType(rawValue: typeText)
            if type == nil {
                r.fail(item["type"], path + ".type", "must be one of \(CaseFieldType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            var choices: [(key: String, label: String)] = []
            if let node = item["choices"] {
                switch node {
                case .mapping(let pairs, _):
                    for pair in pairs {
                        choices.append((pair.key, r.text(pair.value, "\(path).choices.\(pair.key)", parentLine: node.line) ?? pair.key))
                    }
                default:
                    for (position, choice) in r.texts(node, path + ".choices", parentLine: item.line).enumerated() {
                        _ = position
                        choices.append((choice, choice))
                    }
                }
            }
            if type == .choice, choices.isEmpty { r.fail(item, path + ".choices", "are required for a choice") }
            if type == .document, !documents.contains(where: { $0.key == fieldKey }) {
                r.fail(item["key"], path + ".key", "a document field's key must name one of the file's documents")
            }
            var condition: Expression?
            if let text = r.text(item["when"], path + ".when", required: false, parentLine: item.line) {
                condition = expression(
                    text, item["when"], path + ".when", known: Set(fields.map(\.key)).union(documents.map(\.key)), &r, earlier: true)
            }
            var limits: [DayLimit?] = []
            for name in ["earliest", "latest"] {
                let text = r.text(item[name], path + "." + name, required: false, parentLine: item.line)
                let limit = text.flatMap(DayLimit.init)
                if text != nil, limit == nil || type != .date {
                    r.fail(item[name], path + "." + name, type == .date ? "must be today or a day written YYYY-MM-DD" : "is only for a date")
                }
                limits.append(limit)
            }
            let personalDefault: Bool = [.text, .longtext, .address, .person, .email, .phone, .date, .document].contains(type ?? .text)
            fields.append(
                CaseField(
                    key: fieldKey, label: r.text(item["label"], path + ".label", parentLine: item.line) ?? fieldKey,
                    hint: r.text(item["hint"], path + ".hint", required: false, parentLine: item.line), type: type ?? .text,
                    required: r.bool(item["required"], path + ".required", parentLine: item.line) ?? false, when: condition, choices: choices,
                    minimum: r.number(item["min"], path + ".min", parentLine: item.line),
                    maximum: r.number(item["max"], path + ".max", parentLine: item.line),
                    personal: r.bool(item["personal"], path + ".personal", parentLine: item.line) ?? personalDefault, earliest: limits[0],
                    latest: limits[1]))
        }
        return fields
    }
}
