import Foundation

/// The site's own pages that an agency writes and people look for: how to reach it, its accessibility statement and
/// its privacy notice.
public enum SitePage: String, Sendable, CaseIterable {
    case contact
    case accessibility
    case privacy
}

/// The plain text admins write those pages in, shown as safe HTML: a blank line between paragraphs, `## ` starts a
/// heading, `- ` a list item, and `[words](address)` is a link to a page of this site, `https:`, `mailto:` or `tel:`.
/// Nothing else is markup: every other character is shown as typed.
public enum SiteText {
    public static let maximumLength = 20_000

    /// Why a text cannot be saved, or nil.
    public static func problem(in text: String) -> String? {
        if let problem = ExternalText.problem(in: text) { return "The text \(problem)." }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return "Write the page; it cannot be empty." }
        if text.unicodeScalars.count > maximumLength { return "The text is longer than \(maximumLength) characters." }
        return nil
    }

    /// The text as HTML, every character escaped but for the few forms above. Headings are `h2`.
    public static func html(_ text: String) -> String {
        var out = ""
        var paragraph: [String] = []
        var items: [String] = []
        func flushParagraph() {
            if !paragraph.isEmpty { out += "<p>" + paragraph.map(inline).joined(separator: "<br>") + "</p>\n" }
            paragraph = []
        }
        func flushList() {
            if !items.isEmpty { out += "<ul>" + items.map { "<li>" + inline($0) + "</li>" }.joined() + "</ul>\n" }
            items = []
        }
        for raw in text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty {
                flushParagraph()
                flushList()
            } else if line.hasPrefix("## ") {
                flushParagraph()
                flushList()
                out += "<h2>" + inline(String(line.dropFirst(3))) + "</h2>\n"
            } else if line.hasPrefix("- ") {
                flushParagraph()
                items.append(String(line.dropFirst(2)))
            } else {
                flushList()
                paragraph.append(line)
            }
        }
        flushParagraph()
        flushList()
        return out
    }

    /// One line: links made, the rest escaped.
    static func inline(_ line: String) -> String {
        var out = ""
        var rest = Substring(line)
        while let open = rest.firstIndex(of: "["), let close = rest[open...].firstIndex(of: "]"),
            rest.index(after: close) < rest.endIndex, rest[rest.index(after: close)] == "(",
            let end = rest[close...].firstIndex(of: ")")
        {
            let words = rest[rest.index(after: open)..<close]
            let address = String(rest[rest.index(close, offsetBy: 2)..<end]).trimmingCharacters(in: .whitespaces)
            out += escape(String(rest[..<open]))
            if isSafe(address), !words.isEmpty {
                out += "<a href=\"\(escape(address))\">\(escape(String(words)))</a>"
            } else {
                out += escape(String(rest[open...end]))
            }
            rest = rest[rest.index(after: end)...]
        }
        return out + escape(String(rest))
    }

    /// A link may lead to this site, to another over HTTPS, to an email address or to a phone number; nothing that
    /// runs (`javascript:`) or leaves HTTPS.
    static func isSafe(_ address: String) -> Bool {
        if address.hasPrefix("/") { return !address.hasPrefix("//") }
        let lower = address.lowercased()
        return ["https://", "mailto:", "tel:"].contains { lower.hasPrefix($0) } && !address.contains(where: \.isWhitespace)
    }

    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
