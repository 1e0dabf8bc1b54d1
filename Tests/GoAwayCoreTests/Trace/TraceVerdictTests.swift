import Testing

@testable import GoAwayCore

struct TraceVerdictTests {
    typealias F = TraceFormatterTests

    static func request(_ stream: StreamID, path: String = "/", endStream: Bool = true) -> FrameTraceEvent.Kind {
        F.frame(.sent, .headers, stream: stream, length: 20, flags: endStream ? 5 : 4, .headers(fragment: []),
                fields: [HeaderField(":method", "GET"), HeaderField(":authority", "a"), HeaderField(":path", path)])
    }
    static func response(_ stream: StreamID) -> FrameTraceEvent.Kind {
        F.frame(.received, .headers, stream: stream, length: 5, flags: 5, .headers(fragment: []), fields: [HeaderField(":status", "200")])
    }
    static func goAway(_ last: StreamID, _ code: HTTP2ErrorCode = .noError, _ debug: String = "") -> FrameTraceEvent.Kind {
        F.frame(.received, .goAway, length: 8, .goAway(lastStreamID: last, code: code, debugData: GoAwayDebugData(debug)))
    }
    static func reset(_ stream: StreamID, _ code: HTTP2ErrorCode) -> FrameTraceEvent.Kind {
        F.frame(.received, .rstStream, stream: stream, length: 4, .rstStream(code))
    }

    @Test func noGoAwayNoVerdict() {
        var v = TraceVerdict()
        v.record(F.ev(0, Self.request(1)))
        v.record(F.ev(1, Self.response(1)))
        #expect(v.lines().isEmpty)
    }

    @Test func processedAndResent() {
        var v = TraceVerdict()
        v.record(F.ev(0, .connected(remote: "x")))
        v.record(F.ev(1, Self.request(1, path: "/a")))
        v.record(F.ev(1, Self.request(3, path: "/b")))
        v.record(F.ev(1, Self.request(5, path: "/c")))
        v.record(F.ev(2, Self.response(1)))
        v.record(F.ev(3, Self.goAway(3)))
        v.record(F.ev(4, Self.response(3)))
        v.record(F.ev(5, 2, .connected(remote: "x")))
        v.record(F.ev(6, 2, Self.request(1, path: "/c")))
        v.record(F.ev(7, 2, Self.response(1)))
        #expect(v.verdicts.count == 1)
        #expect(v.verdicts[0].streams == [
            .init(stream: 1, fate: .processed), .init(stream: 3, fate: .processed),
            .init(stream: 5, fate: .notProcessed(refused: false), resentOn: .init(connection: 2, stream: 1)),
        ])
        #expect(v.lines() == [
            "verdict: GOAWAY last-stream-id 3 (NO_ERROR) on connection 1: stream 1, 3 processed; "
                + "stream 5 not processed (above last-stream-id) → re-sent on connection 2 (stream 1)",
        ])
    }

    @Test func twoPhaseDrainUsesTheLowestLastID() {
        var v = TraceVerdict()
        v.record(F.ev(0, Self.request(1)))
        v.record(F.ev(1, Self.goAway(.max, .noError, "shutdown")))
        v.record(F.ev(2, Self.goAway(1)))
        v.record(F.ev(3, Self.response(1)))
        #expect(v.lines() == ["verdict: GOAWAY last-stream-id 2147483647 then 1 (NO_ERROR, debug data \"shutdown\"): stream 1 processed"])
    }

    @Test func refusedAndCutOffStreams() {
        var v = TraceVerdict()
        v.record(F.ev(0, Self.request(1)))
        v.record(F.ev(0, Self.request(3)))
        v.record(F.ev(0, Self.request(5)))
        v.record(F.ev(1, Self.reset(3, .refusedStream)))
        v.record(F.ev(2, Self.goAway(5, .internalError)))
        v.record(F.ev(3, Self.reset(5, .cancel)))
        #expect(v.verdicts[0].streams.map(\.fate) == [
            .mayHaveBeenProcessed(reset: nil), .notProcessed(refused: true), .mayHaveBeenProcessed(reset: .cancel),
        ])
        #expect(v.lines() == [
            "verdict: GOAWAY last-stream-id 5 (INTERNAL_ERROR): stream 1 may have been processed (no complete response): re-sent only if idempotent; "
                + "stream 3 not processed (REFUSED_STREAM) → not re-sent; "
                + "stream 5 may have been processed (reset CANCEL): re-sent only if idempotent",
        ])
    }

    @Test func goAwayWithNoStreams() {
        var v = TraceVerdict()
        v.record(F.ev(0, Self.goAway(0, .enhanceYourCalm, "too_many_pings")))
        #expect(v.lines() == ["verdict: GOAWAY last-stream-id 0 (ENHANCE_YOUR_CALM, debug data \"too_many_pings\"): no streams of ours on it"])
    }

    @Test func aResendIsMatchedOnce() {
        var v = TraceVerdict()
        v.record(F.ev(0, Self.request(1)))
        v.record(F.ev(0, Self.request(3)))
        v.record(F.ev(1, Self.goAway(0)))
        v.record(F.ev(2, 2, Self.request(1)))
        #expect(v.verdicts[0].streams.map(\.resentOn) == [.init(connection: 2, stream: 1), nil])
    }
}
