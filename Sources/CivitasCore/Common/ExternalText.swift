import Foundation

/// The one rule for text that arrives from outside (addresses, query strings, form fields, JSON): it must be UTF-8 and
/// hold no NUL (U+0000). No person types a NUL, PostgreSQL cannot store one (SQLite would), and a value that one
/// database keeps and the other refuses would make the two behave differently. Every reader applies this rule before
/// anything is stored, so such input is refused with 400 and nothing is written.
public enum ExternalText {
    /// Why the text is refused, for the person who sent it; nil when it is acceptable.
    public static func problem(in text: String) -> String? {
        text.unicodeScalars.contains("\u{0}") ? "contains a NUL character (U+0000), which Civitas does not accept" : nil
    }

    /// A percent-encoded part of an address (`a%20b`, `+` a space where `form` is set), decoded; or why it is refused.
    public static func decode(_ encoded: Substring, form: Bool) -> Result<String, Refusal> {
        let spaced = form ? encoded.replacingOccurrences(of: "+", with: " ") : String(encoded)
        guard let decoded = spaced.removingPercentEncoding else {
            return .failure(Refusal(reason: "has a percent escape that is not valid UTF-8"))
        }
        if let problem = problem(in: decoded) { return .failure(Refusal(reason: problem)) }
        return .success(decoded)
    }

    /// The first string in a JSON value (object keys included) that breaks the rule, as a path such as `data.name`,
    /// with the reason; nil when all of it is acceptable.
    public static func firstProblem(in value: JSONValue, path: String = "") -> (path: String, reason: String)? {
        switch value {
        case .string(let text): return problem(in: text).map { (path, $0) }
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = firstProblem(in: item, path: "\(path)[\(index)]") { return found }
            }
            return nil
        case .object(let object):
            for key in object.keys.sorted() {
                let inner = path.isEmpty ? key : "\(path).\(key)"
                if let reason = problem(in: key) { return (inner, reason) }
                if let found = firstProblem(in: object[key]!, path: inner) { return found }
            }
            return nil
        default: return nil
        }
    }

    public struct Refusal: Error, Sendable, Equatable {
        public var reason: String
    }
}
