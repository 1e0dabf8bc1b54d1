import Foundation
import GoAwayKit
import GoAwayTools
import GoAwayTesting
import Testing

/// Issue 10 item 4: a server that answers N requests per connection and then goes silent (no FIN,
/// no PING acks, no responses). The health check finds the dead connection (silence with streams
/// open -> PING -> no ack), the pool re-sends the idempotent GETs once on a fresh connection, and
/// every GET completes. Runs the built `goaway load` with `--keepalive`/`--keepalive-timeout`.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ClientDeadPeerTests {
    @Test func silentPeerLosesNoGet() async throws {
        guard let python = Peers.python ?? Peers.path("python3") else { throw PeerError("no python3") }
        let peer = try PeerProcess(python, ["-u", Peers.script("client_conformance_server.py"), "--port", "0", "--case", "silent-after", "--count", "5"])
        defer { peer.kill() }
        let port = try await ClientPeers.listeningPort(of: peer)
        let began = ContinuousClock.now
        // The case: -n 20 -c 2 --timeout 3 lost 16 of 20 before the health check.
        let load = try PeerProcess(try ClientPeers.goaway(), [
            "load", "http://127.0.0.1:\(port)/x", "-n", "20", "-c", "2", "--timeout", "3",
            "--keepalive", "0.5", "--keepalive-timeout", "0.5", "--json",
        ])
        let rc = try await load.wait(timeout: .seconds(60))
        let elapsed = ContinuousClock.now - began
        let line = try #require(load.stdout.split(separator: "\n").last, "no JSON line; stderr: \(load.stderr)")
        let report = try JSONDecoder().decode(LoadRunner.Report.self, from: Data(line.utf8))
        print("silent peer (5 answers per connection, then silence): \(elapsed): \(line)")
        #expect(rc == 0, "\(load.stderr)")
        #expect(report.failed == 0, "\(report.errors)")
        #expect(report.succeeded == 20)
        // The connections did die: GETs caught on them were re-sent, and more than one connection opened.
        #expect(report.resent_by_reason[ResendReason.idempotentAfterConnectionLoss.rawValue, default: 0] > 0, "\(report.resent_by_reason)")
        #expect(report.connections_opened > 1)
        #expect(peer.stdout.contains("SILENT 1"))
    }

    @Test func healthCheckIsOnByDefault() {
        let c = HTTP2ClientConfiguration()
        #expect(c.readIdleTimeout == .seconds(30))
        #expect(c.keepaliveTimeout == .seconds(20))
    }
}
