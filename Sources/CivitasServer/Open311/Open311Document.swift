import Foundation

/// The two wire formats of Open311, chosen by the path's extension.
enum Open311Format: String, Sendable {
    case xml
    case json

    var contentType: String { self == .xml ? "text/xml; charset=utf-8" : "application/json; charset=utf-8" }

    /// Splits `requests.json` into (`requests`, `.json`); an unknown or missing extension gives `nil`.
    static func split(_ file: String) -> (name: String, format: Open311Format?) {
        guard let dot = file.lastIndex(of: ".") else { return (file, nil) }
        return (String(file[..<dot]), Open311Format(rawValue: file[file.index(after: dot)...].lowercased()))
    }
}

/// One Open311 response as a tree, so the XML and the JSON are derived from the same thing, the way the
/// spec's conversion rules say: the root element is dropped in JSON, a list is an array even with one item,
/// and an empty element is `null`.
indirect enum Open311Node: Sendable {
    case text(String?)
    case number(Double?)
    case integer(Int)
    case bool(Bool)
    case element([(String, Open311Node)])
    case list(item: String, [Open311Node])

    /// Renders `<?xml ...?><root>...</root>`.
    static func xml(root: String, _ node: Open311Node) -> String {
        var out = #"<?xml version="1.0" encoding="utf-8"?>"#
        out.reserveCapacity(512)
        out += "\n"
        node.writeXML(name: root, into: &out)
        out += "\n"
        return out
    }

    /// Renders the JSON value of the root's content.
    static func json(_ node: Open311Node) -> String {
        var out = ""
        out.reserveCapacity(512)
        node.writeJSON(into: &out)
        return out
    }

    private func writeXML(name: String, into out: inout String) {
        switch self {
        case .element(let children):
            out += "<\(name)>"
            for (childName, child) in children { child.writeXML(name: childName, into: &out) }
            out += "</\(name)>"
        case .list(let item, let children):
            out += "<\(name)>"
            for child in children { child.writeXML(name: item, into: &out) }
            out += "</\(name)>"
        default:
            if let scalar = scalarText, !scalar.isEmpty {
                out += "<\(name)>"
                Self.escapeXML(scalar, into: &out)
                out += "</\(name)>"
            } else {
                out += "<\(name)></\(name)>"
            }
        }
    }

    private var scalarText: String? {
        switch self {
        case .text(let value): return value
        case .number(let value): return value.map(Self.decimal)
        case .integer(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .element, .list: return nil
        }
    }

    private func writeJSON(into out: inout String) {
        switch self {
        case .text(let value):
            if let value, !value.isEmpty { Self.escapeJSON(value, into: &out) } else { out += "null" }
        case .number(let value):
            out += value.map(Self.decimal) ?? "null"
        case .integer(let value):
            out += String(value)
        case .bool(let value):
            out += value ? "true" : "false"
        case .element(let children):
            out += "{"
            for (index, (name, child)) in children.enumerated() {
                if index > 0 { out += "," }
                Self.escapeJSON(name, into: &out)
                out += ":"
                child.writeJSON(into: &out)
            }
            out += "}"
        case .list(_, let children):
            out += "["
            for (index, child) in children.enumerated() {
                if index > 0 { out += "," }
                child.writeJSON(into: &out)
            }
            out += "]"
        }
    }

    /// Plain decimal notation, never an exponent (clients parse lat/long with simple number parsers).
    static func decimal(_ value: Double) -> String {
        let text = "\(value)"
        if !text.contains("e") && !text.contains("E") { return text.hasSuffix(".0") ? String(text.dropLast(2)) : text }
        var fixed = String(format: "%.10f", value)
        while fixed.hasSuffix("0") { fixed.removeLast() }
        if fixed.hasSuffix(".") { fixed.removeLast() }
        return fixed
    }

    static func escapeXML(_ text: String, into out: inout String) {
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                // Characters XML 1.0 cannot carry at all are dropped rather than breaking the document.
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) { continue }
                out.unicodeScalars.append(scalar)
            }
        }
    }

    static func escapeJSON(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar == "\u{2028}" || scalar == "\u{2029}" {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
