import GoAwayCore
import HTTPTypes
import NIOCore
import NIOHPACK
import Synchronization

/// One logical request as the shell keeps it across re-sends. Immutable, hence Sendable.
final class PendingRequest: Sendable {
    let id: RequestID
    let head: HTTPRequest
    let body: HTTP2RequestBody
    let idempotent: Bool
    /// Header block, built once and reused for every attempt.
    let headers: HPACKHeaders
    /// The caller's task was cancelled: set before the runtime's lock is taken, so a cancellation
    /// that races `submit` is seen there, and nothing outlives the request.
    let cancelled = Atomic<Bool>(false)

    init(id: RequestID, head: HTTPRequest, body: HTTP2RequestBody) {
        self.id = id
        self.head = head
        self.body = body
        self.idempotent = isIdempotentMethod(head.method.rawValue)
        self.headers = Self.makeHeaders(head)
    }

    /// Connection-specific fields are not allowed in HTTP/2 (RFC 9113 §8.2.2).
    static let forbidden: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"]

    static func makeHeaders(_ head: HTTPRequest) -> HPACKHeaders {
        var h = HPACKHeaders()
        h.reserveCapacity(4 + head.headerFields.count)
        h.add(name: ":method", value: head.method.rawValue)
        h.add(name: ":scheme", value: head.scheme ?? "http")
        if let authority = head.authority { h.add(name: ":authority", value: authority) }
        h.add(name: ":path", value: head.path ?? "/")
        for field in head.headerFields {
            let name = field.name.canonicalName
            if forbidden.contains(name) { continue }
            if name == "te" && field.value.lowercased() != "trailers" { continue }
            h.add(name: name, value: field.value, indexing: field.indexingStrategy == .avoid ? .neverIndexed : .indexable)
        }
        return h
    }
}

extension HTTPResponse {
    /// Parses a response header block; `nil` if `:status` is missing or bad.
    init?(hpack: HPACKHeaders) {
        var status: Int?
        var fields = HTTPFields()
        for (name, value, _) in hpack {
            if name == ":status" {
                status = Int(value)
            } else if !name.hasPrefix(":"), let n = HTTPField.Name(name) {
                fields.append(HTTPField(name: n, value: value))
            }
        }
        guard let status, (100...999).contains(status) else { return nil }
        self.init(status: HTTPResponse.Status(code: status), headerFields: fields)
    }
}
