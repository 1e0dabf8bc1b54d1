import GoAwayKit
import GoAwayTesting
import MetricsTestKit
import Testing

@Suite("Server metrics and events", .serialized)
struct ServerMetricsTests {
    @Test("GOAWAYs by code and reason, connections, requests are counted", .enabled(if: Peers.available("h2load")))
    func countersUnderMaxRequests() async throws {
        let metrics = TestMetrics()
        var config = HTTP2Server.Configuration()
        config.connection.maxRequestsPerConnection = 10
        // Two-phase: each connection's notice goes out at its 10th request. (Answers-first waits
        // after the last answer, and h2load, done after 10, closes first: no GOAWAY is needed.)
        config.connection.maxRequestsDrain = .twoPhase
        config.metricsFactory = metrics
        try await withTestServer(config) { server, port in
            let h2load = try PeerProcess("h2load", ["-n", "100", "-c", "10", "-m", "1", "http://127.0.0.1:\(port)/"])
            try await h2load.wait(timeout: .seconds(60))
            #expect(h2load.stdout.contains("100 succeeded, 0 failed"), "\(h2load.stdout)")
            try await ServerDrainInteropTests.waitUntilClosed(server, connections: 10)
            // Each connection answers exactly 10 requests, then drains: 10 connections, each with its
            // notice; the final GOAWAY only where h2load had not already closed on the notice.
            #expect(metrics.counterTotal(label: "goaway_server_requests_total") == 100)
            #expect(metrics.counterTotal(label: "goaway_server_connections_accepted_total") == 10)
            let sent = metrics.counterTotal(label: "goaway_server_goaways_sent_total", dimensions: [("code", "NO_ERROR"), ("reason", "max_requests")])
            #expect((10...20).contains(sent), "\(sent)")
            #expect(server.statistics.goAwaysSent[.maxRequests] == Int(sent))
        }
    }
}
