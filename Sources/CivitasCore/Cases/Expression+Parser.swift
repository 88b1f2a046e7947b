import Foundation

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
