import CivitasCore
import Foundation
import NIOCore
import NIOPosix
import Synchronization

public struct SMTPConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var heloName: String
    /// Limit for the whole exchange, from connect to QUIT.
    public var timeout: Duration

    public init(host: String, port: Int = 25, heloName: String = "civitas.local", timeout: Duration = .seconds(15)) {
        self.host = host
        self.port = port
        self.heloName = heloName
        self.timeout = timeout
    }
}

/// Failure to deliver; `permanent` when the server answered 5xx (do not retry), else transient (retry later).
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    public var permanent: Bool
    /// What failed, e.g. "RCPT TO answered 550 ..."; never contains the message body.
    public var description: String

    public init(permanent: Bool, description: String) {
        self.permanent = permanent
        self.description = description
    }
}

/// Minimal plain-SMTP client (no TLS, no AUTH) for a local relay.
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration

    public init(configuration: SMTPConfiguration) {
        self.configuration = configuration
    }

    /// Connects, EHLO (HELO if EHLO gets 5xx), MAIL FROM, RCPT TO, DATA, the dot-stuffed message, QUIT.
    /// The connection is closed in every case. Once the server has accepted the message, later failures are ignored.
    public func send(_ message: MailMessage) async throws {
        let checks: [(String, String)] =
            [("sender", message.from), ("recipient", message.to), ("HELO name", configuration.heloName)]
            + (message.listUnsubscribe.map { [("List-Unsubscribe", $0)] } ?? [])
        for (what, value) in checks where value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == 60 || $0 == 62 }) {
            throw SMTPError(permanent: true, description: "invalid \(what): contains CR, LF, control character, '<' or '>'")
        }
        if message.to.isEmpty { throw SMTPError(permanent: true, description: "invalid recipient: empty") }
        let delivered = DeliveryFlag()
        let timeout = configuration.timeout
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.exchange(message, delivered: delivered) }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw SMTPError(permanent: false, description: "SMTP exchange timed out after \(timeout)")
                }
                _ = try await group.next()
                group.cancelAll()
            }
        } catch {
            if delivered.value.load(ordering: .acquiring) { return }
            if let error = error as? SMTPError { throw error }
            let target = "\(configuration.host):\(configuration.port)"
            throw SMTPError(permanent: false, description: "SMTP delivery to \(target) failed: \(error)")
        }
    }

    private func exchange(_ message: MailMessage, delivered: DeliveryFlag) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(TimeAmount(configuration.timeout))
            .connect(host: configuration.host, port: configuration.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let helo = configuration.heloName
        let data = Self.dotStuffed(message.rendered(messageID: UUID().uuidString.lowercased()))
        try await channel.executeThenClose { inbound, outbound in
            var session = Session(reader: ReplyReader(iterator: inbound.makeAsyncIterator()), outbound: outbound)
            do {
                try await session.step("greeting", send: nil, expect: 220...220)
                let ehlo = try await session.roundTrip("EHLO \(helo)")
                if (500...599).contains(ehlo.code) {
                    try await session.step("HELO", send: "HELO \(helo)", expect: 250...250)
                } else if ehlo.code != 250 {
                    throw SMTPError(permanent: false, description: "EHLO answered \(ehlo.code) \(ehlo.text)")
                }
                try await session.step("MAIL FROM", send: "MAIL FROM:<\(message.from)>", expect: 200...299)
                try await session.step("RCPT TO", send: "RCPT TO:<\(message.to)>", expect: 200...299)
                try await session.step("DATA", send: "DATA", expect: 354...354)
                try await outbound.write(data)
                try await session.step("end of DATA", send: nil, expect: 200...299)
            } catch {
                try? await outbound.write(ByteBuffer(string: "QUIT\r\n"))
                throw error
            }
            delivered.value.store(true, ordering: .releasing)
            _ = try? await session.roundTrip("QUIT")
        }
    }

    /// Dot-stuffs the message (RFC 5321 §4.5.2) and appends the terminating CRLF.CRLF.
    static func dotStuffed(_ text: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(text.utf8.count + 64)
        var atLineStart = true
        for byte in text.utf8 {
            if atLineStart && byte == UInt8(ascii: ".") { buffer.writeInteger(byte) }
            buffer.writeInteger(byte)
            atLineStart = byte == 10
        }
        if !atLineStart { buffer.writeString("\r\n") }
        buffer.writeString(".\r\n")
        return buffer
    }
}

/// Set once the server has accepted the message, so late failures (QUIT, timeout) are not reported.
private final class DeliveryFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// Command/reply turns over one connection.
private struct Session {
    var reader: ReplyReader
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>

    mutating func roundTrip(_ command: String?) async throws -> (code: Int, text: String) {
        if let command { try await outbound.write(ByteBuffer(string: command + "\r\n")) }
        return try await reader.readReply()
    }

    /// Sends `command` (if any) and throws unless the reply code is in `expect`; 5xx failures are permanent.
    mutating func step(_ what: String, send command: String?, expect: ClosedRange<Int>) async throws {
        let reply = try await roundTrip(command)
        guard expect.contains(reply.code) else {
            throw SMTPError(permanent: reply.code >= 500, description: "\(what) answered \(reply.code) \(reply.text)")
        }
    }
}

/// Reads SMTP replies, splitting lines on CRLF however TCP chunks arrive.
private struct ReplyReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var pending: [UInt8] = []

    mutating func readLine() async throws -> String {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                var line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.last == 13 { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard pending.count < 65_536 else {
                throw SMTPError(permanent: false, description: "SMTP reply line too long")
            }
            guard let chunk = try await iterator.next() else {
                throw SMTPError(permanent: false, description: "SMTP server closed the connection")
            }
            pending.append(contentsOf: chunk.readableBytesView)
        }
    }

    /// One possibly multi-line reply ("250-..." lines until "250 ...").
    mutating func readReply() async throws -> (code: Int, text: String) {
        var texts: [String] = []
        while true {
            let line = try await readLine()
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, bytes[..<3].allSatisfy({ (48...57).contains($0) }), let code = Int(line.prefix(3)),
                (200...599).contains(code), bytes.count == 3 || bytes[3] == 32 || bytes[3] == 45
            else {
                throw SMTPError(permanent: false, description: "malformed SMTP reply: \(line.prefix(120))")
            }
            texts.append(String(line.dropFirst(4)))
            if bytes.count == 3 || bytes[3] == 32 {
                return (code, String(texts.joined(separator: " ").prefix(300)))
            }
        }
    }
}
