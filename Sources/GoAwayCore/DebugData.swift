/// GOAWAY debug data (RFC 9113 §6.8): opaque diagnostic bytes that may carry sensitive details
/// (internal host names, tokens, stack traces). Shown redacted unless the user opts in.
public struct GoAwayDebugData: Hashable, Sendable, CustomStringConvertible {
    /// The bytes as received.
    public var bytes: [UInt8]
    /// Debug data of these bytes.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    /// Debug data of this text's UTF-8 bytes.
    public init(_ text: String) { self.bytes = Array(text.utf8) }

    /// Whether the GOAWAY carried no debug data.
    public var isEmpty: Bool { bytes.isEmpty }

    /// The bytes as text, with non-printable bytes escaped (`\x00`).
    public var unredacted: String {
        var out = ""
        for b in bytes {
            if b >= 0x20 && b < 0x7f { out.unicodeScalars.append(Unicode.Scalar(b)) } else {
                out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return out
    }

    /// Safe to log: the length and, for short well-known tokens such as `too_many_pings`, the token.
    public var redacted: String {
        if bytes.isEmpty { return "" }
        let text = unredacted
        if Self.wellKnown.contains(text) { return text }
        return "<redacted \(bytes.count) bytes>"
    }

    /// ``redacted`` or ``unredacted``.
    public func rendered(redact: Bool) -> String { redact ? redacted : unredacted }

    /// The redacted form: printing debug data never leaks it by accident.
    public var description: String { redacted }

    /// Tokens that carry no secrets and tell the user what happened; shown even when redacting:
    /// every `ShutdownReason` our server sends, plus tokens other stacks send.
    public static let wellKnown: Set<String> = Set(ShutdownReason.allCases.map(\.rawValue)).union([
        "graceful_shutdown", "ping_ack_timeout", "drain", "server_shutdown",
    ])
}
