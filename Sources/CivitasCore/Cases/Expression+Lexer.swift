import Foundation

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
