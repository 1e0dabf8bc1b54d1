import GoAwayKit
import GoAwayTesting
import HTTPTypes
import Synchronization
import Testing

/// The byte-level trace on real loopback connections between our client and our server.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct FrameTraceTests {
    static func frames(_ events: [FrameTraceEvent]) -> [TracedFrame] {
        events.compactMap { if case .frame(let f) = $0.kind { f } else { nil } }
    }

    @Test func configurationsKeepTheTrace() {
        let trace = FrameTrace { _ in }
        #expect(HTTP2ClientConfiguration(frameTrace: trace).frameTrace == trace)
        #expect(HTTP2Server.Configuration(frameTrace: trace).frameTrace == trace)
        #expect(FrameTrace { _ in } != trace)
    }

    @Test func clientTraceShowsEveryFrameWithDecodedHeaders() async throws {
        let recorder = FrameTraceRecorder()
        try await withTestServer { _, port in
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)/"], configuration: .init(frameTrace: recorder.trace))
            for path in ["/", "/status/204"] {
                let r = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: path))
                for try await _ in r.body {}
            }
            await client.shutdown()
        }
        let events = recorder.events
        guard case .connected = events.first?.kind else {
            Issue.record("first event: \(String(describing: events.first))")
            return
        }
        let frames = Self.frames(events)
        // Our SETTINGS first (the preface is skipped), then the server's.
        #expect(frames.first?.direction == .sent)
        #expect(frames.first?.header.type == .settings)
        #expect(frames.contains { $0.direction == .received && $0.header.type == .settings && !$0.header.isAck })
        let requests = frames.filter { $0.direction == .sent && $0.header.type == .headers }
        #expect(requests.map(\.header.streamID) == [1, 3])
        // The second request's :path is only right if the HPACK context carried over exactly.
        #expect(requests.map { $0.headerFields?.first { $0.name == ":path" }?.value } == ["/", "/status/204"])
        #expect(requests.allSatisfy { $0.header.endStream && $0.header.endHeaders })
        let responses = frames.filter { $0.direction == .received && $0.header.type == .headers }
        #expect(responses.map { $0.headerFields?.first { $0.name == ":status" }?.value } == ["200", "204"])
        #expect(frames.contains { $0.header.type == .windowUpdate })
        // Lengths are the wire lengths.
        for f in frames { if case .settings(let s) = f.payload { #expect(f.header.length == s.count * 6) } }
    }

    @Test func drainTraceHasBothGoAwaysAndAVerdict() async throws {
        let printed = LinesBox()
        let printer = FrameTracePrinter { printed.append($0) }
        let serverTrace = FrameTraceRecorder()
        var config = HTTP2Server.Configuration(
            connection: .init(maxRequestsPerConnection: 2, pingAckTimeout: .milliseconds(500), drainGrace: .seconds(5), noticeMinimumWait: .zero, maxRequestsDrain: .twoPhase))
        config.frameTrace = serverTrace.trace
        try await withTestServer(config) { _, port in
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)/"], configuration: .init(frameTrace: printer.trace))
            for i in 0..<3 {
                let r = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/r\(i)"))
                for try await _ in r.body {}
            }
            await client.shutdown()
        }
        let lines = printed.lines
        #expect(lines.contains { $0.hasSuffix("<- GOAWAY (stream 0, length 20, flags none)") })  // 8 + "max_requests"
        #expect(lines.contains("           Last-Stream-ID: 2147483647 (shutdown notice: a final GOAWAY follows)"))
        // The final GOAWAY (last-stream-id 3) may lose the race with the client's own close once
        // nothing is in flight; the server's trace below always has it.
        #expect(lines.contains("           Debug-Data: max_requests"))
        #expect(lines.contains { $0.contains("#2 connected to 127.0.0.1:") })
        let verdict = printer.verdictLines
        #expect(verdict.first?.hasPrefix("verdict: GOAWAY last-stream-id 2147483647") == true, "\(verdict)")
        #expect(verdict.first?.contains("on connection 1: stream 1, 3 processed") == true, "\(verdict)")
        // The server's own trace sees the GOAWAYs it wrote below NIOHTTP2Handler.
        let sent = Self.frames(serverTrace.events).filter { $0.direction == .sent && $0.header.type == .goAway }
        // The notice always; the final GOAWAY (3) only if it beats the client's own close, which
        // comes as soon as its last stream ends (no PING ack holds it back any more).
        let lastIDs = sent.compactMap { if case .goAway(let last, _, _) = $0.payload { last } else { nil } }
        #expect(lastIDs.first == 2147483647 && lastIDs.dropFirst().allSatisfy { $0 == 3 }, "\(lastIDs)")
        let firstInbound = Self.frames(serverTrace.events).first { $0.direction == .received }
        #expect(firstInbound?.header.type == .settings)  // the client preface was skipped
    }
}

final class LinesBox: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ block: String) { storage.withLock { $0 += block.split(separator: "\n").map(String.init) } }
    var lines: [String] { storage.withLock { $0 } }
}
