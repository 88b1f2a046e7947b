import Foundation

// MARK: - Values

/// A value an expression works with: what a case field holds, or what an operator produces.
public enum ExpressionValue: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case text(String)
    case bool(Bool)
    case date(Date)
    case list([ExpressionValue])
    case null

    /// Plain words, because values end up in decision explanations that staff and residents read.
    public var description: String {
        switch self {
        case .number(let number): return Self.words(for: number)
        case .text(let text): return text
        case .bool(let flag): return flag ? "yes" : "no"
        case .date(let date): return Expression.Day(date).description
        case .list(let items): return items.map(\.description).joined(separator: ", ")
        case .null: return "no value"
        }
    }

    /// The kind of value in words, for type errors such as "Cannot compare text with a number".
    var kindName: String {
        switch self {
        case .number: return "a number"
        case .text: return "text"
        case .bool: return "a yes/no value"
        case .date: return "a date"
        case .list: return "a list"
        case .null: return "no value"
        }
    }

    /// Whole numbers without a trailing ".0"; binary noise such as 0.30000000000000004 is tidied to six decimals.
    private static func words(for number: Double) -> String {
        if number.isNaN { return "not a number" }
        if number.isInfinite { return number < 0 ? "minus infinity" : "infinity" }
        if number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        let tidy = (number * 1_000_000).rounded() / 1_000_000
        let shown = tidy == 0 ? number : tidy
        if shown == shown.rounded(), abs(shown) < 1e15 { return String(Int64(shown)) }
        return shown.description
    }
}

// MARK: - Errors

/// Why an expression could not be read or evaluated, worded for the staff member who wrote it.
public struct ExpressionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Plain English, e.g. "Expected a value after 'and'" or "weekly_earnings has no value".
    public var message: String
    /// Zero-based character offset into the source for parse errors; `nil` for evaluation errors.
    public var offset: Int?

    public init(_ message: String, offset: Int? = nil) {
        self.message = message
        self.offset = offset
    }

    /// The message, prefixed with a one-based position ("at character 3: ...") so it matches how people count.
    public var description: String {
        guard let offset else { return message }
        return "at character \(offset + 1): \(message)"
    }
}
