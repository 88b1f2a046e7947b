import Foundation

/// Photos residents attach: the type is read from the bytes (never trusted from the upload), and everything but the
/// picture is dropped, above all the location a phone writes into it.
public enum Photo {
    public enum Kind: String, Sendable {
        case jpeg = "image/jpeg"
        case png = "image/png"
    }

    public static let maximumBytes = 8 * 1024 * 1024

    public static func kind(of bytes: [UInt8]) -> Kind? {
        if bytes.count > 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        if bytes.count > 8, bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        return nil
    }

    /// The photo without its metadata (JPEG: APP1 to APP15 and comments, so Exif with GPS, XMP and IPTC; PNG: eXIf and
    /// text chunks), or nil when the bytes are not a well-formed JPEG or PNG.
    public static func stripped(_ bytes: [UInt8]) -> (Kind, [UInt8])? {
        switch kind(of: bytes) {
        case .jpeg?: return strippedJPEG(bytes).map { (.jpeg, $0) }
        case .png?: return strippedPNG(bytes).map { (.png, $0) }
        case nil: return nil
        }
    }

    static func strippedJPEG(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = [0xFF, 0xD8]
        var index = 2
        while index + 4 <= bytes.count {
            guard bytes[index] == 0xFF else { return nil }
            let marker = bytes[index + 1]
            if marker == 0xFF {  // fill byte
                index += 1
                continue
            }
            if marker == 0xD9 { return out + [0xFF, 0xD9] }
            if (0xD0...0xD7).contains(marker) || marker == 0x01 {  // markers without a length
                out += bytes[index..<index + 2]
                index += 2
                continue
            }
            let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            guard length >= 2, index + 2 + length <= bytes.count else { return nil }
            let segment = bytes[index..<index + 2 + length]
            // APP1...APP15 (Exif, XMP, IPTC, ...) and COM go; APP0 (JFIF) and everything needed to decode stays.
            let metadata = (0xE1...0xEF).contains(marker) || marker == 0xFE
            if !metadata { out += segment }
            index += 2 + length
            if marker == 0xDA {
                // Start of scan: the entropy-coded picture follows up to EOI; it is copied as it is.
                out += bytes[index...]
                return out
            }
        }
        return nil
    }

    static func strippedPNG(_ bytes: [UInt8]) -> [UInt8]? {
        var out = Array(bytes[0..<8])
        var index = 8
        let dropped: Set<String> = ["eXIf", "tEXt", "zTXt", "iTXt", "tIME"]
        while index + 12 <= bytes.count {
            let length = Int(bytes[index]) << 24 | Int(bytes[index + 1]) << 16 | Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            guard length >= 0, index + 12 + length <= bytes.count else { return nil }
            let type = String(decoding: bytes[index + 4..<index + 8], as: UTF8.self)
            let end = index + 12 + length
            if !dropped.contains(type) { out += bytes[index..<end] }
            index = end
            if type == "IEND" { return out }
        }
        return nil
    }
}
