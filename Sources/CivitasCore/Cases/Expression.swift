import Foundation

// A small expression language for the eligibility rules, guards and automation conditions that agency staff write
// in case-type definition files, e.g. `amount < 5000 and business_type in ["retail", "food"]`.
//
// Everything here is deliberately strict and explainable: a rule either gives an answer together with the field
// values it read, or a plain-English error that names the field at fault. Parsing catches typos (unknown functions,
// wrong argument counts, malformed dates in literals) when a definition is loaded rather than when a case is decided.

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

// MARK: - Expression

/// A parsed rule. Parsing happens once when a definition is loaded; evaluation is cheap and has no side effects.
public struct Expression: Sendable, Equatable {
    /// Admins upload definition files, so input size and nesting are bounded to keep parsing and evaluation cheap.
    static let maximumLength = 2000
    static let maximumNesting = 64

    public let source: String
    private let root: Node
    private let fieldNames: Set<String>

    /// Parses `source`, rejecting syntax errors, unknown functions and wrong argument counts up front.
    public init(_ source: String) throws(ExpressionError) {
        let characters = Array(source)
        guard characters.count <= Self.maximumLength else {
            throw ExpressionError("Expression is too long (at most \(Self.maximumLength) characters)", offset: Self.maximumLength)
        }
        var lexer = Lexer(characters: characters)
        var parser = Parser(tokens: try lexer.tokens())
        self.source = source
        self.root = try parser.parse()
        var names = Set<String>()
        root.collectFieldNames(into: &names)
        self.fieldNames = names
    }

    /// Every field name the expression refers to, so a definition can be checked against its declared fields.
    public var identifiers: Set<String> { fieldNames }

    /// Evaluates against a case's field values. Fields absent from `values` read as `.null`.
    /// `now` is passed in so that date rules are reproducible in tests and when replaying past decisions.
    public func evaluate(_ values: [String: ExpressionValue], now: Date) throws(ExpressionError) -> Evaluation {
        var evaluator = Evaluator(values: values, now: now)
        let value = try evaluator.value(of: root)
        return Evaluation(value: value, used: evaluator.used)
    }

    /// Two expressions are equal when written identically; the parsed tree follows from the source.
    public static func == (lhs: Expression, rhs: Expression) -> Bool {
        lhs.source == rhs.source
    }
}

// MARK: - Evaluation

/// The outcome of evaluating an expression, with the inputs it depended on so a decision can be explained.
public struct Evaluation: Sendable, Equatable {
    public var value: ExpressionValue
    /// Each field read, once, in the order first read. Fields skipped by short-circuiting are not listed.
    public var used: [(name: String, value: ExpressionValue)]

    public init(value: ExpressionValue, used: [(name: String, value: ExpressionValue)] = []) {
        self.value = value
        self.used = used
    }

    /// A rule passes only on an explicit yes; any other result (including no value) does not.
    public var passed: Bool { value == .bool(true) }

    public static func == (lhs: Evaluation, rhs: Evaluation) -> Bool {
        guard lhs.value == rhs.value, lhs.used.count == rhs.used.count else { return false }
        for (left, right) in zip(lhs.used, rhs.used) where left.name != right.name || left.value != right.value {
            return false
        }
        return true
    }
}

// MARK: - Syntax tree

extension Expression {
    /// The functions staff may call. Their arity is checked while parsing.
    enum Function: String, Sendable {
        case present, length, min, max, round, date
        case daysSince = "days_since"
        case yearsSince = "years_since"

        var arity: Int {
            switch self {
            case .min, .max: return 2
            default: return 1
            }
        }
    }

    enum ComparisonOperator: String, Sendable {
        case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
        case `in`
    }

    enum ArithmeticOperator: String, Sendable {
        case add = "+", subtract = "-", multiply = "*", divide = "/"
    }

    struct ArithmeticStep: Sendable {
        let operation: ArithmeticOperator
        let operand: Node
    }

    /// Chains of `and`, `or`, `+ -` and `* /` are stored flat rather than as nested pairs, so the tree's depth
    /// follows the nesting of brackets (which is limited) and not the length of the expression.
    indirect enum Node: Sendable {
        case literal(ExpressionValue)
        case field(String)
        case list([Node])
        case negate(Node)
        case not(Node)
        case allOf([Node])
        case anyOf([Node])
        case arithmetic(Node, [ArithmeticStep])
        case comparison(ComparisonOperator, Node, Node)
        case call(Function, [Node])

        func collectFieldNames(into names: inout Set<String>) {
            switch self {
            case .literal: break
            case .field(let name): names.insert(name)
            case .negate(let inner), .not(let inner): inner.collectFieldNames(into: &names)
            case .list(let nodes), .allOf(let nodes), .anyOf(let nodes), .call(_, let nodes):
                for node in nodes { node.collectFieldNames(into: &names) }
            case .arithmetic(let first, let steps):
                first.collectFieldNames(into: &names)
                for step in steps { step.operand.collectFieldNames(into: &names) }
            case .comparison(_, let left, let right):
                left.collectFieldNames(into: &names)
                right.collectFieldNames(into: &names)
            }
        }
    }
}

// MARK: - Lexer

extension Expression {
    static let keywords: Set<String> = ["and", "or", "not", "in", "true", "false", "null"]

    struct Token: Sendable {
        enum Kind: Sendable, Equatable {
            case number(Double)
            case text(String)
            case identifier(String)
            case keyword(String)
            case symbol(String)
            case end
        }

        let kind: Kind
        /// Zero-based character offset of the token's first character.
        let offset: Int
        /// The token as written, for messages such as "Expected a value after '<'".
        let lexeme: String

        func isKeyword(_ word: String) -> Bool { kind == .keyword(word) }
        func isSymbol(_ symbol: String) -> Bool { kind == .symbol(symbol) }
    }

    /// Splits the source into tokens, catching habits from other languages (`=`, `&&`, `!`) with a pointed hint.
    struct Lexer {
        let characters: [Character]
        var position = 0

        init(characters: [Character]) {
            self.characters = characters
        }

        private func peek(_ ahead: Int = 0) -> Character? {
            position + ahead < characters.count ? characters[position + ahead] : nil
        }

        private func lexeme(from start: Int) -> String {
            String(characters[start..<position])
        }

        mutating func tokens() throws(ExpressionError) -> [Token] {
            var tokens: [Token] = []
            while true {
                while let character = peek(), character.isWhitespace { position += 1 }
                guard let character = peek() else {
                    tokens.append(Token(kind: .end, offset: characters.count, lexeme: ""))
                    break
                }
                if character.isASCII, character.isNumber {
                    tokens.append(try number())
                } else if character.isLetter || character == "_" {
                    tokens.append(try word())
                } else if character == "\"" || character == "'" {
                    tokens.append(try text(quote: character))
                } else {
                    tokens.append(try symbol(character))
                }
            }
            if tokens.count == 1 { throw ExpressionError("Expression is empty", offset: 0) }
            return tokens
        }

        /// Digits with optional `_` separators (`1_000`) and an optional fraction (`12.5`).
        private mutating func number() throws(ExpressionError) -> Token {
            let start = position
            var digits = ""
            try integerDigits(into: &digits)
            if peek() == "." {
                position += 1
                guard let next = peek(), next.isASCII, next.isNumber else {
                    throw ExpressionError("Expected a digit after '.' in a number", offset: position)
                }
                digits.append(".")
                try integerDigits(into: &digits)
            }
            if let next = peek(), next.isLetter || next == "_" {
                throw ExpressionError("Field names must start with a letter or '_'", offset: start)
            }
            if peek() == "." { throw ExpressionError("Unexpected character '.'", offset: position) }
            guard let value = Double(digits), value.isFinite else {
                throw ExpressionError("Number is too large", offset: start)
            }
            return Token(kind: .number(value), offset: start, lexeme: lexeme(from: start))
        }

        private mutating func integerDigits(into digits: inout String) throws(ExpressionError) {
            while let character = peek() {
                if character.isASCII, character.isNumber {
                    digits.append(character)
                    position += 1
                } else if character == "_" {
                    // A separator must sit between two digits.
                    guard let next = peek(1), next.isASCII, next.isNumber else {
                        throw ExpressionError("Misplaced '_' in number", offset: position)
                    }
                    position += 1
                } else {
                    return
                }
            }
        }

        /// A field name, keyword or function name. Field names may be dotted (`household.size`).
        private mutating func word() throws(ExpressionError) -> Token {
            let start = position
            while let character = peek(), character.isLetter || character.isNumber || character == "_" || character == "." {
                position += 1
            }
            let word = lexeme(from: start)
            if Expression.keywords.contains(word) {
                return Token(kind: .keyword(word), offset: start, lexeme: word)
            }
            if word.hasSuffix(".") {
                throw ExpressionError("Field name '\(word)' cannot end with '.'", offset: start)
            }
            if word.contains("..") {
                throw ExpressionError("Field name '\(word)' has an empty part between dots", offset: start)
            }
            return Token(kind: .identifier(word), offset: start, lexeme: word)
        }

        /// Text in single or double quotes; `\"`, `\'`, `\\`, `\n` and `\t` are the only escapes.
        private mutating func text(quote: Character) throws(ExpressionError) -> Token {
            let start = position
            position += 1
            var value = ""
            while true {
                guard let character = peek() else { throw ExpressionError("Unterminated text", offset: start) }
                position += 1
                if character == quote { break }
                guard character == "\\" else {
                    value.append(character)
                    continue
                }
                switch peek() {
                case "\"": value.append("\"")
                case "'": value.append("'")
                case "\\": value.append("\\")
                case "n": value.append("\n")
                case "t": value.append("\t")
                case nil: throw ExpressionError("Unterminated text", offset: start)
                case let other?:
                    throw ExpressionError("Unknown escape '\\\(other)' in text", offset: position - 1)
                }
                position += 1
            }
            return Token(kind: .text(value), offset: start, lexeme: lexeme(from: start))
        }

        private mutating func symbol(_ character: Character) throws(ExpressionError) -> Token {
            let start = position
            let next = peek(1)
            let symbol: String
            switch character {
            case "(", ")", "[", "]", ",", "+", "-", "*", "/":
                symbol = String(character)
            case "<", ">":
                symbol = next == "=" ? "\(character)=" : String(character)
            case "=":
                guard next == "=" else { throw ExpressionError("Use '==' to compare values", offset: start) }
                symbol = "=="
            case "!":
                guard next == "=" else { throw ExpressionError("Use 'not' instead of '!'", offset: start) }
                symbol = "!="
            case "&" where next == "&":
                throw ExpressionError("Use 'and' instead of '&&'", offset: start)
            case "|" where next == "|":
                throw ExpressionError("Use 'or' instead of '||'", offset: start)
            case "." where next?.isNumber == true:
                throw ExpressionError("Write numbers with a leading digit, e.g. 0.5", offset: start)
            default:
                throw ExpressionError("Unexpected character '\(character)'", offset: start)
            }
            position += symbol.count
            return Token(kind: .symbol(symbol), offset: start, lexeme: symbol)
        }
    }
}

// MARK: - Parser

extension Expression {
    /// Recursive descent, one function per precedence level, lowest first:
    /// `or`, `and`, `not`, comparisons and `in` (non-associative), `+ -`, `* /`, unary `-`, primary.
    struct Parser {
        let tokens: [Token]
        var position = 0
        var depth = 0

        init(tokens: [Token]) {
            self.tokens = tokens
        }

        private var current: Token { tokens[position] }
        private var previous: Token? { position > 0 ? tokens[position - 1] : nil }

        private mutating func advance() {
            if position < tokens.count - 1 { position += 1 }
        }

        /// Counts one level of nesting; every recursive construct passes through here so the stack stays bounded.
        private mutating func enterNesting(at token: Token) throws(ExpressionError) {
            depth += 1
            if depth > Expression.maximumNesting {
                throw ExpressionError("Expression is nested too deeply", offset: token.offset)
            }
        }

        private mutating func leaveNesting() { depth -= 1 }

        mutating func parse() throws(ExpressionError) -> Node {
            let node = try parseOr()
            guard current.kind == .end else { throw unexpected(current) }
            return node
        }

        private mutating func parseOr() throws(ExpressionError) -> Node {
            var operands = [try parseAnd()]
            while current.isKeyword("or") {
                advance()
                operands.append(try parseAnd())
            }
            return operands.count == 1 ? operands[0] : .anyOf(operands)
        }

        private mutating func parseAnd() throws(ExpressionError) -> Node {
            var operands = [try parseNot()]
            while current.isKeyword("and") {
                advance()
                operands.append(try parseNot())
            }
            return operands.count == 1 ? operands[0] : .allOf(operands)
        }

        private mutating func parseNot() throws(ExpressionError) -> Node {
            guard current.isKeyword("not") else { return try parseComparison() }
            try enterNesting(at: current)
            defer { leaveNesting() }
            advance()
            return .not(try parseNot())
        }

        private mutating func parseComparison() throws(ExpressionError) -> Node {
            let left = try parseAdditive()
            guard let operation = comparisonOperator(current) else { return left }
            advance()
            let right = try parseAdditive()
            if comparisonOperator(current) != nil {
                throw ExpressionError("Comparisons cannot be chained; join them with 'and', e.g. a < b and b < c", offset: current.offset)
            }
            return .comparison(operation, left, right)
        }

        private func comparisonOperator(_ token: Token) -> ComparisonOperator? {
            switch token.kind {
            case .symbol(let symbol): return ComparisonOperator(rawValue: symbol)
            case .keyword("in"): return .in
            default: return nil
            }
        }

        private mutating func parseAdditive() throws(ExpressionError) -> Node {
            try parseChain(of: [.add, .subtract]) { parser throws(ExpressionError) in try parser.parseMultiplicative() }
        }

        private mutating func parseMultiplicative() throws(ExpressionError) -> Node {
            try parseChain(of: [.multiply, .divide]) { parser throws(ExpressionError) in try parser.parseUnary() }
        }

        /// A left-associative run of operators of one precedence level, e.g. `a - b + c`.
        private mutating func parseChain(
            of operations: [ArithmeticOperator],
            operand: (inout Parser) throws(ExpressionError) -> Node
        ) throws(ExpressionError) -> Node {
            let first = try operand(&self)
            var steps: [ArithmeticStep] = []
            while case .symbol(let symbol) = current.kind, let operation = ArithmeticOperator(rawValue: symbol),
                operations.contains(operation)
            {
                advance()
                steps.append(ArithmeticStep(operation: operation, operand: try operand(&self)))
            }
            return steps.isEmpty ? first : .arithmetic(first, steps)
        }

        private mutating func parseUnary() throws(ExpressionError) -> Node {
            guard current.isSymbol("-") else { return try parsePrimary() }
            try enterNesting(at: current)
            defer { leaveNesting() }
            advance()
            let operand = try parseUnary()
            // Fold `-5` into a literal so explanations show the number the author wrote.
            if case .literal(.number(let number)) = operand { return .literal(.number(-number)) }
            return .negate(operand)
        }

        private mutating func parsePrimary() throws(ExpressionError) -> Node {
            let token = current
            switch token.kind {
            case .number(let number):
                advance()
                return .literal(.number(number))
            case .text(let text):
                advance()
                return .literal(.text(text))
            case .keyword("true"):
                advance()
                return .literal(.bool(true))
            case .keyword("false"):
                advance()
                return .literal(.bool(false))
            case .keyword("null"):
                advance()
                return .literal(.null)
            case .keyword("not"):
                throw ExpressionError("Put 'not' and what it applies to in brackets here, e.g. (not a)", offset: token.offset)
            case .identifier(let name):
                advance()
                return current.isSymbol("(") ? try parseCall(name: name, at: token) : .field(name)
            case .symbol("("):
                try enterNesting(at: token)
                defer { leaveNesting() }
                advance()
                let inner = try parseOr()
                guard current.isSymbol(")") else { throw ExpressionError("Expected ')'", offset: current.offset) }
                advance()
                return inner
            case .symbol("["):
                return try parseList(at: token)
            default:
                throw expectedValue()
            }
        }

        private mutating func parseCall(name: String, at nameToken: Token) throws(ExpressionError) -> Node {
            guard let function = Function(rawValue: name) else {
                throw ExpressionError("Unknown function '\(name)'", offset: nameToken.offset)
            }
            try enterNesting(at: current)
            defer { leaveNesting() }
            advance()  // past "("
            var arguments: [Node] = []
            if current.isSymbol(")") {
                advance()
            } else {
                while true {
                    arguments.append(try parseOr())
                    if current.isSymbol(",") {
                        advance()
                    } else if current.isSymbol(")") {
                        advance()
                        break
                    } else {
                        let expected = current.kind == .end ? "Expected ')'" : "Expected ',' or ')'"
                        throw ExpressionError(expected, offset: current.offset)
                    }
                }
            }
            guard arguments.count == function.arity else {
                let noun = function.arity == 1 ? "value" : "values"
                throw ExpressionError(
                    "\(name)() takes \(function.arity) \(noun), got \(arguments.count)", offset: nameToken.offset)
            }
            // A literal date that cannot be a date is a typo in the definition, so report it now rather than per case.
            if function == .date, case .literal(.text(let text)) = arguments[0], Day(text: text) == nil {
                throw ExpressionError("'\(text)' is not a date (expected YYYY-MM-DD)", offset: tokens[position - 2].offset)
            }
            return .call(function, arguments)
        }

        /// `[a, b, c]`; a trailing comma is allowed because YAML authors often leave one.
        private mutating func parseList(at open: Token) throws(ExpressionError) -> Node {
            try enterNesting(at: open)
            defer { leaveNesting() }
            advance()  // past "["
            var items: [Node] = []
            while !current.isSymbol("]") {
                items.append(try parseOr())
                if current.isSymbol(",") {
                    advance()
                } else if !current.isSymbol("]") {
                    let expected = current.kind == .end ? "Expected ']'" : "Expected ',' or ']'"
                    throw ExpressionError(expected, offset: current.offset)
                }
            }
            advance()  // past "]"
            return .list(items)
        }

        private func expectedValue() -> ExpressionError {
            guard let previous else { return ExpressionError("Expected a value", offset: current.offset) }
            return ExpressionError("Expected a value after '\(previous.lexeme)'", offset: current.offset)
        }

        /// A token left over after a complete expression, with hints for the common slips.
        private func unexpected(_ token: Token) -> ExpressionError {
            switch token.kind {
            case .identifier(let word) where Expression.keywords.contains(word.lowercased()):
                return ExpressionError("Unexpected '\(word)'; keywords are lowercase: '\(word.lowercased())'", offset: token.offset)
            case .keyword("not") where tokens[position + 1].isKeyword("in"):
                return ExpressionError("Write 'not (a in [...])' instead of 'a not in [...]'", offset: token.offset)
            case .symbol(")"):
                return ExpressionError("Unexpected ')' without a matching '('", offset: token.offset)
            default:
                return ExpressionError("Unexpected '\(token.lexeme)'", offset: token.offset)
            }
        }
    }
}

// MARK: - Evaluator

extension Expression {
    /// Walks the tree once, recording each field the first time it is read.
    struct Evaluator {
        let values: [String: ExpressionValue]
        let now: Date
        var used: [(name: String, value: ExpressionValue)] = []
        private var seen: Set<String> = []

        init(values: [String: ExpressionValue], now: Date) {
            self.values = values
            self.now = now
        }

        mutating func value(of node: Node) throws(ExpressionError) -> ExpressionValue {
            switch node {
            case .literal(let value):
                return value
            case .field(let name):
                let value = values[name] ?? .null
                if seen.insert(name).inserted { used.append((name: name, value: value)) }
                return value
            case .list(let nodes):
                var items: [ExpressionValue] = []
                for item in nodes { items.append(try value(of: item)) }
                return .list(items)
            case .negate(let inner):
                return .number(-(try number(inner, for: "-")))
            case .not(let inner):
                return .bool(!(try condition(inner, context: "after 'not'")))
            case .allOf(let operands):
                for operand in operands where !(try condition(operand, context: "for 'and'")) { return .bool(false) }
                return .bool(true)
            case .anyOf(let operands):
                for operand in operands where try condition(operand, context: "for 'or'") { return .bool(true) }
                return .bool(false)
            case .arithmetic(let first, let steps):
                return try arithmetic(first, steps)
            case .comparison(let operation, let left, let right):
                return try compare(operation, left, right)
            case .call(let function, let arguments):
                return try call(function, arguments)
            }
        }

        // MARK: Operand checks

        /// A field that is empty is the most common failure, so it gets its own message naming the field.
        private func missingField(_ node: Node, _ value: ExpressionValue) -> ExpressionError? {
            guard case .null = value, case .field(let name) = node else { return nil }
            return ExpressionError("\(name) has no value")
        }

        private mutating func condition(_ node: Node, context: String) throws(ExpressionError) -> Bool {
            let value = try value(of: node)
            if case .bool(let flag) = value { return flag }
            if let error = missingField(node, value) { throw error }
            if case .field(let name) = node {
                throw ExpressionError("Expected \(name) to be yes/no but it is \(value.kindName)")
            }
            throw ExpressionError("Expected yes/no \(context) but got \(value.kindName)")
        }

        private mutating func number(_ node: Node, for operation: String) throws(ExpressionError) -> Double {
            let value = try value(of: node)
            if case .number(let number) = value { return number }
            if let error = missingField(node, value) { throw error }
            throw ExpressionError("Cannot use '\(operation)' with \(value.kindName)")
        }

        // MARK: Arithmetic

        private mutating func arithmetic(_ first: Node, _ steps: [ArithmeticStep]) throws(ExpressionError) -> ExpressionValue {
            var result = try value(of: first)
            var resultNode = first
            for step in steps {
                let operand = try value(of: step.operand)
                if let error = missingField(resultNode, result) ?? missingField(step.operand, operand) { throw error }
                let symbol = step.operation.rawValue
                switch (step.operation, result, operand) {
                case (.add, .number(let left), .number(let right)): result = .number(left + right)
                case (.add, .text(let left), .text(let right)): result = .text(left + right)
                case (.subtract, .number(let left), .number(let right)): result = .number(left - right)
                case (.multiply, .number(let left), .number(let right)): result = .number(left * right)
                case (.divide, .number(let left), .number(let right)):
                    guard right != 0 else { throw ExpressionError("Division by zero") }
                    result = .number(left / right)
                default:
                    throw ExpressionError("Cannot use '\(symbol)' with \(result.kindName) and \(operand.kindName)")
                }
                resultNode = .literal(result)
            }
            return result
        }

        // MARK: Comparison

        private mutating func compare(
            _ operation: ComparisonOperator, _ leftNode: Node, _ rightNode: Node
        ) throws(ExpressionError) -> ExpressionValue {
            let left = try value(of: leftNode)
            let right = try value(of: rightNode)
            switch operation {
            case .equal: return .bool(Self.equal(left, right))
            case .notEqual: return .bool(!Self.equal(left, right))
            case .in:
                guard case .list(let items) = right else {
                    if let error = missingField(rightNode, right) { throw error }
                    throw ExpressionError("Expected a list after 'in' but got \(right.kindName)")
                }
                return .bool(items.contains { Self.equal(left, $0) })
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                let order = try Self.order(left, leftNode, right, rightNode, symbol: operation.rawValue)
                switch operation {
                case .less: return .bool(order < 0)
                case .lessOrEqual: return .bool(order <= 0)
                case .greater: return .bool(order > 0)
                default: return .bool(order >= 0)
                }
            }
        }

        /// Equality across all kinds: different kinds are simply unequal, except that a date equals text naming
        /// the same day. Dates compare by calendar day because rules talk about days, not instants.
        static func equal(_ left: ExpressionValue, _ right: ExpressionValue) -> Bool {
            switch (left, right) {
            case (.date(let date), .text(let text)), (.text(let text), .date(let date)):
                return Day(text: text) == Day(date)
            case (.date(let leftDate), .date(let rightDate)):
                return Day(leftDate) == Day(rightDate)
            case (.list(let leftItems), .list(let rightItems)):
                return leftItems.count == rightItems.count && zip(leftItems, rightItems).allSatisfy { equal($0, $1) }
            default:
                return left == right
            }
        }

        /// -1, 0 or 1 for orderable pairs: numbers, text, and dates (with date-shaped text read as a date).
        static func order(
            _ left: ExpressionValue, _ leftNode: Node, _ right: ExpressionValue, _ rightNode: Node, symbol: String
        ) throws(ExpressionError) -> Int {
            func sign<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : (a == b ? 0 : 1) }
            switch (left, right) {
            case (.number(let a), .number(let b)): return sign(a, b)
            case (.text(let a), .text(let b)): return sign(a, b)
            case (.date(let a), .date(let b)): return sign(Day(a), Day(b))
            case (.date(let a), .text(let text)): return sign(Day(a), try day(fromText: text))
            case (.text(let text), .date(let b)): return sign(try day(fromText: text), Day(b))
            default: break
            }
            if case .null = left, case .field(let name) = leftNode { throw ExpressionError("\(name) has no value") }
            if case .null = right, case .field(let name) = rightNode { throw ExpressionError("\(name) has no value") }
            switch (left, right) {
            case (.bool, .bool): throw ExpressionError("Cannot use '\(symbol)' on yes/no values")
            case (.list, .list): throw ExpressionError("Cannot use '\(symbol)' on lists")
            default: throw ExpressionError("Cannot compare \(left.kindName) with \(right.kindName)")
            }
        }

        static func day(fromText text: String) throws(ExpressionError) -> Day {
            guard let day = Day(text: text) else { throw ExpressionError("'\(text)' is not a date (expected YYYY-MM-DD)") }
            return day
        }

        // MARK: Functions

        private mutating func call(_ function: Function, _ arguments: [Node]) throws(ExpressionError) -> ExpressionValue {
            let name = function.rawValue
            switch function {
            case .present:
                switch try value(of: arguments[0]) {
                case .null: return .bool(false)
                // Whitespace-only text counts as empty: a form field holding only spaces was not filled in.
                case .text(let text): return .bool(!text.allSatisfy(\.isWhitespace))
                case .list(let items): return .bool(!items.isEmpty)
                default: return .bool(true)
                }
            case .length:
                let value = try value(of: arguments[0])
                switch value {
                case .text(let text): return .number(Double(text.count))
                case .list(let items): return .number(Double(items.count))
                default:
                    if let error = missingField(arguments[0], value) { throw error }
                    throw ExpressionError("length() needs text or a list, got \(value.kindName)")
                }
            case .min, .max:
                let first = try value(of: arguments[0])
                let second = try value(of: arguments[1])
                let order = try Self.order(first, arguments[0], second, arguments[1], symbol: "\(name)()")
                return (function == .min) == (order <= 0) ? first : second
            case .round:
                return .number(Self.roundedToCents(try number(arguments[0], for: "round()")))
            case .daysSince:
                let date = try date(arguments[0], for: name)
                let days = (now.timeIntervalSince1970 - date.timeIntervalSince1970) / 86_400
                return .number(days.rounded(.down))
            case .yearsSince:
                let start = Day(try date(arguments[0], for: name))
                let today = Day(now)
                let birthdayPassed = (today.month, today.day) >= (start.month, start.day)
                return .number(Double(today.year - start.year - (birthdayPassed ? 0 : 1)))
            case .date:
                return .date(try date(arguments[0], for: name))
            }
        }

        private mutating func date(_ node: Node, for function: String) throws(ExpressionError) -> Date {
            let value = try value(of: node)
            switch value {
            case .date(let date): return date
            case .text(let text): return try Self.day(fromText: text).date
            default:
                if let error = missingField(node, value) { throw error }
                throw ExpressionError("\(function)() needs a date, got \(value.kindName)")
            }
        }

        /// Rounds half away from zero on the decimal digits people see, so round(1.005) is 1.01 and not 1.00.
        static func roundedToCents(_ number: Double) -> Double {
            guard number.isFinite, var decimal = Decimal(string: number.description) else { return number }
            var rounded = Decimal()
            NSDecimalRound(&rounded, &decimal, 2, .plain)
            return Double(truncating: rounded as NSDecimalNumber)
        }
    }
}

// MARK: - Calendar days

extension Expression {
    /// A day on the proleptic Gregorian calendar in UTC. Rules compare whole days, so time zones stay out of them.
    struct Day: Comparable, CustomStringConvertible, Sendable {
        let year: Int
        let month: Int
        let day: Int

        private static let daysBeforeMonth = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]

        static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

        static func daysIn(month: Int, year: Int) -> Int {
            switch month {
            case 2: return isLeap(year) ? 29 : 28
            case 4, 6, 9, 11: return 30
            default: return 31
            }
        }

        /// Leap days in years 1 through `year - 1` (floor division keeps this right for years before 1).
        private static func leapDaysBefore(_ year: Int) -> Int {
            func floorDiv(_ a: Int, _ b: Int) -> Int { Int((Double(a) / Double(b)).rounded(.down)) }
            let previous = year - 1
            return floorDiv(previous, 4) - floorDiv(previous, 100) + floorDiv(previous, 400)
        }

        /// Days from 1970-01-01 to the start of `year`.
        private static func daysBefore(year: Int) -> Int {
            365 * (year - 1970) + leapDaysBefore(year) - leapDaysBefore(1970)
        }

        init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        /// Roughly years -100000 to 100000; case data is never near this, but a corrupt timestamp must not trap.
        private static let dayRange = -37_200_000.0...35_800_000.0

        /// The UTC day containing `date`.
        init(_ date: Date) {
            let exact = date.timeIntervalSince1970 / 86_400
            let clamped = exact.isNaN ? 0 : Swift.min(Swift.max(exact, Self.dayRange.lowerBound), Self.dayRange.upperBound)
            let days = Int(clamped.rounded(.down))
            // Estimate the year, then correct it; the estimate is off by at most one.
            var year = 1970 + Int((Double(days) / 365.2425).rounded(.down))
            while Self.daysBefore(year: year) > days { year -= 1 }
            while Self.daysBefore(year: year + 1) <= days { year += 1 }
            var remaining = days - Self.daysBefore(year: year)
            var month = 1
            while remaining >= Self.daysIn(month: month, year: year) {
                remaining -= Self.daysIn(month: month, year: year)
                month += 1
            }
            self.init(year: year, month: month, day: remaining + 1)
        }

        /// Exactly `YYYY-MM-DD` naming a real day; anything else is not a date.
        init?(text: String) {
            let characters = Array(text)
            guard characters.count == 10, characters[4] == "-", characters[7] == "-" else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                let digits = characters[range]
                guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                return Int(String(digits))
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
                (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day)
            else { return nil }
            self.init(year: year, month: month, day: day)
        }

        var daysSinceEpoch: Int {
            let leapDay = month > 2 && Self.isLeap(year) ? 1 : 0
            return Self.daysBefore(year: year) + Self.daysBeforeMonth[month - 1] + leapDay + day - 1
        }

        /// Midnight UTC at the start of the day.
        var date: Date { Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86_400) }

        var description: String {
            func pad(_ value: Int, _ width: Int) -> String {
                let digits = String(abs(value))
                return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
            return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        }

        static func < (lhs: Day, rhs: Day) -> Bool {
            (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
        }
    }
}
