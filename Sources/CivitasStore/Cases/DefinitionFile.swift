import CivitasCore
import Foundation
import Yams

/// Reads a definition file (YAML, or JSON, which is YAML too) into the domain's tree, keeping each value's line.
public enum DefinitionFile {
    public static func parse(_ text: String) throws(CaseTypeInvalid) -> DefinitionNode {
        guard text.utf8.count <= 1_000_000 else {
            throw CaseTypeInvalid(errors: [DefinitionError(line: 0, path: "", message: "The file is larger than 1 MB.")])
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw CaseTypeInvalid(errors: [Self.describe(error)])
        } catch {
            throw CaseTypeInvalid(errors: [DefinitionError(line: 0, path: "", message: "The file could not be read: \(error)")])
        }
        guard let node else { throw CaseTypeInvalid(errors: [DefinitionError(line: 1, path: "", message: "The file is empty.")]) }
        return convert(node)
    }

    static func convert(_ node: Node) -> DefinitionNode {
        let line = (node.mark?.line ?? 0)
        switch node {
        case .scalar(let scalar):
            if scalar.tag.description == Tag.Name.null.rawValue
                || (scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string))
            {
                return .null(line: line)
            }
            return .scalar(scalar.string, line: line)
        case .mapping(let mapping):
            return .mapping(mapping.map { pair in (key: pair.key.string ?? "\(pair.key)", value: convert(pair.value)) }, line: line)
        case .sequence(let sequence):
            return .sequence(sequence.map(convert), line: line)
        case .alias:
            return .null(line: line)
        }
    }

    static func describe(_ error: YamlError) -> DefinitionError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return DefinitionError(line: mark.line, path: "", message: "The file is not valid YAML: \(problem).")
        case .duplicatedKeysInMapping(let duplicates, _):
            return DefinitionError(line: 0, path: "", message: "These keys are given twice: \(duplicates.joined(separator: ", ")).")
        default:
            return DefinitionError(line: 0, path: "", message: "The file is not valid YAML: \(error).")
        }
    }
}
