import HTTPTypes
import NIOHPACK

/// HPACK headers <-> swift-http-types, for both sides. Pseudo-headers are validated here; anything
/// malformed is a stream error the caller answers with RST_STREAM(PROTOCOL_ERROR).
enum HeaderConversion {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// A response head as HPACK, valid by construction (the server's connections run without
    /// swift-nio-http2's header validation, `RequestHeaders`): `HTTPFields` names are lowercase
    /// tokens and its values legal; the connection-specific fields HTTP/2 forbids (RFC 9113
    /// §8.2.2), which swift-nio-http2 refused to send, are left out.
    static func headers(from response: HTTPResponse, contentLength: Int? = nil) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(response.headerFields.count + 2)
        headers.add(name: ":status", value: Self.statusString(response.status.code))
        for field in response.headerFields where !ResponseHeaders.isConnectionSpecific(field.name.canonicalName) {
            headers.add(name: field.name.canonicalName, value: field.value, indexing: field.indexingStrategy == .disallow ? .neverIndexed : .indexable)
        }
        if let contentLength, !response.headerFields.contains(.contentLength) {  // not the subscript: it joins values
            headers.add(name: "content-length", value: String(contentLength))
        }
        return headers
    }

    static func headers(from request: HTTPRequest) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(request.headerFields.count + 4)
        headers.add(name: ":method", value: request.method.rawValue)
        if let scheme = request.scheme { headers.add(name: ":scheme", value: scheme) }
        if let authority = request.authority { headers.add(name: ":authority", value: authority) }
        if let path = request.path { headers.add(name: ":path", value: path) }
        if let p = request.extendedConnectProtocol { headers.add(name: ":protocol", value: p) }
        for field in request.headerFields {
            headers.add(name: field.name.canonicalName, value: field.value, indexing: field.indexingStrategy == .disallow ? .neverIndexed : .indexable)
        }
        return headers
    }

    static func response(from headers: HPACKHeaders) throws(Malformed) -> HTTPResponse {
        var status: Int?
        var fields = HTTPFields()
        for (name, value, _) in headers {
            if name == ":status" {
                guard let code = Int(value), (100...999).contains(code) else { throw Malformed(description: "invalid :status \(value)") }
                status = code
                continue
            }
            if name.utf8.first == UInt8(ascii: ":") { throw Malformed(description: "unexpected pseudo-header \(name)") }
            guard let fieldName = HTTPField.Name(name) else { throw Malformed(description: "invalid header name") }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        guard let status else { throw Malformed(description: "missing :status") }
        return HTTPResponse(status: .init(code: status), headerFields: fields)
    }

    static func fields(from headers: HPACKHeaders) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value, _) in headers where name.utf8.first != UInt8(ascii: ":") {
            if let n = HTTPField.Name(name) { fields.append(HTTPField(name: n, value: value)) }
        }
        return fields
    }

    /// Trailers as HPACK, valid by construction like `headers(from:contentLength:)`.
    static func headers(from fields: HTTPFields) -> HPACKHeaders {
        var headers = HPACKHeaders()
        for field in fields where !ResponseHeaders.isConnectionSpecific(field.name.canonicalName) { headers.add(name: field.name.canonicalName, value: field.value) }
        return headers
    }

    private static let statusStrings: [String] = (0..<600).map { String($0) }
    @inline(__always) static func statusString(_ code: Int) -> String {
        code < statusStrings.count ? statusStrings[code] : String(code)
    }
}
