/// An error a user can hit: a stable machine code, a message written for the person, and the field it concerns.
public struct CivitasError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is, which decides the HTTP status and the CLI exit.
    public enum Kind: String, Sendable, Equatable {
        case invalid
        case notFound = "not_found"
        case forbidden
        case conflict
        /// Well-formed, but cannot be processed as sent (an idempotency key reused for a different request).
        case unprocessable
        case unavailable
    }

    public let kind: Kind
    /// Stable machine-readable code, e.g. `attribute_required`.
    public let code: String
    /// Plain-language message for the person who sent the input.
    public let message: String
    /// The input field the error is about, when there is one.
    public let field: String?

    public init(_ kind: Kind, code: String, message: String, field: String? = nil) {
        self.kind = kind
        self.code = code
        self.message = message
        self.field = field
    }

    public static func invalid(_ code: String, _ message: String, field: String? = nil) -> CivitasError {
        CivitasError(.invalid, code: code, message: message, field: field)
    }

    public static func notFound(_ code: String, _ message: String, field: String? = nil) -> CivitasError {
        CivitasError(.notFound, code: code, message: message, field: field)
    }

    public var description: String { message }
}
