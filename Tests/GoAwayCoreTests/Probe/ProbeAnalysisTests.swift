import Testing

@testable import GoAwayCore

struct ProbeAnalysisTests {
    static func at(_ ms: Int64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }

    static func log(_ phase: ProbePhase, requests: [(Int32, Int64, Int64)], goAway: (Int64, Int32, String)? = nil,
                    closed: Int64? = nil, gaveUp: Int64? = nil) -> ProbeConnectionLog {
        var l = ProbeConnectionLog(phase: phase, startedAt: at(0))
        l.connectedAt = at(1)
        l.requests = requests.map { r in
            var q = ProbeConnectionLog.Request(streamID: StreamID(r.0), sentAt: at(r.1))
            q.endedAt = at(r.2)
            return q
        }
        if let g = goAway {
            l.goAways = [.init(at: at(g.0), lastStreamID: StreamID(g.1), code: .noError, debugData: GoAwayDebugData(g.2))]
        }
        l.closedAt = closed.map(at)
        l.gaveUpAt = gaveUp.map(at)
        return l
    }

    @Test func requestCountIgnoresStreamsAboveLastID() {
        let l = Self.log(.requests, requests: [(1, 1, 2), (3, 2, 3), (5, 3, 4)], goAway: (4, 3, ""))
        #expect(ProbeAnalysis.requestsPerConnection(l) == 2)
    }

    @Test func idleMeasuredFromTheEndOfTheLastResponse() {
        let l = Self.log(.idle, requests: [(1, 1, 11)], goAway: (2011, 1, "idle_timeout"))
        #expect(ProbeAnalysis.idleTimeout(l) == .measured(.milliseconds(2000)))
        let closedOnly = Self.log(.idle, requests: [(1, 1, 11)], closed: 3011)
        #expect(ProbeAnalysis.idleTimeout(closedOnly) == .measured(.milliseconds(3000)))
        let other = Self.log(.idle, requests: [(1, 1, 11)], goAway: (500, 1, "max_age"))
        #expect(ProbeAnalysis.idleTimeout(other) == .unknown(note: "the GOAWAY said max_age"))
    }

    @Test func ageFromConnectUnlessTheRequestLimitExplainsIt() {
        let aged = Self.log(.age, requests: [(1, 1, 2), (3, 1001, 1002)], goAway: (4001, 3, ""))
        #expect(ProbeAnalysis.maxAge(aged, requestLimit: 7) == .measured(.milliseconds(4000)))
        #expect(ProbeAnalysis.maxAge(aged, requestLimit: 2) == .unknown(note: "the request limit came first"))
        let none = Self.log(.age, requests: [(1, 1, 2)], gaveUp: 9001)
        #expect(ProbeAnalysis.maxAge(none, requestLimit: nil) == .longerThan(.seconds(9)))
    }

    @Test func drainPingsAreNotKeepalive() {
        var l = Self.log(.idle, requests: [(1, 1, 2)], goAway: (5002, 1, ""), closed: 5010)
        l.serverPings = [Self.at(5003)]
        #expect(ProbeAnalysis.keepalive([l], drainWait: .seconds(2)) == .none(observed: .milliseconds(5009)))
        l.serverPings = [Self.at(3002), Self.at(5003)]
        #expect(ProbeAnalysis.keepalive([l], drainWait: .seconds(2)) == .onceAfter(.seconds(3)))
    }

    @Test func reportText() {
        let report = ProbeReport(
            requestsPerConnection: .limit(7), idleTimeout: .measured(.milliseconds(2013)), maxAge: .measured(.milliseconds(3987)),
            keepalive: .none(observed: .seconds(8)), pingPolicy: .notProbed,
            connections: [Self.log(.requests, requests: [(1, 1, 2)], goAway: (3, 13, "max_requests"))])
        #expect(report.textLines() == [
            "max requests per connection = 7",
            "idle timeout ≈ 2.0 s",
            "max age ≈ 4.0 s",
            "server sent no keepalive PINGs in 8.0 s of connections",
            "ping policy: not probed (--pings)",
            "connection 1 (requests): GOAWAY after 0.002 s, NO_ERROR, last-stream-id 13, 1 requests, debug data \"max_requests\"",
        ])
        #expect(report.json().contains("\"requests_per_connection\": {\n    \"result\": \"limit\",\n    \"count\": 7\n  }"))
    }
}
