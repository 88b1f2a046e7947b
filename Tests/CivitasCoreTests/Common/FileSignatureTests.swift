import Testing

@testable import CivitasCore

@Suite("File signatures: uploads are known by their first bytes")
struct FileSignatureTests {
    static let pdf = Array("%PDF-1.7\n".utf8)
    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]
    static let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00]
    static let gif = Array("GIF89a....".utf8)
    static let webp = Array("RIFF".utf8) + [0x24, 0, 0, 0] + Array("WEBPVP8 ".utf8)

    @Test("each accepted format is recognised, whatever the file is called")
    func formats() {
        #expect(FileSignature.contentType(of: Self.pdf) == "application/pdf")
        #expect(FileSignature.contentType(of: Self.jpeg) == "image/jpeg")
        #expect(FileSignature.contentType(of: Self.png) == "image/png")
        #expect(FileSignature.contentType(of: Self.gif) == "image/gif")
        #expect(FileSignature.contentType(of: Self.webp) == "image/webp")
    }

    @Test("a PDF is a document but not a photo; text, HTML and truncated headers are neither")
    func refusals() {
        #expect(FileSignature.imageType(of: Self.pdf) == nil)
        #expect(FileSignature.imageType(of: Self.png) == "image/png")
        #expect(FileSignature.contentType(of: Array("<html><script>".utf8)) == nil)
        #expect(FileSignature.contentType(of: [0xFF, 0xD8]) == nil)
        #expect(FileSignature.contentType(of: Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WAVE".utf8)) == nil)
        #expect(FileSignature.contentType(of: []) == nil)
    }
}
