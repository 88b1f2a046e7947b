import CivitasCore
import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing off the request threads: at cost 12 one hash takes a quarter of a second of CPU.
public struct Passwords: Sendable {
    public let cost: Int
    /// A hash to compare against when there is no such account, so a wrong email takes as long as a wrong password.
    let decoy: String

    public init(cost: Int) {
        self.cost = cost
        decoy = Bcrypt.hash("civitas-decoy-password", cost: UInt8(cost))
    }

    /// The rules a new password must meet (NIST SP 800-63B): long enough, not absurdly long, not the email.
    public static func validate(_ password: String, email: String) throws {
        guard password.count >= 12 else {
            throw CivitasError.invalid("password_too_short", "Use a password of at least 12 characters.", field: "password")
        }
        guard password.utf8.count <= 72 else {
            throw CivitasError.invalid("password_too_long", "Use a password of at most 72 letters and digits.", field: "password")
        }
        guard password.lowercased() != email.lowercased(), Set(password).count > 3 else {
            throw CivitasError.invalid("password_too_simple", "That password is too easy to guess; choose another.", field: "password")
        }
    }

    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
