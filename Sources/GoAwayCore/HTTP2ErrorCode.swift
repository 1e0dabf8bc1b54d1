/// An HTTP/2 error code (RFC 9113 §7), as carried by GOAWAY and RST_STREAM.
///
/// Unknown codes are kept, not rejected: §7 says they must not trigger special behaviour,
/// and a receiver treats them as `INTERNAL_ERROR` for decisions while still reporting the raw value.
public struct HTTP2ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static let noError = HTTP2ErrorCode(0x0)
    public static let protocolError = HTTP2ErrorCode(0x1)
    public static let internalError = HTTP2ErrorCode(0x2)
    public static let flowControlError = HTTP2ErrorCode(0x3)
    public static let settingsTimeout = HTTP2ErrorCode(0x4)
    public static let streamClosed = HTTP2ErrorCode(0x5)
    public static let frameSizeError = HTTP2ErrorCode(0x6)
    public static let refusedStream = HTTP2ErrorCode(0x7)
    public static let cancel = HTTP2ErrorCode(0x8)
    public static let compressionError = HTTP2ErrorCode(0x9)
    public static let connectError = HTTP2ErrorCode(0xa)
    public static let enhanceYourCalm = HTTP2ErrorCode(0xb)
    public static let inadequateSecurity = HTTP2ErrorCode(0xc)
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
