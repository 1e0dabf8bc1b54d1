import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// Why a connection could not be established, in its own words: a kind to switch on and one line
/// for people (no type names, no source paths, no `file:line`).
public struct ConnectFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure; compare with the static members. Kinds may be added.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable {
            case refused, dns, tls, certificateNotTrusted, notHTTP2, alpn, timeout, closed, unreachable, other
        }
        let base: Base
        /// Nothing listens on the address (ECONNREFUSED).
        public static let refused = Kind(base: .refused)
        /// The host name did not resolve.
        public static let dns = Kind(base: .dns)
        /// The TLS handshake failed (other than an untrusted certificate).
        public static let tls = Kind(base: .tls)
        /// The server's certificate is not trusted (add a trust root, or skip verification in tests).
        public static let certificateNotTrusted = Kind(base: .certificateNotTrusted)
        /// The server answered in HTTP/1.x (or TLS on an `http://` URL): it does not speak h2 there.
        public static let notHTTP2 = Kind(base: .notHTTP2)
        /// TLS worked but ALPN did not select `h2`.
        public static let alpn = Kind(base: .alpn)
        /// No TCP connection, or no SETTINGS, within the connect timeout.
        public static let timeout = Kind(base: .timeout)
        /// The server closed the connection before its first SETTINGS.
        public static let closed = Kind(base: .closed)
        /// No route to the host / network unreachable.
        public static let unreachable = Kind(base: .unreachable)
        /// Anything else (the message says what).
        public static let other = Kind(base: .other)
        /// The kind's name, e.g. `refused`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure; switch on it.
    public var kind: Kind
    /// One line, e.g. `connection refused (127.0.0.1:1)`.
    public var message: String

    /// A failure of `kind` with its one-line `message`.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `message`.
    public var description: String { message }

    /// Names the cause of a failed connect (`target`: `host:port` as the user wrote it, plus the
    /// address when it differs).
    static func classify(_ error: any Error, target: String, host: String) -> ConnectFailure {
        if let failure = error as? ConnectFailure { return failure }
        if let e = error as? NIOConnectionError {
            if let first = e.connectionErrors.first { return classify(first.error, target: target, host: host) }
            return ConnectFailure(.dns, "DNS failure: cannot resolve \(host)")
        }
        if error is SocketAddressError { return ConnectFailure(.dns, "DNS failure: cannot resolve \(host)") }
        if let e = error as? IOError {
            switch e.errnoCode {
            case ECONNREFUSED: return ConnectFailure(.refused, "connection refused (\(target))")
            case ETIMEDOUT: return ConnectFailure(.timeout, "connect timeout (\(target))")
            case EHOSTUNREACH, ENETUNREACH: return ConnectFailure(.unreachable, "no route to \(target) (\(errnoText(e.errnoCode)))")
            case ECONNRESET, EPIPE: return ConnectFailure(.closed, "the server reset the connection (\(target))")
            default: return ConnectFailure(.other, "cannot connect to \(target): \(errnoText(e.errnoCode))")
            }
        }
        if let e = error as? ChannelError, case .connectTimeout(let t) = e {
            return ConnectFailure(.timeout, "connect timeout: no TCP connection to \(target) within \(Duration.nanoseconds(t.nanoseconds))")
        }
        if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
            return ConnectFailure(.certificateNotTrusted, "TLS handshake failed: the server's certificate is not valid for \(host) (use --cacert FILE or --insecure)")
        }
        if let e = error as? NIOSSLError {
            switch e {
            case .handshakeFailed(let inner):
                let reasons = tlsReasons("\(inner)")
                if reasons.contains("CERTIFICATE_VERIFY_FAILED") {
                    return ConnectFailure(.certificateNotTrusted, "TLS handshake failed: the server's certificate is not trusted (use --cacert FILE or --insecure)")
                }
                if reasons.contains("WRONG_VERSION_NUMBER") || reasons.contains("HTTP_REQUEST") {
                    return ConnectFailure(.tls, "TLS handshake failed: \(target) does not speak TLS (try http://)")
                }
                let why = reasons.first.map { $0.lowercased().replacingOccurrences(of: "_", with: " ") } ?? "\(inner)".prefix(40).description
                return ConnectFailure(.tls, "TLS handshake failed with \(target): \(why)")
            case .uncleanShutdown:
                return ConnectFailure(.tls, "TLS handshake failed: \(target) closed the connection")
            default:
                return ConnectFailure(.tls, "TLS failure with \(target): \(e)")
            }
        }
        if let e = error as? BoringSSLError {
            return classify(NIOSSLError.handshakeFailed(e), target: target, host: host)
        }
        return ConnectFailure(.other, "cannot connect to \(target): \(String(describing: error).prefix(120))")
    }

    /// BoringSSL's reason names (`CERTIFICATE_VERIFY_FAILED`) from an error stack's text.
    static func tlsReasons(_ text: String) -> [String] {
        var out: [String] = []
        var rest = Substring(text)
        while let r = rest.range(of: "OPENSSL_internal:") {
            let tail = rest[r.upperBound...]
            let name = tail.prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
            if !name.isEmpty { out.append(String(name)) }
            rest = tail
        }
        return out
    }

    /// Drops what only a developer of swift-nio could use from an error's text: `(file: "…",
    /// line: N)` and ` at /path/file.cc:123`.
    static func sanitize(_ text: String) -> String {
        var out = text
        while let open = out.range(of: "(file: "), let close = out[open.upperBound...].firstIndex(of: ")") {
            out.removeSubrange(open.lowerBound...close)
        }
        while let at = out.range(of: " at /") {
            let end = out[at.upperBound...].firstIndex(where: { $0 == " " || $0 == "," || $0 == "]" || $0 == ")" }) ?? out.endIndex
            out.removeSubrange(at.lowerBound..<end)
        }
        return out
    }

    static func errnoText(_ code: Int32) -> String { String(cString: strerror(code)).lowercased() }
}

/// Sits in front of `NIOHTTP2Handler` (after TLS) until the first bytes arrive, and names what a
/// plain HTTP/2 stack cannot: an HTTP/1.x reply to our preface ("does not speak HTTP/2"), a TLS
/// reply on an `http://` URL, an ALPN that did not pick h2, a TLS handshake error. It reports the
/// cause to the pool's shell (which keeps it for the connection's failed requests) and closes.
final class ConnectSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let target: String
    let host: String
    let report: @Sendable (ConnectFailure) -> Void
    private var seen = false

    init(target: String, host: String, report: @escaping @Sendable (ConnectFailure) -> Void) {
        self.target = target
        self.host = host
        self.report = report
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if !seen {
            seen = true
            if let failure = Self.judgeFirstBytes(buffer, target: target) {
                report(failure)
                context.close(promise: nil)
                return
            }
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted(let proto) = tls, proto != "h2" {
            report(ConnectFailure(.alpn, "ALPN did not select h2: \(target) " + (proto.map { "chose \($0)" } ?? "negotiated no protocol")
                + " (the server does not offer HTTP/2 over TLS)"))
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError {
            report(ConnectFailure.classify(error, target: target, host: host))
        }
        context.fireErrorCaught(error)
    }

    /// `nil` when the bytes may be HTTP/2: a server's preface is a SETTINGS frame (RFC 9113 §3.4),
    /// so its fourth byte is a frame type (0x4). Text there is an HTTP/1 server.
    static func judgeFirstBytes(_ buffer: ByteBuffer, target: String) -> ConnectFailure? {
        let head = buffer.getBytes(at: buffer.readerIndex, length: min(buffer.readableBytes, 32)) ?? []
        if head.starts(with: Array("HTTP/1.".utf8)) {
            let version = String(decoding: head.prefix(8), as: UTF8.self)
            return ConnectFailure(.notHTTP2, "the server does not speak HTTP/2 (it answered \(version))")
        }
        if head.count >= 3, head[0] == 0x15 || head[0] == 0x16, head[1] == 0x03 {
            return ConnectFailure(.notHTTP2, "the server answered with TLS: use https:// for \(target)")
        }
        // A known frame type (0x0-0x9): HTTP/2, even if not the SETTINGS it must start with;
        // swift-nio-http2 judges the rest. Binary garbage is its connection error too.
        guard head.count >= 8, head[3] > 0x09 else { return nil }
        let text = head.prefix { $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || (0x20..<0x7F).contains($0) }
        guard text.count >= 8 else { return nil }
        let line = String(decoding: text.prefix { $0 != 0x0A && $0 != 0x0D }.prefix(40), as: UTF8.self)
        return ConnectFailure(.notHTTP2, "the server does not speak HTTP/2 (it answered in HTTP/1: \"\(line)\")")
    }
}
