/// What a file really is, from its first bytes, whatever its name or the sender says. Uploads are accepted by this
/// alone: request photos as images, case documents as the types their case type allows.
public enum FileSignature {
    /// The content type of the formats Civitas accepts anywhere (PDF, JPEG, PNG, GIF, WebP), or nil.
    public static func contentType(of bytes: [UInt8]) -> String? {
        if bytes.starts(with: [0x25, 0x50, 0x44, 0x46, 0x2D]) { return "application/pdf" }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if bytes.starts(with: Array("GIF87a".utf8)) || bytes.starts(with: Array("GIF89a".utf8)) { return "image/gif" }
        if bytes.count > 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) {
            return "image/webp"
        }
        return nil
    }

    /// The content type if the bytes are an image, or nil.
    public static func imageType(of bytes: [UInt8]) -> String? {
        contentType(of: bytes).flatMap { $0.hasPrefix("image/") ? $0 : nil }
    }
}
