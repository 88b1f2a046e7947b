import Foundation

/// Where a browser says a form was posted from: `Origin`, or failing that `Referer`. A state-changing form from another
/// site is refused even when it carries a valid CSRF token, as a second line behind the token. A request with neither
/// header (a client that is not a browser, or a privacy setting that strips both) is left to the token alone.
enum FormOrigin {
    /// True when the claimed origin is this site: the configured public address, or the host the request came to.
    /// `Origin: null` (a sandboxed frame, a file, a cross-site redirect) is never this site.
    static func isThisSite(origin: String?, referer: String?, publicURL: String, authority: String?) -> Bool {
        guard let claimed = origin ?? referer else { return true }
        guard let site = Endpoint(claimed) else { return false }
        if let configured = Endpoint(publicURL), configured == site { return true }
        guard let authority, let asked = Endpoint("\(site.scheme)://\(authority)") else { return false }
        return asked == site
    }

    /// A scheme, host and port, as browsers compare origins.
    struct Endpoint: Equatable {
        var scheme: String
        var host: String
        var port: Int

        init?(_ text: String) {
            guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", var host = components.host?.lowercased(), !host.isEmpty
            else { return nil }
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            self.scheme = scheme
            self.host = host
            self.port = components.port ?? (scheme == "https" ? 443 : 80)
        }
    }
}
