import Foundation
import GoAwayKit
import GoAwayTesting
import HTTPTypes
import Testing

/// The frame trace against real peers, and `goaway get --trace` / `goaway probe` as users run them.
@Suite("frame trace and probe (interop)", .serialized, .exclusive, .timeLimit(.minutes(3)))
struct TraceInteropTests {
    static var binary: String {
        get throws {
            guard let path = Peers.goawayBinary else { throw PeerError("goaway binary not built (swift build --build-tests)") }
            return path
        }
    }

    /// nghttpd encodes with its own HPACK choices (Huffman, dynamic table): every header block of
    /// both directions must decode, across several requests on one connection.
    @Test(.enabled(if: Peers.available("nghttpd")))
    func libraryTraceAgainstNghttpd() async throws {
        let (server, port, _) = try await ClientPeers.nghttpd()
        defer { server.kill() }
        let recorder = FrameTraceRecorder()
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)/"], configuration: .init(frameTrace: recorder.trace))
        for _ in 0..<3 {
            let r = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/index.html"))
            for try await _ in r.body {}
        }
        await client.shutdown()
        let frames = recorder.events.compactMap { if case .frame(let f) = $0.kind { f } else { nil } }
        let blocks = frames.filter { $0.header.type == .headers }
        #expect(blocks.count == 6)
        #expect(blocks.allSatisfy { $0.headerFields != nil && $0.headerError == nil }, "\(blocks)")
        let statuses = blocks.filter { $0.direction == .received }.map { $0.headerFields?.first { $0.name == ":status" }?.value }
        #expect(statuses == ["200", "200", "200"])
        #expect(blocks.filter { $0.direction == .received }.allSatisfy { $0.headerFields!.contains { $0.name == "server" } })
        let data = frames.filter { $0.direction == .received && $0.header.type == .data }
        #expect(data.reduce(0) { $0 + $1.header.length } == 3 * "hello from nghttpd\n".utf8.count)
        // Our shutdown sends a GOAWAY; nghttpd's SETTINGS ACK answers ours.
        #expect(frames.contains { $0.direction == .sent && $0.header.type == .goAway })
        #expect(frames.contains { $0.direction == .received && $0.header.type == .settings && $0.header.isAck })
    }

    @Test(.enabled(if: Peers.available("nghttpd")))
    func getTraceCLIAgainstNghttpd() async throws {
        let (server, port, _) = try await ClientPeers.nghttpd()
        defer { server.kill() }
        let get = try PeerProcess(try Self.binary, ["get", "--trace", "http://127.0.0.1:\(port)/index.html"])
        #expect(try await get.wait(timeout: .seconds(30)) == 0, "\(get.stderr)")
        #expect(get.stdout == "hello from nghttpd\n")
        let lines = get.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("[   0.000] connected to 127.0.0.1:\(port)") == true, "\(lines)")
        #expect(lines.contains { $0.contains("-> HEADERS (stream 1, length ") && $0.hasSuffix("flags END_STREAM|END_HEADERS)") })
        #expect(lines.contains("           :path: /index.html"))
        #expect(lines.contains("           :status: 200"))
        #expect(lines.contains { $0.contains("<- SETTINGS (stream 0, length ") })
        #expect(lines.contains { $0.contains("<- DATA (stream 1, length 19, flags ") })
        #expect(!lines.contains { $0.hasPrefix("verdict:") }, "no GOAWAY from nghttpd, so no verdict")
    }

    /// `goaway serve --max-requests 1`: the second request crosses a drain; the trace shows both
    /// GOAWAYs and the verdict.
    @Test func getTraceCLIDuringADrain() async throws {
        let serve = try PeerProcess(try Self.binary, ["serve", "--port", "0", "--max-requests", "1", "--max-requests-drain", "two-phase", "--ping-ack-timeout", "300ms"])
        defer { serve.kill() }
        let first = try await serve.waitForLine(containing: "listening on", timeout: .seconds(20))
        let port = try #require(first.split(separator: ":").last.flatMap { Int($0) })
        let get = try PeerProcess(try Self.binary, ["get", "--trace", "http://127.0.0.1:\(port)/"])
        #expect(try await get.wait(timeout: .seconds(30)) == 0, "\(get.stderr)")
        let lines = get.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("<- GOAWAY (stream 0, length 20, flags none)") }, "\(lines)")
        #expect(lines.contains("           Debug-Data: max_requests"))
        #expect(lines.contains { $0.hasPrefix("verdict: GOAWAY last-stream-id 2147483647") && $0.contains("stream 1 processed") }, "\(lines)")
    }

    @Test func probeCLIJSON() async throws {
        let serve = try PeerProcess(try Self.binary, ["serve", "--port", "0", "--max-requests", "5", "--idle-timeout", "1s", "--ping-ack-timeout", "300ms"])
        defer { serve.kill() }
        let first = try await serve.waitForLine(containing: "listening on", timeout: .seconds(20))
        let port = try #require(first.split(separator: ":").last.flatMap { Int($0) })
        let probe = try PeerProcess(try Self.binary, ["probe", "--max-time", "8s", "--json", "http://127.0.0.1:\(port)/"])
        #expect(try await probe.wait(timeout: .seconds(30)) == 0, "\(probe.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(probe.stdout.utf8)) as? [String: Any]
        let requests = json?["requests_per_connection"] as? [String: Any]
        #expect(requests?["result"] as? String == "limit")
        #expect(requests?["count"] as? Int == 5)
        let idle = json?["idle_timeout"] as? [String: Any]
        #expect(idle?["result"] as? String == "measured")
        let ms = idle?["ms"] as? Int ?? 0
        #expect((850...1250).contains(ms), "idle \(ms) ms")
    }
}
