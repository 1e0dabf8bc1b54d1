import HTTPTypes
import NIOHPACK
import Testing

@testable import GoAwayKit

/// The server's one pass over a request block (swift-nio-http2's validation is off): what it
/// accepted and refused is accepted and refused here (the conformance suite checks the same on
/// the wire, §8.2 and §8.3).
@Suite("Server: request header checks")
struct RequestHeadersTests {
    static let get: [(String, String)] = [(":method", "GET"), (":scheme", "http"), (":authority", "a"), (":path", "/x")]

    static func block(_ pairs: [(String, String)]) -> HPACKHeaders { HPACKHeaders(pairs) }

    @Test(arguments: [
        ("a plain GET", get, true),
        ("no :authority", [(":method", "GET"), (":scheme", "http"), (":path", "/")], true),
        ("te: trailers", get + [("te", "trailers")], true),
        ("CONNECT with :authority only", [(":method", "CONNECT"), (":authority", "a:443")], true),
        ("a value with a space and obs-text", get + [("x", "a b\u{e9}")], true),
        ("uppercase name", get + [("X-A", "1")], false),
        ("empty name", get + [("", "1")], false),
        ("connection", get + [("connection", "close")], false),
        ("transfer-encoding", get + [("transfer-encoding", "chunked")], false),
        ("keep-alive", get + [("keep-alive", "1")], false),
        ("proxy-connection", get + [("proxy-connection", "1")], false),
        ("upgrade", get + [("upgrade", "h2c")], false),
        ("te: gzip", get + [("te", "gzip")], false),
        ("LF in a value", get + [("x", "a\nb")], false),
        ("NUL in a value", get + [("x", "a\u{0}b")], false),
        ("a space in :path", [(":method", "GET"), (":scheme", "http"), (":path", "/a b")], false),
        ("DEL in :authority", [(":method", "GET"), (":scheme", "http"), (":authority", "a\u{7f}"), (":path", "/")], false),
        ("pseudo after regular", [(":method", "GET"), (":scheme", "http"), ("x", "1"), (":path", "/")], false),
        ("unknown pseudo", get + [(":foo", "1")], false),
        (":status in a request", [(":status", "200")] + get, false),
        (":protocol (extended CONNECT is off)", [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"), (":path", "/"), (":authority", "a")], false),
        ("duplicate :path", get + [(":path", "/y")], false),
        ("missing :method", [(":scheme", "http"), (":path", "/")], false),
        ("missing :scheme", [(":method", "GET"), (":path", "/")], false),
        ("missing :path", [(":method", "GET"), (":scheme", "http")], false),
        ("empty :path", [(":method", "GET"), (":scheme", "http"), (":path", "")], false),
        ("invalid method", [(":method", "G(T"), (":scheme", "http"), (":path", "/")], false),
        ("CONNECT without :authority", [(":method", "CONNECT")], false),
        ("CONNECT with :path", [(":method", "CONNECT"), (":authority", "a:443"), (":path", "/")], false),
    ] as [(String, [(String, String)], Bool)])
    func checks(_ name: String, _ pairs: [(String, String)], _ valid: Bool) {
        let result = Result { () throws(RequestHeaders.Malformed) in try RequestHeaders.request(Self.block(pairs)) }
        if valid {
            #expect((try? result.get()) != nil, "\(name): \(result)")
        } else {
            #expect((try? result.get()) == nil, "\(name) is malformed")
        }
    }

    @Test func theRequestCarriesItsFieldsAndNeverIndexedStaysSo() throws {
        var headers = Self.block(Self.get + [("x-a", "1")])
        headers.add(name: "authorization", value: "secret", indexing: .neverIndexed)
        let request = try RequestHeaders.request(headers)
        #expect(request.method == .get && request.scheme == "http" && request.authority == "a" && request.path == "/x")
        #expect(request.headerFields[HTTPField.Name("x-a")!] == "1")
        #expect(request.headerFields.first { $0.name == .authorization }?.indexingStrategy == .disallow)
    }

    @Test func responsesLeaveOutConnectionSpecificFields() {
        var response = HTTPResponse(status: .ok)
        response.headerFields[.connection] = "close"
        response.headerFields[.transferEncoding] = "chunked"
        response.headerFields[.contentType] = "text/plain"
        let headers = HeaderConversion.headers(from: response, contentLength: 3)
        #expect(headers.map(\.name) == [":status", "content-type", "content-length"])
        var trailers = HTTPFields()
        trailers[.connection] = "close"
        trailers[HTTPField.Name("grpc-status")!] = "0"
        #expect(HeaderConversion.headers(from: trailers).map(\.name) == ["grpc-status"])
    }
}
