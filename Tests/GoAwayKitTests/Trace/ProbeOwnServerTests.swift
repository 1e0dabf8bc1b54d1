import GoAwayKit
import GoAwayTools
import GoAwayTesting
import Testing

/// `goaway probe` against our server with known limits: each must come back within 10%
/// (plus a little for a loaded machine's scheduling).
@Suite(.serialized, .exclusive, .timeLimit(.minutes(2)))
struct ProbeOwnServerTests {
    static func within(_ m: ProbeAnalysis.Measure, _ expected: Duration, low: Double = 0.9, high: Double = 1.1) -> Bool {
        guard case .measured(let d) = m else { return false }
        let slack = 0.15  // seconds: timers on a shared 2-core box
        return d.seconds >= expected.seconds * low - slack && d.seconds <= expected.seconds * high + slack
    }

    @Test func recoversMaxRequestsIdleTimeoutAndMaxAge() async throws {
        let policy = ServerConnectionPolicy(
            idleTimeout: .seconds(2), maxAge: .seconds(4), maxRequestsPerConnection: 7,
            pingAckTimeout: .milliseconds(300), drainGrace: .seconds(2))
        let report = try await withTestServer(HTTP2Server.Configuration(connection: policy)) { _, port in
            try await GoAwayProbe.run(url: "http://127.0.0.1:\(port)/", configuration: .init(maxTime: .seconds(40)))
        }
        print(report.textLines().joined(separator: "\n"))
        #expect(report.requestsPerConnection == .limit(7))
        #expect(Self.within(report.idleTimeout, .seconds(2)), "\(report.idleTimeout)")
        // ±10% jitter is the server's own: the age may land anywhere in 3.6...4.4 s.
        #expect(Self.within(report.maxAge, .seconds(4)), "\(report.maxAge)")
    }

    @Test func pingPolicyAndNoLimits() async throws {
        let policy = ServerConnectionPolicy(idleTimeout: nil, minimumPeerPingInterval: .seconds(10), maxPingStrikes: 1)
        let report = try await withTestServer(HTTP2Server.Configuration(connection: policy)) { _, port in
            try await GoAwayProbe.run(
                url: "http://127.0.0.1:\(port)/",
                configuration: .init(maxTime: .seconds(16), maxRequests: 20, probePings: true, pingInterval: .milliseconds(300)))
        }
        print(report.textLines().joined(separator: "\n"))
        // No limit found. How far it counted depends on how fast this machine is within the time budget.
        if case .noneUpTo(let counted) = report.requestsPerConnection {
            #expect(counted >= 5, "\(counted)")
        } else {
            Issue.record("requests per connection: \(report.requestsPerConnection)")
        }
        guard case .enforced(_, _, let code, let debug) = report.pingPolicy else {
            Issue.record("ping policy: \(report.pingPolicy)")
            return
        }
        #expect(code == .enhanceYourCalm)
        #expect(debug == GoAwayDebugData("too_many_pings"))
    }

    @Test func unreachableServerFailsTheFirstConnect() async throws {
        let port = ClientPeers.freePort()
        let report = try await GoAwayProbe.run(url: "http://127.0.0.1:\(port)/", configuration: .init(maxTime: .seconds(5)))
        #expect(report.connections.count == 1)
        #expect(report.connections[0].connectError != nil)
    }
}
