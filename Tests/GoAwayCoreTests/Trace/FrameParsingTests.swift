import Testing

@testable import GoAwayCore

struct FrameParsingTests {
    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
    }

    struct FlagRow: Sendable, CustomStringConvertible {
        var type: FrameType
        var flags: UInt8
        var expected: String
        var description: String { "\(type) \(flags)" }
    }

    static let flagRows: [FlagRow] = [
        FlagRow(type: .headers, flags: 0x5, expected: "END_STREAM|END_HEADERS"),
        FlagRow(type: .headers, flags: 0x2d, expected: "END_STREAM|END_HEADERS|PADDED|PRIORITY"),
        FlagRow(type: .data, flags: 0x1, expected: "END_STREAM"),
        FlagRow(type: .data, flags: 0, expected: "none"),
        FlagRow(type: .settings, flags: 0x1, expected: "ACK"),
        FlagRow(type: .ping, flags: 0x1, expected: "ACK"),
        FlagRow(type: .goAway, flags: 0x1, expected: "0x1"),
        FlagRow(type: .continuation, flags: 0x4, expected: "END_HEADERS"),
        FlagRow(type: .pushPromise, flags: 0xc, expected: "END_HEADERS|PADDED"),
        FlagRow(type: .ping, flags: 0x41, expected: "ACK|0x40"),
    ]

    @Test(arguments: flagRows)
    func flagNames(_ row: FlagRow) {
        #expect(row.type.flagNames(row.flags) == row.expected)
    }

    @Test func typeNames() {
        #expect(FrameType(0x7).name == "GOAWAY")
        #expect(FrameType(0x3).name == "RST_STREAM")
        #expect(FrameType(0xfe).name == "UNKNOWN(0xfe)")
    }

    @Test func headerParsesAndIgnoresReservedBit() {
        let h = FrameHeader(parsing: [0x00, 0x00, 0x2b, 0x01, 0x05, 0x80, 0x00, 0x00, 0x01])
        #expect(h == FrameHeader(length: 43, type: .headers, flags: 5, streamID: 1))
        #expect(h?.endStream == true && h?.endHeaders == true)
        #expect(FrameHeader(parsing: [0, 0, 0]) == nil)
    }

    @Test func splitterSkipsPrefaceAndJoinsSplitReads() {
        var s = FrameSplitter(prefaceLength: 24)
        let settings = Self.frame(4, [0, 3, 0, 0, 0, 100])
        let ping = Self.frame(6, [0, 0, 0, 0, 0, 0, 0, 1])
        let bytes = FrameSplitter.clientPreface + settings + ping
        var frames: [RawFrame] = []
        // One byte at a time: every boundary is exercised.
        for b in bytes { frames += s.feed([b]) }
        #expect(frames.map(\.header.type) == [.settings, .ping])
        #expect(s.pending == 0)
        var whole = FrameSplitter(prefaceLength: 24)
        #expect(whole.feed(bytes).count == 2)
    }

    @Test func splitterStopsOnNonHTTP2Bytes() {
        var s = FrameSplitter(maxFrameLength: 16384)
        _ = s.feed(Array("HTTP/1.1 400 Bad Request\r\n".utf8))
        #expect(s.broken)
        #expect(s.feed(Self.frame(6, [0, 0, 0, 0, 0, 0, 0, 1])).isEmpty)
    }

    struct PayloadRow: Sendable, CustomStringConvertible {
        var name: String
        var bytes: [UInt8]
        var expected: FramePayload
        var description: String { name }
    }

    static let payloadRows: [PayloadRow] = [
        PayloadRow(name: "settings", bytes: frame(4, [0, 3, 0, 0, 0, 100, 0, 4, 0, 0x10, 0, 0]),
                   expected: .settings([.init(.maxConcurrentStreams, 100), .init(.initialWindowSize, 1 << 20)])),
        PayloadRow(name: "settings ack", bytes: frame(4, flags: 1, []), expected: .settings([])),
        PayloadRow(name: "bad settings", bytes: frame(4, [0, 3, 0]), expected: .malformed("length 3 is not a multiple of 6")),
        PayloadRow(name: "goaway", bytes: frame(7, [0, 0, 0, 3, 0, 0, 0, 0]),
                   expected: .goAway(lastStreamID: 3, code: .noError, debugData: GoAwayDebugData([]))),
        PayloadRow(name: "goaway debug", bytes: frame(7, [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0xb] + Array("too_many_pings".utf8)),
                   expected: .goAway(lastStreamID: .max, code: .enhanceYourCalm, debugData: GoAwayDebugData("too_many_pings"))),
        PayloadRow(name: "short goaway", bytes: frame(7, [0, 0]), expected: .malformed("length 2, GOAWAY needs at least 8")),
        PayloadRow(name: "ping", bytes: frame(6, [0, 0, 0, 0, 0, 0, 0x12, 0x34]), expected: .ping(opaque: 0x1234)),
        PayloadRow(name: "rst", bytes: frame(3, stream: 5, [0, 0, 0, 7]), expected: .rstStream(.refusedStream)),
        PayloadRow(name: "window update", bytes: frame(8, [0x80, 0, 0x10, 0]), expected: .windowUpdate(increment: 4096)),
        PayloadRow(name: "headers padded+priority", bytes: frame(1, flags: 0x2c, stream: 1, [2, 0, 0, 0, 0, 16, 0x82, 0x84, 0, 0]),
                   expected: .headers(fragment: [0x82, 0x84])),
        PayloadRow(name: "headers bad padding", bytes: frame(1, flags: 0x8, stream: 1, [9, 0x82]),
                   expected: .malformed("padding or priority longer than the payload")),
        PayloadRow(name: "push promise", bytes: frame(5, flags: 4, stream: 1, [0, 0, 0, 2, 0x82]),
                   expected: .pushPromise(promisedStreamID: 2, fragment: [0x82])),
        PayloadRow(name: "data", bytes: frame(0, flags: 1, stream: 1, [1, 2, 3]), expected: .data),
    ]

    @Test(arguments: payloadRows)
    func payloads(_ row: PayloadRow) {
        var s = FrameSplitter()
        let frames = s.feed(row.bytes)
        #expect(frames.count == 1)
        #expect(FramePayload.decode(frames[0]) == row.expected)
    }
}
