/// An HTTP/2 error code (RFC 9113 §7), as carried by GOAWAY and RST_STREAM.
///
/// Unknown codes are kept, not rejected: §7 says they must not trigger special behaviour,
/// and a receiver treats them as `INTERNAL_ERROR` for decisions while still reporting the raw value.
public struct HTTP2ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 32-bit code as on the wire.
    public var rawValue: UInt32
    /// The code with this value (defined or not).
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// The code with this value (defined or not).
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// Graceful: no error (a normal GOAWAY, or a stream ended early without fault).
    public static let noError = HTTP2ErrorCode(0x0)
    /// The peer broke the protocol.
    public static let protocolError = HTTP2ErrorCode(0x1)
    /// The sender hit an unexpected internal error.
    public static let internalError = HTTP2ErrorCode(0x2)
    /// The peer broke the flow-control rules.
    public static let flowControlError = HTTP2ErrorCode(0x3)
    /// A SETTINGS frame was not acknowledged in time.
    public static let settingsTimeout = HTTP2ErrorCode(0x4)
    /// A frame arrived on a half-closed stream.
    public static let streamClosed = HTTP2ErrorCode(0x5)
    /// A frame had an invalid size.
    public static let frameSizeError = HTTP2ErrorCode(0x6)
    /// The stream was refused before any processing: safe to retry, any method (§8.7).
    public static let refusedStream = HTTP2ErrorCode(0x7)
    /// The stream is no longer needed.
    public static let cancel = HTTP2ErrorCode(0x8)
    /// The HPACK compression context could not be kept.
    public static let compressionError = HTTP2ErrorCode(0x9)
    /// A CONNECT tunnel was reset or closed abnormally.
    public static let connectError = HTTP2ErrorCode(0xa)
    /// The peer is generating excessive load (too many pings, resets...).
    public static let enhanceYourCalm = HTTP2ErrorCode(0xb)
    /// The transport does not meet the minimum security requirements.
    public static let inadequateSecurity = HTTP2ErrorCode(0xc)
    /// The endpoint requires HTTP/1.1 for this request.
    public static let http11Required = HTTP2ErrorCode(0xd)

    /// The 14 codes RFC 9113 defines, in numeric order.
    public static let allDefined: [HTTP2ErrorCode] = (0x0...0xd).map { HTTP2ErrorCode(UInt32($0)) }

    /// The RFC name (`NO_ERROR`), or `nil` for a code the RFC does not define.
    public var name: String? {
        switch rawValue {
        case 0x0: "NO_ERROR"
        case 0x1: "PROTOCOL_ERROR"
        case 0x2: "INTERNAL_ERROR"
        case 0x3: "FLOW_CONTROL_ERROR"
        case 0x4: "SETTINGS_TIMEOUT"
        case 0x5: "STREAM_CLOSED"
        case 0x6: "FRAME_SIZE_ERROR"
        case 0x7: "REFUSED_STREAM"
        case 0x8: "CANCEL"
        case 0x9: "COMPRESSION_ERROR"
        case 0xa: "CONNECT_ERROR"
        case 0xb: "ENHANCE_YOUR_CALM"
        case 0xc: "INADEQUATE_SECURITY"
        case 0xd: "HTTP_1_1_REQUIRED"
        default: nil
        }
    }

    /// Whether RFC 9113 defines this code (0x0...0xd).
    public var isDefined: Bool { rawValue <= 0xd }

    /// `0x0`-style hex, as the RFC writes codes.
    public var hex: String { "0x" + String(rawValue, radix: 16) }

    /// `NO_ERROR (0x0)`, or `UNKNOWN (0x1f)`.
    public var description: String { "\(name ?? "UNKNOWN") (\(hex))" }

    /// Parses `NO_ERROR`, `no_error`, `noError`, `0x0`, `0`, `ENHANCE_YOUR_CALM`...
    public init?(parsing text: String) {
        let trimmed = text.trimmingWhitespace()
        let lower = trimmed.lowercased()
        if lower.hasPrefix("0x"), let value = UInt32(lower.dropFirst(2), radix: 16) {
            self.init(value)
            return
        }
        if let value = UInt32(lower) {
            self.init(value)
            return
        }
        let normalized = lower.filter { $0.isLetter || $0.isNumber }
        for code in Self.allDefined {
            let name = code.name!.lowercased().filter { $0.isLetter || $0.isNumber }
            if name == normalized {
                self = code
                return
            }
        }
        // Common aliases used by other stacks' error strings.
        switch normalized {
        case "refused", "refusedstreamerror": self = .refusedStream
        case "calm", "enhanceyourcalmerror": self = .enhanceYourCalm
        case "http11required", "http1required": self = .http11Required
        default: return nil
        }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
