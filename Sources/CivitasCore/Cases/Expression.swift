import Foundation

// A small expression language for the eligibility rules, guards and automation conditions that agency staff write
// in case-type definition files, e.g. `amount < 5000 and business_type in ["retail", "food"]`.
//
// Everything here is deliberately strict and explainable: a rule either gives an answer together with the field
// values it read, or a plain-English error that names the field at fault. Parsing catches typos (unknown functions,
// wrong argument counts, malformed dates in literals) when a definition is loaded rather than when a case is decided.

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
        case equal = "=="
        case notEqual = "!="
        case less = "<"
        case lessOrEqual = "<="
        case greater = ">"
        case greaterOrEqual = ">="
        case `in`
    }

    enum ArithmeticOperator: String, Sendable {
        case add = "+"
        case subtract = "-"
        case multiply = "*"
        case divide = "/"
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
