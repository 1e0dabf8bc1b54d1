/// Turns an error message as people paste it (from Go, Node, grpc, NIO, curl, h2, OkHttp, nginx,
/// Envoy) into a `GoAwayObservation`.
///
/// One recogniser per stack, tried most specific first; each is a small pure function so the
/// tests can pin it with a table of verbatim messages. The generic fallback comes last so a
/// stack's own recogniser always wins (it knows which fields the stack prints).
public enum ErrorMessageParser {
    /// `nil` when the message is not an HTTP/2 GOAWAY / RST_STREAM error we recognise.
    public static func parse(_ message: String) -> GoAwayObservation? {
        let text = message.trimmingWhitespace()
        if text.isEmpty { return nil }
        for recognise in recognisers {
            if let observation = recognise(text) { return observation }
        }
        return nil
    }

    /// Order matters: grpc-go wraps Go-style text, Envoy and nginx lines mention "reset".
    static let recognisers: [@Sendable (String) -> GoAwayObservation?] = [
        recogniseGRPCGo, recogniseGRPCJava, recogniseGRPCCore, recogniseGRPCJS,
        recogniseGo, recogniseNode, recogniseSwiftNIO, recogniseAsyncHTTPClient,
        recogniseCurl, recognisePythonH2, recogniseOkHttp, recogniseNginx, recogniseEnvoy,
        recogniseGeneric,
    ]
}

// MARK: - Shared helpers

extension ErrorMessageParser {
    /// Reads an error code the way stacks print it: `NO_ERROR`, `0x2`, `2`, `ErrorCodes.NO_ERROR`,
    /// `NGHTTP2_REFUSED_STREAM`, `HTTP2ErrorCode<0x8 Cancel>`, Go's `unknown error code 0x1f`.
    static func parseCode<S: StringProtocol>(_ raw: S) -> HTTP2ErrorCode? {
        var token = String(raw).trimmingWhitespace()
        if let match = token.firstMatch(of: /0[xX]([0-9a-fA-F]+)/), token.lowercased().hasPrefix("unknown")
            || token.hasPrefix("HTTP2ErrorCode<")
        {
            return UInt32(match.1, radix: 16).map(HTTP2ErrorCode.init(rawValue:))
        }
        for prefix in ["ErrorCodes.", "NGHTTP2_", "Http2Error.", "ErrorCode.", "HTTP2ErrorCode."]
        where token.hasPrefix(prefix) {
            token.removeFirst(prefix.count)
        }
        return HTTP2ErrorCode(parsing: token)
    }

    static func streamID<S: StringProtocol>(_ digits: S) -> StreamID? {
        // Stream ids are 31 bits; anything larger in a message is not a stream id.
        guard let value = UInt32(digits), value <= UInt32(Int32.max) else { return nil }
        return StreamID(Int32(value))
    }

    /// Debug data as printed inside double quotes with C/Go-style escapes (`\"`, `\\`, `\n`, `\x00`).
    static func unquote<S: StringProtocol>(_ quoted: S) -> GoAwayDebugData? {
        if quoted.isEmpty { return nil }
        var bytes: [UInt8] = []
        var iterator = Array(quoted.utf8)[...]
        while let byte = iterator.popFirst() {
            guard byte == UInt8(ascii: "\\"), let next = iterator.popFirst() else {
                bytes.append(byte)
                continue
            }
            switch next {
            case UInt8(ascii: "n"): bytes.append(0x0a)
            case UInt8(ascii: "r"): bytes.append(0x0d)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "0"): bytes.append(0x00)
            case UInt8(ascii: "x"):
                let hex = iterator.prefix(2)
                if hex.count == 2, let value = UInt8(String(decoding: hex, as: UTF8.self), radix: 16) {
                    bytes.append(value)
                    iterator.removeFirst(2)
                } else {
                    bytes.append(next)
                }
            default: bytes.append(next)
            }
        }
        return GoAwayDebugData(bytes)
    }

    /// Debug data printed as lowercase hex (Python h2 prints `additional_data` this way).
    static func hexBytes<S: StringProtocol>(_ hex: S) -> [UInt8]? {
        let chars = Array(hex.utf8)
        guard !chars.isEmpty, chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < chars.count {
            guard let value = UInt8(String(decoding: chars[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            out.append(value)
            index += 2
        }
        return out
    }

    /// Debug tokens that name the cause on their own, so a message carrying only the token
    /// (`too_many_pings`) is still recognised.
    static let causeTokens: [(token: String, code: HTTP2ErrorCode)] = [
        ("too_many_pings", .enhanceYourCalm),
    ]
}
