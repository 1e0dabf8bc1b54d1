import Foundation

/// One place a logical service can be reached: scheme, host, port (and, for a host with several
/// addresses, one address of it). `http` means h2c with prior knowledge, `https` TLS with ALPN h2.
public struct HTTP2Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http` (h2c, prior knowledge) or `https` (TLS, ALPN h2).
    public var scheme: String
    /// Host name or IP literal (IPv6 without brackets); `:authority` and SNI use it.
    public var host: String
    /// TCP port, 1–65535.
    public var port: Int
    /// The address connections use, for an endpoint the client made from a host name's DNS answer
    /// (`HTTP2Resolver`); `nil` for the URL itself. TLS still sends `host` as SNI.
    public var address: String?

    /// An endpoint as given; no checks (see `init(url:)` for a checked one).
    public init(scheme: String, host: String, port: Int, address: String? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.address = address
    }

    /// Parses `http://host:port` / `https://[::1]:8443/...` (the path is ignored).
    public init(url: String) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", var host = components.host, !host.isEmpty
        else {
            throw HTTP2ClientError(.invalidRequest, detail: "not an http:// or https:// URL: \(url)")
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else {
            throw HTTP2ClientError(.invalidRequest, detail: "port \(port) is out of range (1-65535) in \(url)")
        }
        self.init(scheme: scheme, host: host, port: port)
    }

    /// Whether connections use TLS (`https`).
    public var isTLS: Bool { scheme == "https" }

    /// `host:port` as `:authority` carries it (default ports omitted, IPv6 in brackets).
    public var authority: String {
        let h = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
        if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) { return h }
        return "\(h):\(port)"
    }

    /// `host:port` (IPv6 in brackets), plus the address when the host name was expanded: how
    /// error messages name it.
    public var target: String {
        let h = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
        return "\(h):\(port)" + (address.map { " (\($0))" } ?? "")
    }

    /// `scheme://authority`, plus the address when the host name was expanded.
    public var description: String { "\(scheme)://\(authority)" + (address.map { " (\($0))" } ?? "") }

    /// The path and query of a URL, `/` when empty.
    public static func pathAndQuery(of url: String) -> String {
        guard let c = URLComponents(string: url) else { return "/" }
        var p = c.percentEncodedPath.isEmpty ? "/" : c.percentEncodedPath
        if let q = c.percentEncodedQuery { p += "?" + q }
        return p
    }

    /// The host is an IP literal (IPv4 or IPv6, by `inet_pton`): no DNS lookup, no SNI.
    public var isLiteral: Bool { Self.isIPLiteral(host) }

    static func isIPLiteral(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}
