import CivitasCore
import Foundation
import MultipartKit
import NIOCore

/// An uploaded file from a multipart form.
struct UploadedFile: Sendable {
    var filename: String
    var contentType: String?
    var bytes: [UInt8]
}

/// The fields of a submitted form, from `application/x-www-form-urlencoded` or `multipart/form-data`.
struct FormBody: Sendable {
    var fields: [(String, String)] = []
    var files: [String: UploadedFile] = [:]
    /// Every file, in order, several per name when a form field takes several.
    var uploads: [(name: String, file: UploadedFile)] = []

    /// Decodes `a=1&b=2` with `+` as space and percent escapes, keys included (`attribute%5Bx%5D`). A name or value
    /// that breaks `ExternalText`'s rule (a NUL, an escape that is not UTF-8) is refused, naming the field.
    static func urlEncoded(_ text: String) throws(Failure) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = try decode(parts[0], what: "A field name")
            let value = parts.count > 1 ? try decode(parts[1], what: "The field \(name)") : ""
            pairs.append((name, value))
        }
        return pairs
    }

    private static func decode(_ part: Substring, what: String) throws(Failure) -> String {
        switch ExternalText.decode(part, form: true) {
        case .success(let text): return text
        case .failure(let refusal): throw .malformed("\(what) \(refusal.reason).")
        }
    }

    enum Failure: Error {
        case malformed(String)

        var message: String {
            switch self {
            case .malformed(let message): message
            }
        }
    }

    /// Parses a body according to its content type. Types other than the two form types are refused.
    static func parse(contentType: String?, body: ByteBuffer) throws -> FormBody {
        let type = (contentType ?? "").lowercased()
        if type.hasPrefix("multipart/form-data") {
            guard let boundary = Self.parameter("boundary", in: contentType ?? "") else {
                throw Failure.malformed("The multipart body has no boundary.")
            }
            return try multipart(body, boundary: boundary)
        }
        if type.isEmpty || type.hasPrefix("application/x-www-form-urlencoded") || type.hasPrefix("text/plain") {
            return FormBody(fields: try urlEncoded(String(buffer: body)))
        }
        throw Failure.malformed("Send the request as application/x-www-form-urlencoded or multipart/form-data.")
    }

    private static func multipart(_ body: ByteBuffer, boundary: String) throws -> FormBody {
        let parser = MultipartParser(boundary: boundary)
        var form = FormBody()
        var headers: [String: String] = [:]
        var data: [UInt8] = []
        parser.onHeader = { name, value in headers[name.lowercased()] = value }
        parser.onBody = { buffer in data += buffer.readBytes(length: buffer.readableBytes) ?? [] }
        parser.onPartComplete = {
            let disposition = headers["content-disposition"] ?? ""
            if let name = Self.parameter("name", in: disposition) {
                if let filename = Self.parameter("filename", in: disposition) {
                    if !data.isEmpty {
                        let file = UploadedFile(filename: filename, contentType: headers["content-type"], bytes: data)
                        form.files[name] = file
                        form.uploads.append((name, file))
                    }
                } else {
                    form.fields.append((name, String(decoding: data, as: UTF8.self)))
                }
            }
            headers = [:]
            data = []
        }
        do {
            try parser.execute(body)
        } catch {
            throw Failure.malformed("The multipart body could not be read.")
        }
        for (name, value) in form.fields + form.uploads.map({ ($0.name, $0.file.filename) }) {
            if let problem = ExternalText.problem(in: name) ?? ExternalText.problem(in: value) {
                throw Failure.malformed("The field \(name) \(problem).")
            }
        }
        return form
    }

    /// Reads `name=value` or `name="value"` from a header such as Content-Disposition.
    static func parameter(_ name: String, in header: String) -> String? {
        for piece in header.split(separator: ";") {
            let trimmed = piece.trimmingCharacters(in: .whitespaces)
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            guard trimmed[..<equals].lowercased() == name else { continue }
            var value = String(trimmed[trimmed.index(after: equals)...])
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value
        }
        return nil
    }
}
