import GoAwayCore
import HTTPTypes
import NIOCore
import NIOHPACK
import Synchronization

/// One logical request as the shell keeps it across re-sends. Immutable, hence Sendable.
final class PendingRequest: Sendable {
    let id: RequestID
    let body: HTTP2RequestBody
    let idempotent: Bool
    /// Header block, built once and reused for every attempt.
    let headers: HPACKHeaders
    /// The caller's task was cancelled: set before the runtime's lock is taken, so a cancellation
    /// that races `submit` is seen there, and nothing outlives the request.
    let cancelled = Atomic<Bool>(false)

    /// `scheme` and `authority` stand in for the head's when it has none (the client's first
    /// endpoint's): filled in here rather than set on the caller's `HTTPRequest`, whose pseudo-header
    /// storage is shared with the caller's copy, so setting one copied it (~1,000 instructions a
    /// request under callgrind).
    init(id: RequestID, head: HTTPRequest, body: HTTP2RequestBody, scheme: String? = nil, authority: String? = nil) {
        self.id = id
        self.body = body
        self.idempotent = isIdempotentMethod(head.method.rawValue)
        self.headers = Self.makeHeaders(head, scheme: scheme, authority: authority)
    }

    /// The request's header block. `HTTP2Client.execute` has checked what swift-nio-http2 would
    /// have (pseudo-header values, no CONNECT; `HTTPFields` holds no pseudo-header); names and values
    /// of `HTTPFields` are valid by construction (lowercase tokens; CR, LF, NUL legalised away).
    static func makeHeaders(_ head: HTTPRequest, scheme: String? = nil, authority: String? = nil) -> HPACKHeaders {
        var h = HPACKHeaders()
        h.reserveCapacity(4 + head.headerFields.count)
        h.add(name: ":method", value: head.method.rawValue)
        h.add(name: ":scheme", value: head.scheme ?? scheme ?? "http")
        if let authority = head.authority ?? authority { h.add(name: ":authority", value: authority) }
        h.add(name: ":path", value: head.path ?? "/")
        for field in head.headerFields {
            let name = field.name.canonicalName
            // Connection-specific fields are not allowed in HTTP/2 (RFC 9113 §8.2.2); Host is :authority.
            if ResponseHeaders.isConnectionSpecific(name) || name == "host" { continue }
            if name == "te" {
                // The only TE allowed in HTTP/2, sent as the exact token RFC 9113 §8.2.2 names.
                if field.value.lowercased() == "trailers" { h.add(name: "te", value: "trailers") }
                continue
            }
            h.add(name: name, value: field.value, indexing: field.indexingStrategy == .avoid ? .neverIndexed : .indexable)
        }
        return h
    }
}

/// The response header checks of RFC 9113 §8.2 and §8.3.2, done while the block becomes an
/// `HTTPResponse`: swift-nio-http2's own check is off on the client's connections
/// (`ClientPipeline`, `headerBlockValidation`), because it walked every block a second time, in
/// both directions (it was 23k of a 100-byte request's 200k instructions under callgrind). What it
/// checked inbound is checked here, in the same pass; what it checked outbound we build valid
/// (`PendingRequest.makeHeaders`, `HTTP2Client.execute`). A malformed block is a stream error: the
/// handler resets the stream with PROTOCOL_ERROR, as swift-nio-http2 did.
enum ResponseHeaders {
    /// Why a block is malformed, for the request's error.
    struct Malformed: Error, Equatable {
        var reason: String
    }

    /// A checked head: its status, and its `content-length` read in the same pass (`nil`: none,
    /// not a number, or more than one: swift-nio-http2's content-length check judges those). The
    /// header fields stay in the received block until the caller reads `HTTP2ClientResponse.head`
    /// (`response(status:_:)`): building `HTTPFields` was ~1,400 instructions a field, and a caller
    /// that wants only the status (`goaway load`) never needs them.
    struct Head {
        var status: HTTPResponse.Status
        var contentLength: Int?
    }

    /// Checks a response head (`:status` and regular fields), or says why it is malformed.
    static func head(_ hpack: HPACKHeaders) -> Result<Head, Malformed> {
        var status: Int?
        var regular = false
        var contentLength: Int?
        var contentLengths = 0
        for (name, value, _) in hpack {
            if name.utf8.first == UInt8(ascii: ":") {
                guard !regular else { return .failure(Malformed(reason: "pseudo-header \(name) after a regular field")) }
                guard name == ":status" else { return .failure(Malformed(reason: "pseudo-header \(name) in a response")) }
                guard status == nil else { return .failure(Malformed(reason: "two :status fields")) }
                guard let code = threeDigits(value) else { return .failure(Malformed(reason: ":status \(value)")) }
                status = code
            } else {
                regular = true
                if let malformed = regularField(name, value) { return .failure(malformed) }
                if name.utf8.count == 14, name == "content-length" {
                    contentLengths += 1
                    contentLength = contentLengths == 1 ? Int(value) : nil
                }
            }
        }
        guard let status else { return .failure(Malformed(reason: "no :status")) }
        return .success(Head(status: HTTPResponse.Status(code: status), contentLength: contentLength))
    }

    /// The `HTTPResponse` of a block `head(_:)` accepted: its regular fields, in order.
    static func response(status: HTTPResponse.Status, _ hpack: HPACKHeaders) -> HTTPResponse {
        var fields = HTTPFields()
        for (name, value, _) in hpack where name.utf8.first != UInt8(ascii: ":") {
            // Checked lowercase tokens (`regularField`): `Name(parsed:)` takes them all.
            guard let fieldName = HTTPField.Name(parsed: name) else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return HTTPResponse(status: status, headerFields: fields)
    }

    /// Trailers: regular fields only.
    static func checkTrailers(_ hpack: HPACKHeaders) -> Malformed? {
        for (name, value, _) in hpack {
            if name.utf8.first == UInt8(ascii: ":") { return Malformed(reason: "pseudo-header \(name) in trailers") }
            if let malformed = regularField(name, value) { return malformed }
        }
        return nil
    }

    /// A lowercase token name (what `HTTPField.Name(parsed:)` accepts), not connection-specific
    /// (§8.2.2), and a value without NUL, CR or LF (§8.2.1); `nil` when the field is fine.
    static func regularField(_ name: String, _ value: String) -> Malformed? {
        guard isLowercaseToken(name) else { return Malformed(reason: "field name \(name)") }
        return fieldRules(name, value)
    }

    /// The same checks, building the field (the server's request pass keeps every field, so it
    /// checks the name once, by parsing it).
    static func regularHTTPField(_ name: String, _ value: String) -> Result<HTTPField, Malformed> {
        guard let fieldName = HTTPField.Name(parsed: name) else { return .failure(Malformed(reason: "field name \(name)")) }
        if let malformed = fieldRules(name, value) { return .failure(malformed) }
        return .success(HTTPField(name: fieldName, value: value))
    }

    /// What a valid lowercase name must also pass: not connection-specific, no NUL, CR or LF.
    private static func fieldRules(_ name: String, _ value: String) -> Malformed? {
        if isConnectionSpecific(name) { return Malformed(reason: "connection-specific field \(name)") }
        guard !hasNULCROrLF(value) else { return Malformed(reason: "NUL, CR or LF in the value of \(name)") }
        return nil
    }

    /// RFC 9110 §5.6.2 token, lowercase: the canonical names `HTTPField.Name(parsed:)` accepts
    /// (digits, a-z, and ! # $ % & ' * + - . ^ _ ` | ~), one pass over the contiguous bytes.
    static func isLowercaseToken(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes in
            guard !bytes.isEmpty else { return false }
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E:
                    continue
                default:
                    return false
                }
            }
            return true
        }
    }

    /// A loop over the contiguous bytes (HPACK's strings are native): a closure per byte through
    /// `contains(where:)` was ~20 instructions a byte.
    static func hasNULCROrLF(_ value: String) -> Bool {
        var value = value
        return value.withUTF8 { bytes in
            for byte in bytes where byte <= 0x0D && (byte == 0x00 || byte == 0x0A || byte == 0x0D) { return true }
            return false
        }
    }

    /// Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade (RFC 9113 §8.2.2),
    /// lowercase (the name is a parsed one); the length decides first, so most names cost one compare.
    static func isConnectionSpecific(_ name: String) -> Bool {
        switch name.utf8.count {
        case 7: name == "upgrade"
        case 10: name == "connection" || name == "keep-alive"
        case 16: name == "proxy-connection"
        case 17: name == "transfer-encoding"
        default: false
        }
    }

    /// `:status` is 3DIGIT (RFC 9110 §15).
    static func threeDigits(_ value: String) -> Int? {
        var code = 0
        var count = 0
        for byte in value.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), count < 3 else { return nil }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
            count += 1
        }
        return count == 3 && code >= 100 ? code : nil
    }
}
