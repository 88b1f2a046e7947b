import Foundation

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
