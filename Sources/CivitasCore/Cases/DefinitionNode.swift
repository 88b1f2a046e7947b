import Foundation

/// A definition file's tree (YAML or JSON), with the line each value is on, so a mistake can be named by its line
/// and field. The server turns a YAML parser's nodes into this; the domain never depends on the parser.
public indirect enum DefinitionNode: Sendable, Equatable {
    case scalar(String, line: Int)
    case mapping([(key: String, value: DefinitionNode)], line: Int)
    case sequence([DefinitionNode], line: Int)
    case null(line: Int)

    public var line: Int {
        switch self {
        case .scalar(_, let line), .mapping(_, let line), .sequence(_, let line), .null(let line): line
        }
    }

    public subscript(key: String) -> DefinitionNode? {
        guard case .mapping(let pairs, _) = self else { return nil }
        return pairs.first { $0.key == key }?.value
    }

    public static func == (lhs: DefinitionNode, rhs: DefinitionNode) -> Bool {
        switch (lhs, rhs) {
        case (.scalar(let a, let l1), .scalar(let b, let l2)): a == b && l1 == l2
        case (.sequence(let a, let l1), .sequence(let b, let l2)): a == b && l1 == l2
        case (.null(let l1), .null(let l2)): l1 == l2
        case (.mapping(let a, let l1), .mapping(let b, let l2)):
            l1 == l2 && a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }
}

/// A mistake in a definition file: where it is (line, and the field's path like `states[2].sla`) and what to do.
public struct DefinitionError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var path: String
    public var message: String

    public init(line: Int, path: String, message: String) {
        self.line = line
        self.path = path
        self.message = message
    }

    public var description: String { "line \(line), \(path): \(message)" }
}

/// Reads typed values out of a definition tree, collecting every mistake rather than stopping at the first.
struct DefinitionReader {
    var errors: [DefinitionError] = []

    mutating func fail(_ node: DefinitionNode?, _ path: String, _ message: String, line fallback: Int = 0) {
        errors.append(DefinitionError(line: node?.line ?? fallback, path: path, message: message))
    }

    mutating func text(_ node: DefinitionNode?, _ path: String, required: Bool = true, parentLine: Int) -> String? {
        switch node {
        case .scalar(let value, _)?:
            if value.trimmingCharacters(in: .whitespaces).isEmpty, required { fail(node, path, "must not be empty") }
            return value
        case nil, .null?:
            if required { fail(node, path, "is required", line: parentLine) }
            return nil
        default:
            fail(node, path, "must be a text value")
            return nil
        }
    }

    mutating func number(_ node: DefinitionNode?, _ path: String, parentLine: Int) -> Double? {
        guard let raw = text(node, path, required: false, parentLine: parentLine) else { return nil }
        guard let value = Double(raw) else {
            fail(node, path, "must be a number, not \u{201C}\(raw)\u{201D}")
            return nil
        }
        return value
    }

    mutating func bool(_ node: DefinitionNode?, _ path: String, parentLine: Int) -> Bool? {
        guard let raw = text(node, path, required: false, parentLine: parentLine) else { return nil }
        switch raw.lowercased() {
        case "true", "yes": return true
        case "false", "no": return false
        default:
            fail(node, path, "must be true or false")
            return nil
        }
    }

    mutating func list(_ node: DefinitionNode?, _ path: String, parentLine: Int, required: Bool = false) -> [DefinitionNode] {
        switch node {
        case .sequence(let items, _)?: return items
        case nil, .null?:
            if required { fail(node, path, "is required", line: parentLine) }
            return []
        case .scalar(let value, let line)?:
            // A single value where a list is expected: `by: applicant` reads as `by: [applicant]`.
            return [.scalar(value, line: line)]
        default:
            fail(node, path, "must be a list")
            return []
        }
    }

    mutating func texts(_ node: DefinitionNode?, _ path: String, parentLine: Int) -> [String] {
        list(node, path, parentLine: parentLine).enumerated().compactMap { index, item in text(item, "\(path)[\(index)]", parentLine: parentLine) }
    }

    /// Refuses keys the schema does not know: a misspelt `requried` would otherwise be silently ignored.
    mutating func only(_ node: DefinitionNode, _ path: String, _ known: Set<String>) {
        guard case .mapping(let pairs, _) = node else {
            fail(node, path, "must be a mapping of names to values")
            return
        }
        for pair in pairs where !known.contains(pair.key) {
            fail(
                pair.value, path.isEmpty ? pair.key : "\(path).\(pair.key)",
                "is not a known setting (known: \(known.sorted().joined(separator: ", ")))")
        }
    }
}
