import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whether an address a partner's webhook points at is out on the internet, or inside: this machine, the agency's
/// private network, link-local (cloud metadata services live at 169.254.169.254), multicast or unspecified.
/// Deliveries leave from inside the agency's network, so only public addresses may receive them unless the operator
/// allows otherwise.
public enum NetworkAddress {
    /// The address in network byte order: 4 bytes (IPv4) or 16 (IPv6).
    public static func isPublic(_ bytes: [UInt8]) -> Bool {
        switch bytes.count {
        case 4:
            let (a, b) = (bytes[0], bytes[1])
            if a == 0 || a == 10 || a == 127 || a >= 224 { return false }  // this network, private, loopback, multicast and reserved
            if a == 169 && b == 254 { return false }  // link-local
            if a == 172 && (16...31).contains(b) { return false }
            if a == 192 && b == 168 { return false }
            if a == 100 && (64...127).contains(b) { return false }  // carrier-grade NAT
            if a == 192 && b == 0 && bytes[2] == 0 { return false }  // IETF protocol assignments
            if a == 198 && (18...19).contains(b) { return false }  // benchmarking
            return true
        case 16:
            // ::ffff:a.b.c.d
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff { return isPublic(Array(bytes[12..<16])) }
            if bytes[0..<12].allSatisfy({ $0 == 0 }) { return false }  // ::, ::1 and the old IPv4-compatible form
            if bytes[0] & 0xfe == 0xfc { return false }  // unique local fc00::/7
            if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return false }  // link-local fe80::/10
            if bytes[0] == 0xff { return false }  // multicast
            if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff && bytes[3] == 0x9b { return false }  // NAT64 64:ff9b::/96 wraps IPv4
            if bytes[0] == 0x20 && bytes[1] == 0x02 { return isPublic(Array(bytes[2..<6])) }  // 6to4 wraps an IPv4 address
            return true
        default:
            return false
        }
    }

    /// The addresses a host name or literal stands for, as the system resolver answers (numeric forms such as
    /// `2130706433` or `0x7f.1` included, as every HTTP client reads them). Runs the blocking resolver call off the
    /// caller's thread.
    public static func resolve(_ host: String) async -> [[UInt8]] {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: lookUp(host, numericOnly: false)) }
        }
    }

    /// The address a literal stands for (`127.0.0.1`, `[::1]`, `2130706433`), without any lookup; none for a name.
    public static func literal(_ host: String) -> [[UInt8]] {
        lookUp(host, numericOnly: true)
    }

    static func lookUp(_ host: String, numericOnly: Bool) -> [[UInt8]] {
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        if numericOnly { hints.ai_flags = AI_NUMERICHOST }
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var found: [[UInt8]] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            if let address = entry.pointee.ai_addr {
                switch Int32(entry.pointee.ai_family) {
                case AF_INET:
                    address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                        var raw = pointer.pointee.sin_addr
                        found.append(withUnsafeBytes(of: &raw) { Array($0) })
                    }
                case AF_INET6:
                    address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        var raw = pointer.pointee.sin6_addr
                        found.append(withUnsafeBytes(of: &raw) { Array($0) })
                    }
                default: break
                }
            }
            next = entry.pointee.ai_next
        }
        return found
    }
}
