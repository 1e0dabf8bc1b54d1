/// What `goaway probe` found, ready to print as text or JSON.
public struct ProbeReport: Hashable, Sendable {
    /// Requests the server allows per connection.
    public var requestsPerConnection: ProbeAnalysis.Count
    /// How long an idle connection lives.
    public var idleTimeout: ProbeAnalysis.Measure
    /// How long a busy connection lives.
    public var maxAge: ProbeAnalysis.Measure
    /// The server's keepalive PINGs.
    public var keepalive: ProbeAnalysis.KeepalivePings
    /// The server's policy on client PINGs.
    public var pingPolicy: ProbeAnalysis.PingPolicy
    /// Every probe connection's log.
    public var connections: [ProbeConnectionLog]

    /// A report of these findings.
    public init(requestsPerConnection: ProbeAnalysis.Count, idleTimeout: ProbeAnalysis.Measure, maxAge: ProbeAnalysis.Measure,
                keepalive: ProbeAnalysis.KeepalivePings, pingPolicy: ProbeAnalysis.PingPolicy, connections: [ProbeConnectionLog]) {
        self.requestsPerConnection = requestsPerConnection
        self.idleTimeout = idleTimeout
        self.maxAge = maxAge
        self.keepalive = keepalive
        self.pingPolicy = pingPolicy
        self.connections = connections
    }

    static func seconds(_ d: Duration) -> String {
        let ms = max(0, d.nanosecondsClamped / 1_000_000)
        let frac = String(ms % 1000)
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
    }

    static func approx(_ d: Duration) -> String {
        let ms = max(0, d.nanosecondsClamped / 1_000_000)
        let tenths = (ms + 50) / 100
        return "\(tenths / 10).\(tenths % 10) s"
    }

    static func text(_ m: ProbeAnalysis.Measure) -> String {
        switch m {
        case .measured(let d): "≈ \(approx(d))"
        case .longerThan(let d): "none seen: longer than \(approx(d))"
        case .unknown(let note): "unknown (\(note))"
        }
    }

    /// One line per finding, then one per GOAWAY seen.
    public func textLines(reveal: Bool = false) -> [String] {
        var out: [String] = []
        switch requestsPerConnection {
        case .limit(let n): out.append("max requests per connection = \(n)")
        case .noneUpTo(let n): out.append("max requests per connection: none seen up to \(n) requests")
        case .unknown(let note): out.append("max requests per connection: unknown (\(note))")
        }
        out.append("idle timeout \(Self.text(idleTimeout))")
        out.append("max age \(Self.text(maxAge))")
        switch keepalive {
        case .every(let d): out.append("server sends keepalive PINGs every ≈ \(Self.approx(d))")
        case .onceAfter(let d): out.append("server sent a keepalive PING after ≈ \(Self.approx(d)) of silence")
        case .none(let observed): out.append("server sent no keepalive PINGs in \(Self.approx(observed)) of connections")
        }
        switch pingPolicy {
        case .enforced(let n, let interval, let code, let debug):
            let shown = debug.isEmpty ? "" : " \"\(debug.rendered(redact: !reveal))\""
            out.append("ping policy: GOAWAY \(code.name ?? code.hex)\(shown) after \(n) PINGs \(Self.approx(interval)) apart")
        case .tolerated(let n, let interval):
            out.append("ping policy: \(n) PINGs \(Self.approx(interval)) apart tolerated")
        case .notProbed:
            out.append("ping policy: not probed (--pings)")
        }
        for (i, c) in connections.enumerated() {
            let base = c.connectedAt ?? c.startedAt
            for g in c.goAways {
                var line = "connection \(i + 1) (\(c.phase.rawValue)): GOAWAY after \(Self.seconds(g.at - base)) s, "
                line += "\(g.code.name ?? g.code.hex), last-stream-id \(g.lastStreamID), \(c.requests.count) requests"
                if !g.debugData.isEmpty { line += ", debug data \"\(g.debugData.rendered(redact: !reveal))\"" }
                out.append(line)
            }
            if c.goAways.isEmpty, let closed = c.closedAt, c.connectError == nil, c.gaveUpAt == nil {
                out.append("connection \(i + 1) (\(c.phase.rawValue)): closed without GOAWAY after \(Self.seconds(closed - base)) s")
            }
            if let error = c.connectError { out.append("connection \(i + 1) (\(c.phase.rawValue)): connect failed: \(error)") }
        }
        return out
    }

    /// The report as one JSON object (`goaway probe --json`); `reveal` shows debug data verbatim.
    public func json(reveal: Bool = false) -> String {
        func measure(_ m: ProbeAnalysis.Measure) -> JSONValue {
            switch m {
            case .measured(let d): .object([("result", .string("measured")), ("ms", .int(d.nanosecondsClamped / 1_000_000))])
            case .longerThan(let d): .object([("result", .string("longer_than")), ("ms", .int(d.nanosecondsClamped / 1_000_000))])
            case .unknown(let note): .object([("result", .string("unknown")), ("note", .string(note))])
            }
        }
        let requests: JSONValue = switch requestsPerConnection {
        case .limit(let n): .object([("result", .string("limit")), ("count", .int(Int64(n)))])
        case .noneUpTo(let n): .object([("result", .string("none_up_to")), ("count", .int(Int64(n)))])
        case .unknown(let note): .object([("result", .string("unknown")), ("note", .string(note))])
        }
        let keep: JSONValue = switch keepalive {
        case .every(let d): .object([("result", .string("every")), ("ms", .int(d.nanosecondsClamped / 1_000_000))])
        case .onceAfter(let d): .object([("result", .string("once_after")), ("ms", .int(d.nanosecondsClamped / 1_000_000))])
        case .none(let o): .object([("result", .string("none")), ("observed_ms", .int(o.nanosecondsClamped / 1_000_000))])
        }
        let pings: JSONValue = switch pingPolicy {
        case .enforced(let n, let i, let code, let debug):
            .object([("result", .string("enforced")), ("after_pings", .int(Int64(n))), ("interval_ms", .int(i.nanosecondsClamped / 1_000_000)),
                     ("code", .string(code.name ?? code.hex)), ("debug_data", .string(debug.rendered(redact: !reveal)))])
        case .tolerated(let n, let i):
            .object([("result", .string("tolerated")), ("pings", .int(Int64(n))), ("interval_ms", .int(i.nanosecondsClamped / 1_000_000))])
        case .notProbed: .object([("result", .string("not_probed"))])
        }
        let conns: [JSONValue] = connections.map { c in
            let base = c.connectedAt ?? c.startedAt
            return .object([
                ("phase", .string(c.phase.rawValue)),
                ("requests", .int(Int64(c.requests.count))),
                ("connect_error", .optional(c.connectError)),
                ("goaways", .array(c.goAways.map { g in
                    .object([("after_ms", .int((g.at - base).nanosecondsClamped / 1_000_000)),
                             ("last_stream_id", .int(Int64(g.lastStreamID.rawValue))),
                             ("code", .string(g.code.name ?? g.code.hex)),
                             ("debug_data", .string(g.debugData.rendered(redact: !reveal)))])
                })),
                ("closed_after_ms", c.closedAt.map { .int(($0 - base).nanosecondsClamped / 1_000_000) } ?? .null),
            ])
        }
        return JSONValue.object([
            ("requests_per_connection", requests), ("idle_timeout", measure(idleTimeout)), ("max_age", measure(maxAge)),
            ("keepalive_pings", keep), ("ping_policy", pings), ("connections", .array(conns)),
        ]).rendered()
    }
}
