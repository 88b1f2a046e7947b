import Crypto
import Foundation

/// Unguessable tokens and keys, and their one-way hashes for storage.
public enum SecureRandom {
    /// `bytes` of system randomness as lowercase hex.
    public static func token(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var text = ""
        text.reserveCapacity(bytes * 2)
        for _ in 0..<bytes {
            let byte = UInt8.random(in: 0...255, using: &generator)
            text += String(byte >> 4, radix: 16) + String(byte & 0x0F, radix: 16)
        }
        return text
    }

    /// SHA-256 of `text` as hex: API keys are random and long, so a fast hash is the right tool (not bcrypt).
    public static func sha256Hex(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
