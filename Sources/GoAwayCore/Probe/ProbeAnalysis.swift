/// Turns probe logs into findings: requests per connection, idle timeout, max age, PING policy.
/// Pure; the tests feed it hand-made logs.
public enum ProbeAnalysis {
    /// A measured duration limit.
    public enum Measure: Hashable, Sendable {
        case measured(Duration)
        /// No GOAWAY within this long: the limit, if any, is longer.
        case longerThan(Duration)
        /// The phase did not run or its GOAWAY had another cause (`note` says which).
        case unknown(note: String)
    }

    /// A measured count limit.
    public enum Count: Hashable, Sendable {
        case limit(Int)
        case noneUpTo(Int)
        case unknown(note: String)
    }

    /// Whether and how often the server sent keepalive PINGs.
    public enum KeepalivePings: Hashable, Sendable {
        /// Server PINGs seen on one connection this far apart (median).
        case every(Duration)
        /// One PING, this long after the connection's last activity.
        case onceAfter(Duration)
        case none(observed: Duration)
    }

    /// How the server treated our PINGs on an idle connection.
    public enum PingPolicy: Hashable, Sendable {
        /// GOAWAY (usually ENHANCE_YOUR_CALM "too_many_pings") after this many PINGs `interval` apart.
        case enforced(afterPings: Int, interval: Duration, code: HTTP2ErrorCode, debugData: GoAwayDebugData)
        case tolerated(pings: Int, interval: Duration)
        case notProbed
    }

    /// Debug-data tokens that name a cause (GoAwayKit's server and gRPC use them).
    static func cause(_ g: ProbeConnectionLog.GoAway) -> String? {
        let text = g.debugData.unredacted.lowercased()
        for token in ["max_requests", "idle_timeout", "max_age", "too_many_pings", "keepalive_timeout", "shutdown"]
        where text.contains(token) { return token }
        return nil
    }

    /// Requests the server answered on a `requests`-phase connection before its GOAWAY cut the rest off; `nil` without a GOAWAY.
    public static func requestsPerConnection(_ log: ProbeConnectionLog) -> Int? {
        if case .limit(let n) = requestsFinding(log) { return n }
        return nil
    }

    static func requestsFinding(_ log: ProbeConnectionLog) -> Count {
        if let error = log.connectError { return .unknown(note: "connect failed: \(error)") }
        // Our own close (the phase gave up) is not the server's limit.
        if log.firstGoAway == nil && (log.gaveUpAt != nil || log.closedAt == nil) {
            return .noneUpTo(log.requests.count)
        }
        if let g = log.firstGoAway, let cause = cause(g), cause != "max_requests" {
            return .unknown(note: "the GOAWAY said \(cause)")
        }
        let last = log.effectiveLastStreamID ?? .max
        // Requests the server took: answered, at or below the last-stream-id, not refused.
        let served = log.requests.filter { $0.streamID <= last && $0.reset != .refusedStream && $0.endedAt != nil }
        return .limit(served.count)
    }

    /// How long an idle connection lived before the server's GOAWAY or close.
    public static func idleTimeout(_ log: ProbeConnectionLog) -> Measure {
        if let error = log.connectError { return .unknown(note: "connect failed: \(error)") }
        guard let end = log.requests.first?.endedAt else { return .unknown(note: "the request got no response") }
        if let g = log.firstGoAway {
            if let cause = cause(g), cause != "idle_timeout" { return .unknown(note: "the GOAWAY said \(cause)") }
            return .measured(g.at - end)
        }
        if let gaveUp = log.gaveUpAt { return .longerThan(gaveUp - end) }
        if let closed = log.closedAt { return .measured(closed - end) }
        return .unknown(note: "not measured")
    }

    /// How old a busy connection got before a max-age GOAWAY (`requestLimit` rules out max-requests GOAWAYs).
    public static func maxAge(_ log: ProbeConnectionLog, requestLimit: Int?) -> Measure {
        if let error = log.connectError { return .unknown(note: "connect failed: \(error)") }
        guard let start = log.connectedAt else { return .unknown(note: "not connected") }
        guard let g = log.firstGoAway else {
            if let gaveUp = log.gaveUpAt { return .longerThan(gaveUp - start) }
            if let closed = log.closedAt { return .unknown(note: "closed without GOAWAY after \(fmt(closed - start))") }
            return .unknown(note: "not measured")
        }
        if let cause = cause(g), cause != "max_age" { return .unknown(note: "the GOAWAY said \(cause)") }
        let sentBefore = log.requests.filter { $0.sentAt <= g.at }.count
        if cause(g) == nil, let limit = requestLimit, sentBefore >= limit {
            return .unknown(note: "the request limit came first")
        }
        return .measured(g.at - start)
    }

    /// Server-initiated PINGs, leaving out those that belong to a drain (a PING right after a GOAWAY).
    public static func keepalive(_ logs: [ProbeConnectionLog], drainWait: Duration) -> KeepalivePings {
        var gaps: [Duration] = []
        var after: Duration?
        var observed = Duration.zero
        for log in logs {
            guard let start = log.connectedAt else { continue }
            let end = log.closedAt ?? log.gaveUpAt ?? log.lastActivity ?? start
            observed += end - start
            let pings = log.serverPings.filter { p in !log.goAways.contains { p >= $0.at && p <= $0.at + drainWait } }
            for (a, b) in zip(pings, pings.dropFirst()) { gaps.append(b - a) }
            if after == nil, let first = pings.first {
                let before = ([start] + log.requests.compactMap(\.endedAt).filter { $0 <= first }).max()!
                after = first - before
            }
        }
        if !gaps.isEmpty { return .every(gaps.sorted()[gaps.count / 2]) }
        if let after { return .onceAfter(after) }
        return .none(observed: observed)
    }

    /// What the server did about PINGs `interval` apart on the `pings` connection.
    public static func pingPolicy(_ log: ProbeConnectionLog?, interval: Duration) -> PingPolicy {
        guard let log, log.connectedAt != nil else { return .notProbed }
        if let g = log.firstGoAway {
            return .enforced(afterPings: log.pingsSent.filter { $0 <= g.at }.count, interval: interval, code: g.code, debugData: g.debugData)
        }
        return .tolerated(pings: log.pingsSent.count, interval: interval)
    }

    /// All findings of a probe run.
    public static func analyze(_ logs: [ProbeConnectionLog], configuration: ProbePlanner.Configuration) -> ProbeReport {
        let byPhase = { (p: ProbePhase) in logs.first { $0.phase == p } }
        let requests = byPhase(.requests).map(requestsFinding) ?? .unknown(note: "not run")
        var limit: Int?
        if case .limit(let n) = requests { limit = n }
        return ProbeReport(
            requestsPerConnection: requests,
            idleTimeout: byPhase(.idle).map(idleTimeout) ?? .unknown(note: "not run"),
            maxAge: byPhase(.age).map { maxAge($0, requestLimit: limit) } ?? .unknown(note: "not run"),
            keepalive: keepalive(logs, drainWait: configuration.drainWait),
            pingPolicy: configuration.probePings ? pingPolicy(byPhase(.pings), interval: configuration.pingInterval) : .notProbed,
            connections: logs)
    }

    static func fmt(_ d: Duration) -> String {
        let ms = d.nanosecondsClamped / 1_000_000
        let tenths = (ms + 50) / 100
        return "\(tenths / 10).\(tenths % 10) s"
    }
}
