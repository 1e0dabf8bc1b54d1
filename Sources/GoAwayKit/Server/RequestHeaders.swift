import HTTPTypes
import NIOHPACK

/// The request header checks of RFC 9113 §8.2 and §8.3, made in the one pass that turns the block
/// into an `HTTPRequest`. swift-nio-http2's own check (`headerBlockValidation`) is off on the
/// server's connections (`HTTP2Server.nioConfiguration`): it is one switch for both directions,
/// and walked every request block a second time and every response block we had built ourselves
/// (~10,400 instructions of a 100-byte request's ~113,000 under callgrind). What it checked
/// inbound is checked here, with the same answer: a malformed block is a stream error, reset with
/// RST_STREAM(PROTOCOL_ERROR) (the conformance suite's §8.2/§8.3 cases pin each), and it still
/// counts against the stream-error limits (`AbuseDetector.streamError`, which swift-nio-http2 no
/// longer sees for these). Outbound there is nothing left to check: response heads and trailers
/// are built from `HTTPFields`, whose names are lowercase tokens and whose values are legal by
/// construction, and `HeaderConversion` drops the connection-specific fields swift-nio-http2
/// refused. The regular-field rules are the client's (`ResponseHeaders.regularHTTPField`).
enum RequestHeaders {
    typealias Malformed = HeaderConversion.Malformed

    /// A request head, or why it is malformed: pseudo-headers first, each known one at most once,
    /// values without control bytes or spaces; `:method`, `:scheme` and a non-empty `:path`
    /// (CONNECT: `:method` and `:authority` only; `:protocol` is refused, extended CONNECT is not
    /// enabled); regular fields lowercase tokens, not connection-specific, values without NUL, CR
    /// or LF, and `te` only as `trailers`.
    static func request(_ hpack: HPACKHeaders) throws(Malformed) -> HTTPRequest {
        var method: String?
        var scheme: String?
        var authority: String?
        var path: String?
        var regular = false
        var fields = HTTPFields()
        fields.reserveCapacity(hpack.count)
        for (name, value, indexable) in hpack {
            if name.utf8.first == UInt8(ascii: ":") {
                guard !regular else { throw Malformed(description: "pseudo-header \(name) after a regular field") }
                guard isPseudoHeaderValue(value) else { throw Malformed(description: "a control byte or space in \(name)") }
                switch name {
                case ":method": try set(&method, name, value)
                case ":scheme": try set(&scheme, name, value)
                case ":authority": try set(&authority, name, value)
                case ":path": try set(&path, name, value)
                default: throw Malformed(description: "pseudo-header \(name) in a request")
                }
                continue
            }
            regular = true
            switch ResponseHeaders.regularHTTPField(name, value) {
            case .success(var field):
                if name.utf8.count == 2, name == "te", value != "trailers" { throw Malformed(description: "te other than trailers") }
                if indexable == .neverIndexed { field.indexingStrategy = .disallow }
                fields.append(field)
            case .failure(let malformed):
                throw Malformed(description: malformed.reason)
            }
        }
        guard let method, let requestMethod = HTTPRequest.Method(method) else { throw Malformed(description: "missing or invalid :method") }
        if requestMethod == .connect {
            guard authority != nil, scheme == nil, path == nil else { throw Malformed(description: "CONNECT takes :authority, no :scheme or :path") }
        } else {
            guard scheme != nil, let path else { throw Malformed(description: "missing :path or :scheme") }
            guard !path.isEmpty else { throw Malformed(description: "empty :path") }
        }
        return HTTPRequest(method: requestMethod, scheme: scheme, authority: authority, path: path, headerFields: fields)
    }

    private static func set(_ slot: inout String?, _ name: String, _ value: String) throws(Malformed) {
        guard slot == nil else { throw Malformed(description: "two \(name) fields") }
        slot = value
    }

    /// No control byte (0x00–0x1F), space or DEL: what swift-nio-http2 allows in a pseudo-header.
    static func isPseudoHeaderValue(_ value: String) -> Bool {
        value.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where byte <= 0x20 || byte == 0x7F { return false }
            return true
        } ?? !value.utf8.contains { $0 <= 0x20 || $0 == 0x7F }
    }
}
