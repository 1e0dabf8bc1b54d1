import Foundation
import NIOPosix

/// Turns a service's host name into addresses for `HTTP2Client`. The client asks at start and
/// again whenever a connection of that service is replaced after a GOAWAY or a failure; new
/// addresses join the pool and addresses that left the answer leave it (their connections drain).
/// Never called for IP literals. Inject your own (service discovery, tests); the default is
/// `SystemResolver`.
public protocol HTTP2Resolver: Sendable {
    /// Numeric addresses (`10.0.0.7`, `::1`) of `host`, in preference order. Throw (ideally a
    /// `ConnectFailure` of kind `.dns`) when the name does not resolve.
    func resolve(host: String, port: Int) async throws -> [String]
}

/// The system's resolver (`getaddrinfo`: /etc/hosts, DNS, nsswitch), run on NIO's thread pool so
/// neither the caller nor an event loop blocks.
public struct SystemResolver: HTTP2Resolver {
    /// The system resolver.
    public init() {}

    /// `getaddrinfo(host, port)`'s numeric addresses, in its order; `.dns` failure when it has none.
    public func resolve(host: String, port: Int) async throws -> [String] {
        try await NIOThreadPool.singleton.runIfActive { try Self.getaddrinfo(host: host, port: port) }
    }

    /// Blocking.
    static func getaddrinfo(host: String, port: Int) throws -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = Glibc.getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            let reason = rc == 0 ? "no address" : String(cString: gai_strerror(rc)).lowercased()
            throw ConnectFailure(.dns, "DNS failure: cannot resolve \(host) (\(reason))")
        }
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
        guard !seen.isEmpty else { throw ConnectFailure(.dns, "DNS failure: cannot resolve \(host) (no address)") }
        return seen
    }
}
