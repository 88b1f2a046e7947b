import Foundation

/// One mail message, plain text UTF-8.
public struct MailMessage: Sendable, Equatable {
    public var from: String
    public var fromName: String?
    public var to: String
    public var subject: String
    public var body: String
    public var listUnsubscribe: String?

    public init(
        from: String, fromName: String? = nil, to: String, subject: String, body: String,
        listUnsubscribe: String? = nil
    ) {
        self.from = from
        self.fromName = fromName
        self.to = to
        self.subject = subject
        self.body = body
        self.listUnsubscribe = listUnsubscribe
    }

    /// The RFC 5322 message as sent in DATA: CRLF line endings, quoted-printable body, not yet dot-stuffed.
    /// `messageID` without an "@" gets "@" plus the sender's domain appended.
    public func rendered(date: Date = Date(), messageID: String) -> String {
        let domain = from.lastIndex(of: "@").map { String(from[from.index(after: $0)...]) } ?? ""
        var id = Self.sanitized(messageID).filter { $0 != " " }
        if !id.contains("@") { id += "@" + (domain.isEmpty ? "localhost" : Self.sanitized(domain)) }
        let address = "<\(Self.sanitized(from))>"
        var sender = address
        if let name = fromName, !name.isEmpty {
            let phrase =
                Self.isPlainASCII(name)
                ? "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
                : Self.encodedWords(name)
            sender = phrase + " " + address
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        var lines = [
            "Date: " + formatter.string(from: date),
            "From: " + sender,
            "To: " + Self.sanitized(to),
            "Subject: " + (Self.isPlainASCII(subject) && subject.utf8.count < 900 ? subject : Self.encodedWords(subject)),
            "Message-ID: <\(id)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
        ]
        if let url = listUnsubscribe { lines.append("List-Unsubscribe: <\(Self.sanitized(url))>") }
        lines.append("")
        lines.append(contentsOf: Self.quotedPrintable(body))
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// Drops control characters and angle brackets so a value cannot break out of its header.
    static func sanitized(_ value: String) -> String {
        String(decoding: value.utf8.filter { $0 >= 0x20 && $0 != 0x7F && $0 != 60 && $0 != 62 }, as: UTF8.self)
    }

    static func isPlainASCII(_ value: String) -> Bool {
        value.utf8.allSatisfy { (0x20...0x7E).contains($0) }
    }

    /// RFC 2047 B-encoded words of at most 39 input bytes each (never splitting a scalar), folded with CRLF SP.
    static func encodedWords(_ text: String) -> String {
        var words: [String] = []
        var chunk: [UInt8] = []
        func flush() {
            words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
            chunk = []
        }
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 39 { flush() }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { flush() }
        return words.joined(separator: "\r\n ")
    }

    /// RFC 2045 quoted-printable, one output line per input line, soft-broken so no line exceeds 76 characters.
    static func quotedPrintable(_ text: String) -> [String] {
        let hex = Array("0123456789ABCDEF".utf8)
        var input = Array(text.utf8).split(separator: 10, omittingEmptySubsequences: false)
        if input.count > 1, input.last?.isEmpty == true { input.removeLast() }
        var out: [String] = []
        for raw in input {
            let bytes = raw.last == 13 ? raw.dropLast() : raw
            var line: [UInt8] = []
            for (offset, byte) in bytes.enumerated() {
                let isLast = offset == bytes.count - 1
                let literal = (33...126).contains(byte) && byte != 61 || (byte == 32 || byte == 9) && !isLast
                let token = literal ? [byte] : [61, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                if line.count + token.count > 75 {
                    out.append(String(decoding: line + [61], as: UTF8.self))
                    line = []
                }
                line += token
            }
            out.append(String(decoding: line, as: UTF8.self))
        }
        return out
    }
}
