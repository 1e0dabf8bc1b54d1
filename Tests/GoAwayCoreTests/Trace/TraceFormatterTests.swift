import Testing

@testable import GoAwayCore

struct TraceFormatterTests {
    static let t0 = Instant(nanoseconds: 5_000_000_000)

    static func ev(_ ms: Int64, _ kind: FrameTraceEvent.Kind) -> FrameTraceEvent { ev(ms, 1, kind) }

    static func ev(_ ms: Int64, _ connection: Int, _ kind: FrameTraceEvent.Kind) -> FrameTraceEvent {
        FrameTraceEvent(connection: connection, time: t0 + .milliseconds(ms), kind: kind)
    }

    static func frame(_ dir: TraceDirection, _ type: FrameType, stream: StreamID = 0, length: Int, flags: UInt8 = 0,
                      _ payload: FramePayload, fields: [HeaderField]? = nil) -> FrameTraceEvent.Kind {
        .frame(TracedFrame(direction: dir, header: FrameHeader(length: length, type: type, flags: flags, streamID: stream),
                           payload: payload, headerFields: fields))
    }

    @Test func timestamps() {
        #expect(TraceFormatter.timestamp(.zero) == "[   0.000]")
        #expect(TraceFormatter.timestamp(.milliseconds(1250)) == "[   1.250]")
        #expect(TraceFormatter.timestamp(.milliseconds(123_456)) == "[ 123.456]")
        #expect(TraceFormatter.timestamp(.milliseconds(-5)) == "[   0.000]")
    }

    @Test func seedStyleTrace() {
        var f = TraceFormatter()
        var lines: [String] = []
        lines += f.lines(for: Self.ev(0, .connected(remote: "127.0.0.1:8080")))
        lines += f.lines(for: Self.ev(1, Self.frame(.sent, .settings, length: 6, .settings([.init(.maxConcurrentStreams, 100)]))))
        lines += f.lines(for: Self.ev(2, Self.frame(.sent, .headers, stream: 1, length: 43, flags: 5, .headers(fragment: []),
                                                    fields: [HeaderField(":method", "GET"), HeaderField(":path", "/"), HeaderField("cookie", "secret")])))
        lines += f.lines(for: Self.ev(4, Self.frame(.received, .goAway, length: 8,
                                                    .goAway(lastStreamID: 3, code: .noError, debugData: GoAwayDebugData([])))))
        lines += f.lines(for: Self.ev(5, Self.frame(.received, .ping, length: 8, .ping(opaque: 1))))
        lines += f.lines(for: Self.ev(6, Self.frame(.received, .rstStream, stream: 5, length: 4, .rstStream(.refusedStream))))
        lines += f.lines(for: Self.ev(7, Self.frame(.received, .windowUpdate, length: 4, .windowUpdate(increment: 983_041))))
        lines += f.lines(for: Self.ev(8, 2, .connected(remote: "127.0.0.1:8080")))
        lines += f.lines(for: Self.ev(1500, .closed))
        #expect(lines == [
            "[   0.000] connected to 127.0.0.1:8080",
            "[   0.001] -> SETTINGS (stream 0, length 6, flags none)",
            "           MAX_CONCURRENT_STREAMS: 100",
            "[   0.002] -> HEADERS (stream 1, length 43, flags END_STREAM|END_HEADERS)",
            "           :method: GET",
            "           :path: /",
            "           cookie: <redacted 6 bytes>",
            "[   0.004] <- GOAWAY (stream 0, length 8, flags none)",
            "           Last-Stream-ID: 3",
            "           Error-Code: NO_ERROR (0x0)",
            "[   0.005] <- PING (stream 0, length 8, flags none)",
            "           Opaque-Data: 0x0000000000000001",
            "[   0.006] <- RST_STREAM (stream 5, length 4, flags none)",
            "           Error-Code: REFUSED_STREAM (0x7)",
            "[   0.007] <- WINDOW_UPDATE (stream 0, length 4, flags none)",
            "           Window-Size-Increment: 983041",
            "[   0.008] #2 connected to 127.0.0.1:8080 (connection 2)",
            "[   1.500] connection closed",
        ])
    }

    @Test func debugDataRedactedUnlessRevealed() {
        let goAway = Self.frame(.received, .goAway, length: 8 + 12,
                                .goAway(lastStreamID: .max, code: .noError, debugData: GoAwayDebugData("host=db-7.internal")))
        var redacted = TraceFormatter()
        #expect(redacted.lines(for: Self.ev(0, goAway)).suffix(3) == [
            "           Last-Stream-ID: 2147483647 (shutdown notice: a final GOAWAY follows)",
            "           Error-Code: NO_ERROR (0x0)",
            "           Debug-Data: <redacted 18 bytes>",
        ])
        var shown = TraceFormatter(reveal: true)
        #expect(shown.lines(for: Self.ev(0, goAway)).last == "           Debug-Data: host=db-7.internal")
        let token = Self.frame(.received, .goAway, length: 22,
                               .goAway(lastStreamID: 1, code: .enhanceYourCalm, debugData: GoAwayDebugData("too_many_pings")))
        #expect(redacted.lines(for: Self.ev(0, token)).last == "           Debug-Data: too_many_pings")
    }

    @Test func undecodedHeaderBlocks() {
        var f = TraceFormatter()
        let cont = Self.frame(.sent, .headers, stream: 1, length: 10, flags: 1, .headers(fragment: [1]))
        #expect(f.lines(for: Self.ev(0, cont)).last == "           (header block continues in CONTINUATION frames)")
        let bad = FrameTraceEvent.Kind.frame(TracedFrame(
            direction: .received, header: FrameHeader(length: 1, type: .headers, flags: 4, streamID: 1),
            payload: .headers(fragment: [0xff]), headerError: "bad index"))
        #expect(f.lines(for: Self.ev(0, bad)).last == "           (header block not decoded: bad index)")
    }
}
