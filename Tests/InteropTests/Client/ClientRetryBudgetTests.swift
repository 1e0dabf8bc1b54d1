import Foundation
import GoAwayKit
import GoAwayTools
import GoAwayTesting
import Testing

/// Re-sends by deadline under the client-wide budget, against a Python h2 peer that refuses
/// streams with REFUSED_STREAM at random (`goaway_every_n_server.py --refuse-fraction`).
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ClientRetryBudgetTests {
    /// Streams the peer saw, from its per-connection summaries (printed when connections close).
    static func streamsSeen(_ peer: PeerProcess) -> Int {
        peer.stdout.split(separator: "\n").filter { $0.hasPrefix("CONN ") }.reduce(0) { sum, line in
            sum + (line.split(separator: " ").first { $0.hasPrefix("seen=") }.flatMap { Int($0.dropFirst(5)) } ?? 0)
        }
    }

    /// 20% refused at random: nothing is lost (the figure is 100,000; CI runs 5,000).
    @Test(.enabled(if: Peers.available("python-h2")))
    func twentyPercentRefusedLosesNothing() async throws {
        let (peer, port) = try await ClientPeers.pythonServer(["--refuse-fraction", "0.2"])
        defer { peer.kill() }
        let n = Int(ProcessInfo.processInfo.environment["GOAWAY_REFUSE_REQUESTS"] ?? "") ?? 5000
        let report = try await LoadRunner(options: .init(urls: ["http://127.0.0.1:\(port)/"], requests: n, concurrency: 32)).run()
        print("refuse 20% n=\(n): \(report.json())")
        #expect(report.failed == 0, "\(report.errors) \(report.error_messages)")
        #expect(report.succeeded == n)
        #expect((report.resent_by_reason["refused_stream"] ?? 0) > n / 10)
    }

    /// Everything refused: 200 requests with --timeout 5 end within about 5 s as not_processed,
    /// and the peer sees a few hundred streams, not thousands.
    @Test(.enabled(if: Peers.available("python-h2")))
    func everythingRefusedEndsByTheDeadline() async throws {
        let (peer, port) = try await ClientPeers.pythonServer(["--refuse-fraction", "1"])
        defer { peer.kill() }
        let began = ContinuousClock.now
        let load = try PeerProcess(try ClientPeers.goaway(), ["load", "-n", "200", "-c", "200", "--timeout", "5", "--json", "http://127.0.0.1:\(port)/"])
        #expect(try await load.wait(timeout: .seconds(30)) == 1)
        let elapsed = ContinuousClock.now - began
        let report = try JSONDecoder().decode(LoadRunner.Report.self, from: Data(load.stdout.utf8))
        try await Task.sleep(for: .milliseconds(300))  // the peer's summaries
        let streams = Self.streamsSeen(peer)
        print("refuse 100% n=200 --timeout 5: \(elapsed), streams \(streams): \(report.json())")
        // A re-send still on the wire at the deadline is an honest request_timeout; the pool
        // starts none with less than 25 ms left, so that is rare.
        #expect((report.errors["not_processed"] ?? 0) >= 197, "\(report.errors)")
        #expect(report.errors.keys.allSatisfy { $0 == "not_processed" || $0 == "request_timeout" }, "\(report.errors)")
        #expect(elapsed < .seconds(8))
        #expect(streams >= 200 && streams <= 600, "\(streams) streams")
        #expect(load.stderr.hasPrefix("goaway: load: 200 of 200 requests failed ("), "\(load.stderr)")
        #expect(load.stderr.contains(" not_processed): not processed (refused_stream)"), "\(load.stderr)")
    }

    /// `goaway get --no-resend`: one stream, the refusal reported, nothing sent again.
    @Test(.enabled(if: Peers.available("python-h2")))
    func getNoResendSendsOnce() async throws {
        let (peer, port) = try await ClientPeers.pythonServer(["--refuse-every", "1"])
        defer { peer.kill() }
        let get = try PeerProcess(try ClientPeers.goaway(), ["get", "--no-resend", "http://127.0.0.1:\(port)/"])
        #expect(try await get.wait(timeout: .seconds(20)) == 1)
        #expect(get.stderr.hasPrefix("goaway: get: not processed (refused_stream)"), "\(get.stderr)")
        #expect(get.stderr.split(separator: "\n").count == 1)
        try await Task.sleep(for: .milliseconds(300))
        #expect(Self.streamsSeen(peer) == 1, "\(peer.stdout)")
    }
}
