import HTTPTypes
import NIOCore
import NIOHPACK
import Testing

@testable import GoAwayKit

/// The header checks swift-nio-http2 did on the client's connections, now ours
/// (`ResponseHeaders`, `HTTP2Client.malformed`): RFC 9113 §8.2, §8.3.
struct ClientHeaderValidationTests {
    static func block(_ fields: [(String, String)]) -> HPACKHeaders { HPACKHeaders(fields) }

    @Test(arguments: [
        ([(":status", "200"), ("content-length", "3")], nil),
        ([(":status", "204")], nil),
        ([(":status", "103"), ("link", "</a>")], nil),
        ([("server", "x")], "no :status"),
        ([(":status", "200"), (":status", "200")], "two :status fields"),
        ([(":status", "2000")], ":status 2000"),
        ([(":status", "20")], ":status 20"),
        ([(":status", "099")], ":status 099"),
        ([(":status", "2x0")], ":status 2x0"),
        ([(":status", "200"), (":path", "/")], "pseudo-header :path in a response"),
        ([("server", "x"), (":status", "200")], "pseudo-header :status after a regular field"),
        ([(":status", "200"), ("Server", "x")], "field name Server"),
        ([(":status", "200"), ("", "x")], "field name "),
        ([(":status", "200"), ("a b", "x")], "field name a b"),
        ([(":status", "200"), ("connection", "close")], "connection-specific field connection"),
        ([(":status", "200"), ("keep-alive", "5")], "connection-specific field keep-alive"),
        ([(":status", "200"), ("proxy-connection", "x")], "connection-specific field proxy-connection"),
        ([(":status", "200"), ("transfer-encoding", "chunked")], "connection-specific field transfer-encoding"),
        ([(":status", "200"), ("upgrade", "h2c")], "connection-specific field upgrade"),
        ([(":status", "200"), ("x", "a\r\nb: c")], "NUL, CR or LF in the value of x"),
        ([(":status", "200"), ("x", "a\u{0}")], "NUL, CR or LF in the value of x"),
    ] as [([(String, String)], String?)])
    func responseHead(_ fields: [(String, String)], _ malformed: String?) {
        switch ResponseHeaders.head(Self.block(fields)) {
        case .success(let parsed):
            #expect(malformed == nil)
            let response = ResponseHeaders.response(status: parsed.status, Self.block(fields))
            #expect(parsed.status.code == Int(fields[0].1))
            #expect(response.status == parsed.status)
            #expect(response.headerFields.count == fields.count - 1)
        case .failure(let m):
            #expect(m.reason == malformed)
        }
    }

    /// Our name check is the one `HTTPField.Name(parsed:)` makes (every name it passes, the lazy
    /// `head` can build): every byte alone, and each inside a longer name.
    @Test func lowercaseTokenIsWhatParsedNamesAccept() {
        for byte in UInt8(0)...UInt8(127) {
            for name in [String(decoding: [byte], as: UTF8.self), "x" + String(decoding: [byte], as: UTF8.self) + "y"] {
                #expect(ResponseHeaders.isLowercaseToken(name) == (HTTPField.Name(parsed: name) != nil), "byte \(byte)")
            }
        }
        #expect(!ResponseHeaders.isLowercaseToken(""))
        #expect(!ResponseHeaders.isLowercaseToken("caf\u{e9}"))
        #expect(ResponseHeaders.isLowercaseToken("x-request-id"))
    }

    /// The word-at-a-time scan against the byte-by-byte rule: each of NUL, LF, CR (and their
    /// neighbours, and bytes with the high bit set) at every position of values 0...24 bytes long.
    @Test func nulCROrLFScanMatchesTheBytewiseRule() {
        for length in 0...24 {
            for position in 0..<max(length, 1) {
                for byte: UInt8 in [0x00, 0x01, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x20, 0x7F, 0x80, 0x8A, 0xFF] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    if length > 0 { bytes[position] = byte }
                    let value = String(decoding: bytes, as: UTF8.self)
                    let expected = value.utf8.contains { $0 == 0x00 || $0 == 0x0A || $0 == 0x0D }
                    #expect(ResponseHeaders.hasNULCROrLF(value) == expected, "length \(length), byte \(byte) at \(position)")
                }
            }
        }
    }

    /// The head is built from the checked block when read; `status` alone builds nothing; a set
    /// head is kept as set.
    @Test func responseHeadIsBuiltWhenRead() {
        let block = Self.block([(":status", "201"), ("server", "x"), ("set-cookie", "a=1"), ("set-cookie", "b=2"), ("content-length", "0")])
        guard case .success(let parsed) = ResponseHeaders.head(block) else {
            Issue.record("rejected")
            return
        }
        var response = HTTP2ClientResponse(status: parsed.status, block: block, body: HTTP2ResponseBody(ResponseBodyStorage(streamID: 1, events: nil)))
        #expect(response.status == .created)
        #expect(response.head.status == .created)
        #expect(response.head.headerFields[.server] == "x")
        #expect(response.head.headerFields[values: .setCookie] == ["a=1", "b=2"])
        #expect(response.head.headerFields.map(\.name.canonicalName) == ["server", "set-cookie", "set-cookie", "content-length"])
        response.head.headerFields[.server] = "y"
        #expect(response.head.headerFields[.server] == "y")
        response.head.status = .accepted
        #expect(response.status == .accepted)
    }

    @Test func contentLengthIsReadInThePass() {
        func length(_ fields: [(String, String)]) -> Int?? {
            guard case .success(let parsed) = ResponseHeaders.head(Self.block([(":status", "200")] + fields)) else { return .none }
            return .some(parsed.contentLength)
        }
        #expect(length([("content-length", "42")]) == .some(42))
        #expect(length([("server", "x")]) == .some(nil))
        #expect(length([("content-length", "x")]) == .some(nil))
        #expect(length([("content-length", "1"), ("content-length", "1")]) == .some(nil))
    }

    @Test func trailers() {
        #expect(ResponseHeaders.checkTrailers(Self.block([("grpc-status", "0")])) == nil)
        #expect(ResponseHeaders.checkTrailers(Self.block([(":status", "200")]))?.reason == "pseudo-header :status in trailers")
        #expect(ResponseHeaders.checkTrailers(Self.block([("Grpc-Status", "0")]))?.reason == "field name Grpc-Status")
        #expect(ResponseHeaders.checkTrailers(Self.block([("connection", "close")]))?.reason == "connection-specific field connection")
    }

    @Test func requestHeads() {
        func request(_ method: HTTPRequest.Method = .get, scheme: String? = nil, authority: String? = nil, path: String? = "/") -> HTTPRequest {
            HTTPRequest(method: method, scheme: scheme, authority: authority, path: path)
        }
        #expect(HTTP2Client.malformed(request()) == nil)
        #expect(HTTP2Client.malformed(request(scheme: "https", authority: "a:1", path: "/x?y=%20")) == nil)
        #expect(HTTP2Client.malformed(request(path: nil)) == nil)
        #expect(HTTP2Client.malformed(request(.connect, authority: "a:443", path: nil)) == "CONNECT is not supported")
        #expect(HTTP2Client.malformed(request(path: "")) == "bad path \"\"")
        #expect(HTTP2Client.malformed(request(path: "/a b")) == "bad path \"/a b\"")
        // swift-http-types turns CR and LF into spaces, which a pseudo-header may not hold either.
        #expect(HTTP2Client.malformed(request(path: "/a\r\nx: y")) == "bad path \"/a  x: y\"")
        #expect(HTTP2Client.malformed(request(scheme: "")) == "bad scheme \"\"")
        #expect(HTTP2Client.malformed(request(authority: "a b")) == "bad authority \"a b\"")
        #expect(HTTP2Client.malformed(request(authority: "a\tb")) == "bad authority \"a\\tb\"")
    }

    /// TE goes out only as `trailers`, connection-specific fields and Host never.
    @Test func requestBlockDropsWhatHTTP2Forbids() {
        var head = HTTPRequest(method: .get, scheme: "http", authority: "a", path: "/")
        head.headerFields[.te] = "Trailers"
        head.headerFields[.connection] = "close"
        head.headerFields[HTTPField.Name("Keep-Alive")!] = "5"
        head.headerFields[.transferEncoding] = "chunked"
        head.headerFields[.upgrade] = "h2c"
        head.headerFields[HTTPField.Name("Host")!] = "b"
        head.headerFields[.accept] = "*/*"
        let block = PendingRequest.makeHeaders(head)
        #expect(block.map { "\($0.name)=\($0.value)" } == [":method=GET", ":scheme=http", ":authority=a", ":path=/", "te=trailers", "accept=*/*"])
    }
}
