import Foundation

/// One place a logical service can be reached: scheme, host, port (and, for a host with several
/// addresses, one address of it). `http` means h2c with prior knowledge, `https` TLS with ALPN h2.
public struct HTTP2Endpoint: Sendable, Hashable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int
    /// Connect to this address instead of resolving `host` (set when a host name is expanded).
    public var address: String?
    /// For an endpoint expanded from a host name: its position among the host's addresses. Each new
    /// connection (the replacement after a GOAWAY included) resolves the host again and takes the
    /// address at this position, so a service that moved is followed while connections stay spread.
    public var addressSlot: Int?

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

    public var isTLS: Bool { scheme == "https" }

    /// `host:port` as `:authority` carries it (default ports omitted, IPv6 in brackets).
    public var authority: String {
        let h = host.contains(":") ? "[\(host)]" : host
        if (scheme == "http" && port == 80) || (scheme == "https" && port == 443) { return h }
        return "\(h):\(port)"
    }

    /// `host:port` (IPv6 in brackets), plus the address when the host name was expanded: how
    /// error messages name it.
    public var target: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(h):\(port)" + (address.map { " (\($0))" } ?? "")
    }

    public var description: String { "\(scheme)://\(authority)" + (address.map { " (\($0))" } ?? "") }

    /// The path and query of a URL, `/` when empty.
    public static func pathAndQuery(of url: String) -> String {
        guard let c = URLComponents(string: url) else { return "/" }
        var p = c.percentEncodedPath.isEmpty ? "/" : c.percentEncodedPath
        if let q = c.percentEncodedQuery { p += "?" + q }
        return p
    }

    /// Expands a host name into one endpoint per resolved address (IPv4 and IPv6), so the pool can
    /// spread connections and keep working when one address drains. Literal addresses stay as they are.
    public func resolved() -> [HTTP2Endpoint] {
        if address != nil || isLiteral { return [self] }
        let addresses = resolveAddresses()
        if addresses.count <= 1 { return [self] }
        return addresses.enumerated().map { i, a in
            var e = HTTP2Endpoint(scheme: scheme, host: host, port: port, address: a)
            e.addressSlot = i
            return e
        }
    }

    /// The host is an IP literal (IPv4 or IPv6, by `inet_pton`): no DNS lookup, no SNI.
    public var isLiteral: Bool { Self.isIPLiteral(host) }

    static func isIPLiteral(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// The address a new connection should use: for an expanded host, a fresh resolution's address
    /// at `addressSlot` (wrapping when the host now has fewer), else the pinned address.
    static func pick(slot: Int?, pinned: String?, fresh: [String]) -> String? {
        guard let slot, !fresh.isEmpty else { return pinned }
        return fresh[slot % fresh.count]
    }

    /// Numeric addresses of `host` (blocking getaddrinfo: call off the event loop).
    public func resolveAddresses() -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var seen: [String] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            var buf = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(ai.pointee.ai_addr, ai.pointee.ai_addrlen, &buf, socklen_t(buf.count), nil, 0, NI_NUMERICHOST) == 0 {
                let a = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !seen.contains(a) { seen.append(a) }
            }
            p = ai.pointee.ai_next
        }
        return seen
    }
}
