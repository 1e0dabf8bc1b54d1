import Testing

@testable import GoAwayCore

/// Drives the planner against a simulated server with known limits, on a manual clock: the
/// analysis must recover the limits exactly (no network jitter here).
struct ProbePlannerTests {
    struct SimServer {
        var maxRequests: Int?
        var idle: Duration?
        var maxAge: Duration?
        var keepalive: Duration?
        var minPingInterval: Duration?
        var rtt: Duration = .milliseconds(2)
    }

    /// Runs the probe to the end; every step is bounded.
    static func run(_ server: SimServer, _ config: ProbePlanner.Configuration) -> (ProbeReport, [ProbePlanner.Action]) {
        var now = Instant(nanoseconds: 1_000_000_000)
        var p = ProbePlanner(configuration: config, now: now)
        var actions: [ProbePlanner.Action] = []
        // Per connection: connect time, streams opened, last activity, goaway sent.
        var connectedAt: [Int: Instant] = [:]
        var opened: [Int: Int] = [:]
        var lastActive: [Int: Instant] = [:]
        var lastPing: [Int: Instant] = [:]
        var goneAway: Set<Int> = []
        var lastServerPing: [Int: Instant] = [:]
        var open: Set<Int> = []
        func goAway(_ c: Int, _ debug: String, code: HTTP2ErrorCode = .noError) {
            guard !goneAway.contains(c) else { return }
            goneAway.insert(c)
            p.goAwayReceived(c, lastStreamID: StreamID(Int32(max(0, opened[c, default: 0] * 2 - 1))), code: code,
                             debugData: GoAwayDebugData(debug), now: now)
        }
        /// Server timers that fire before `until` (idle, age, keepalive) for the open connection.
        func advance(to until: Instant) {
            for c in open.sorted() where !goneAway.contains(c) {
                var events: [(Instant, String)] = []
                if let idle = server.idle { events.append((lastActive[c]! + idle, "idle_timeout")) }
                if let age = server.maxAge { events.append((connectedAt[c]! + age, "max_age")) }
                if let k = server.keepalive { events.append(((lastServerPing[c] ?? lastActive[c]!) + k, "ping")) }
                guard let first = events.min(by: { $0.0 < $1.0 }), first.0 <= until else { continue }
                now = first.0
                if first.1 == "ping" {
                    lastServerPing[c] = now
                    p.pingReceived(c, now: now)
                } else {
                    goAway(c, first.1)
                }
                return  // the planner reacts to the event before time moves on
            }
            now = max(now, until)
        }
        for _ in 0..<100_000 {
            let action = p.next(now: now)
            actions.append(action)
            switch action {
            case .finish:
                return (ProbeAnalysis.analyze(p.logs, configuration: config), actions)
            case .connect(let c):
                now = now + server.rtt
                connectedAt[c] = now
                lastActive[c] = now
                open.insert(c)
                p.connected(c, now: now)
            case .sendRequest(let c):
                opened[c, default: 0] += 1
                let stream = StreamID(Int32(opened[c]! * 2 - 1))
                p.requestSent(c, stream: stream, now: now)
                now = now + server.rtt
                lastActive[c] = now
                p.responseEnded(c, stream: stream, status: 200, now: now)
                if let max = server.maxRequests, opened[c]! >= max { goAway(c, "max_requests") }
            case .sendPing(let c):
                if let min = server.minPingInterval, let last = lastPing[c], now - last < min { goAway(c, "too_many_pings", code: .enhanceYourCalm) }
                lastPing[c] = now
            case .close(let c):
                open.remove(c)
                p.closed(c, now: now)
            case .wait(let until):
                #expect(until > now || until == now)
                advance(to: until)
            }
        }
        Issue.record("the probe did not finish")
        return (ProbeAnalysis.analyze(p.logs, configuration: config), actions)
    }

    @Test func recoversAllLimits() {
        let server = SimServer(maxRequests: 7, idle: .seconds(2), maxAge: .seconds(4))
        let (report, _) = Self.run(server, .init(maxTime: .seconds(60)))
        #expect(report.requestsPerConnection == .limit(7))
        #expect(report.idleTimeout == .measured(.seconds(2)))
        #expect(report.maxAge == .measured(.seconds(4)))
        if case .none = report.keepalive {} else { Issue.record("keepalive: \(report.keepalive)") }
        #expect(report.pingPolicy == .notProbed)
    }

    @Test func ageSpacingStaysBelowTheIdleTimeout() {
        // interval 5 s would idle out a 2 s idle timeout: the planner spaces requests 1 s apart.
        let server = SimServer(maxRequests: 100, idle: .seconds(2), maxAge: .seconds(9))
        let (report, _) = Self.run(server, .init(maxTime: .seconds(60), interval: .seconds(5)))
        #expect(report.maxAge == .measured(.seconds(9)))
    }

    @Test func requestLimitBeforeAgeIsNotTakenForAge() {
        // 3 requests per connection, age 20 s: the age phase stops at 2 requests and reports "longer than".
        let server = SimServer(maxRequests: 3, idle: .seconds(2), maxAge: .seconds(20))
        let (report, _) = Self.run(server, .init(maxTime: .seconds(30)))
        #expect(report.requestsPerConnection == .limit(3))
        guard case .longerThan = report.maxAge else {
            Issue.record("max age: \(report.maxAge)")
            return
        }
    }

    @Test func noLimitsWithinTheBudget() {
        let (report, actions) = Self.run(SimServer(), .init(maxTime: .seconds(10), maxRequests: 50))
        #expect(report.requestsPerConnection == .noneUpTo(50))
        guard case .longerThan = report.idleTimeout, case .longerThan = report.maxAge else {
            Issue.record("\(report)")
            return
        }
        #expect(actions.last == .finish)
    }

    @Test func keepaliveAndPingPolicy() {
        let server = SimServer(idle: nil, keepalive: .seconds(3), minPingInterval: .seconds(10))
        let (report, _) = Self.run(server, .init(maxTime: .seconds(40), maxRequests: 10, probePings: true))
        #expect(report.keepalive == .every(.seconds(3)))
        guard case .enforced(let n, _, let code, let debug) = report.pingPolicy else {
            Issue.record("\(report.pingPolicy)")
            return
        }
        #expect(n == 2 && code == .enhanceYourCalm && debug == GoAwayDebugData("too_many_pings"))
    }

    @Test func firstConnectFailureFinishes() {
        var p = ProbePlanner(now: .zero)
        #expect(p.next(now: .zero) == .connect(connection: 0))
        p.connectFailed(0, error: "refused", now: .zero)
        #expect(p.next(now: .zero) == .finish)
        #expect(ProbeAnalysis.analyze(p.logs, configuration: .defaults).requestsPerConnection == .unknown(note: "connect failed: refused"))
    }
}
