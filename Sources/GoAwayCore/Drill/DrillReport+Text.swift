/// Text output of `goaway drill`: the live status line and the final tables. Pure formatting
/// (no Foundation), so the CLI only prints.
extension DrillReport {
    package func renderText() -> String {
        var out: [String] = []
        let s = settings
        let place = s.topology == .netns ? "in network namespaces" : "on loopback"
        out.append(
            "goaway drill: \(s.servers) servers \(place), concurrency \(s.concurrency), \(Fmt.num(s.durationSeconds, 1)) s per client "
                + "(\(s.phases.count) phases), GET + POST mix; storm = GOAWAY every \(s.stormMaxRequests) requests per connection")
        out.append("")
        var table = TextTable(["client", "phase", "requests", "ok", "re-sent", "failed", "unprocessed", "silent", "lost", "req/s", "p50 ms", "p99 ms"])
        for mode in s.modes {
            let rows = phases.filter { $0.mode == mode }
            for r in rows {
                table.add([mode.rawValue, r.phase.rawValue] + Self.cells(r.tally))
            }
            if rows.count > 1 { table.add([mode.rawValue, "total"] + Self.cells(total(for: mode))) }
        }
        out.append(contentsOf: table.lines())
        out.append("")
        out.append("failed = typed error; unprocessed = of those, provably never processed; silent = no answer, a wrong answer or a POST run twice;")
        out.append("lost = failed although re-sending was safe (unprocessed or idempotent) + silent.")
        out.append("")

        var fleet = TextTable(["client", "phase", "GOAWAYs sent by code", "by reason", "received", "conns", "drain p50/max ms", "restart p50/max ms"])
        for r in phases {
            fleet.add([
                r.mode.rawValue, r.phase.rawValue, Self.counts(r.goawaysByCode), Self.counts(r.goawaysByReason),
                String(r.goawaysReceived), String(r.connectionsOpened),
                r.drainMs.count == 0 ? "-" : "\(Fmt.num(r.drainMs.p50, 0)) / \(Fmt.num(r.drainMs.max, 0))",
                r.restartMs.count == 0 ? (r.hardKills > 0 ? "killed \(r.hardKills)" : "-") : "\(Fmt.num(r.restartMs.p50, 0)) / \(Fmt.num(r.restartMs.max, 0))",
            ])
        }
        out.append(contentsOf: fleet.lines())
        out.append("")
        out.append(contentsOf: networkLines())
        for mode in s.modes {
            let t = total(for: mode)
            if !t.errors.isEmpty { out.append("errors \(mode.rawValue): \(Self.counts(t.errors))") }
        }
        if let verdict {
            out.append(verdictLine(verdict))
            for reason in verdict.reasons { out.append("  - \(reason)") }
            for warning in verdict.warnings { out.append("warning: \(warning)") }
        }
        return out.joined(separator: "\n")
    }

    /// The netns topology and what each phase measured on the network (empty on loopback).
    func networkLines() -> [String] {
        guard let topology else { return [] }
        var out: [String] = []
        out.append("topology: \(topology.serviceName):\(topology.port) served by dnsmasq; \(topology.haproxyVersion); \(topology.dnsmasqVersion)")
        var hosts = TextTable(["namespace", "role", "address"])
        // Server hosts (fresh per phase, a new one per replacement) go on one line per phase.
        var servers: [(phase: String, addresses: [String])] = []
        for h in topology.hosts {
            if h.role.hasPrefix("server "), let open = h.role.firstIndex(of: "(") {
                let phase = String(h.role[h.role.index(after: open)...].dropLast())
                if let i = servers.firstIndex(where: { $0.phase == phase }) { servers[i].addresses.append(h.address) } else { servers.append((phase, [h.address])) }
            } else {
                hosts.add([h.namespace, h.role, h.address])
            }
        }
        out.append(contentsOf: hosts.lines().map { "  " + $0 })
        for s in servers { out.append("  server hosts, \(s.phase): \(s.addresses.joined(separator: " "))") }
        out.append("")
        for r in phases {
            guard let n = r.network else { continue }
            let at = "\(r.mode.rawValue) \(r.phase.rawValue)"
            for c in n.dnsChanges {
                out.append("\(at): DNS \(topology.serviceName) at \(Fmt.num(c.atMs, 0)) ms: -\(c.removed.joined(separator: ",")) +\(c.added.joined(separator: ","))")
            }
            for h in n.newHosts {
                let t = h.firstTrafficMs.map { "first request \(Fmt.num($0, 0)) ms after its DNS record" } ?? "NO request in the \(Fmt.num(max(0, r.elapsedSeconds * 1000 - h.dnsAtMs), 0)) ms of the phase after its DNS record"
                out.append("\(at): new host \(h.address) (replaced \(h.replaced)): \(t)")
            }
            if r.phase == .newAddresses || n.retiredAddressConnections > 0 {
                out.append("\(at): connections to a retired address after its drain: \(n.retiredAddressConnections)")
            }
            if n.balancerReloads > 0 || n.backendDrains > 0 {
                out.append("\(at): haproxy reloaded \(n.balancerReloads)x, backends drained \(n.backendDrains)x; GOAWAYs haproxy sent the client: \(Self.counts(n.goawaysReceivedByCode)); client re-sent \(r.tally.resent) (\(Self.counts(n.resentByReason))), lost \(r.tally.lost)")
            }
            if let p = n.partition {
                let d = p.detectionMs.map { "detected after \(Fmt.num($0, 0)) ms (connection closed)" } ?? "NOT detected in the phase (no health check closed the connection)"
                out.append("\(at): partition of \(p.address) at \(Fmt.num(p.linkDownMs, 0)) ms: \(d); \(p.strandedRequests) requests were in flight there without an answer")
            }
        }
        if out.last != "" { out.append("") }
        return out
    }

    func verdictLine(_ verdict: DrillVerdict) -> String {
        let parts = settings.modes.map { mode -> String in
            let t = total(for: mode)
            return "\(mode.rawValue) lost \(t.lost) of \(t.requests)" + (t.failed > t.unprocessed ? " (\(t.failed) failed with a typed error)" : "")
        }
        return (verdict.passed ? "PASS: " : "FAIL: ") + parts.joined(separator: "; ")
    }

    static func cells(_ t: DrillTally) -> [String] {
        [t.requests, t.ok, t.resent, t.failed, t.unprocessed, t.silent, t.lost].map(String.init)
            + [Fmt.num(t.rps, 0), Fmt.num(t.p50Ms, 2), Fmt.num(t.p99Ms, 2)]
    }

    static func counts(_ d: [String: Int]) -> String {
        d.isEmpty ? "-" : d.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

/// A snapshot for the live status line.
package struct DrillProgress: Sendable, Hashable {
    package var mode: DrillClientMode
    package var phase: DrillPhase
    package var elapsed: Duration
    package var ok: Int
    package var failed: Int
    package var resent: Int
    package init(mode: DrillClientMode, phase: DrillPhase, elapsed: Duration, ok: Int, failed: Int, resent: Int) {
        self.mode = mode
        self.phase = phase
        self.elapsed = elapsed
        self.ok = ok
        self.failed = failed
        self.resent = resent
    }

    /// `goawaykit rolling-restart 2.5s  8120 req/s  ok 20300  re-sent 12  failed 0`
    package var statusLine: String {
        let seconds = elapsed.drillSeconds
        let rate = seconds > 0 ? Double(ok + failed) / seconds : 0
        return "\(mode.rawValue) \(phase.rawValue) \(Fmt.num(seconds, 1))s  \(Fmt.num(rate, 0)) req/s  ok \(ok)  re-sent \(resent)  failed \(failed)"
    }
}

/// Left-aligned text columns, right-aligned numbers.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    init(_ header: [String]) { self.header = header }
    mutating func add(_ row: [String]) { rows.append(row) }

    func lines() -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { i in all.map { $0.indices.contains(i) ? $0[i].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.indices.map { i in
                let cell = row[i]
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return Self.isNumeric(cell) && i > 1 ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces
        }
    }

    static func isNumeric(_ s: String) -> Bool { !s.isEmpty && s.allSatisfy { $0.isNumber || $0 == "." } }
}

enum Fmt {
    /// Fixed decimals without Foundation: `num(3.14159, 2) == "3.14"`.
    static func num(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int(scaled / scale)
        let frac = Int(scaled) - whole * Int(scale)
        let sign = value < 0 && scaled > 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(whole) }
        let f = String(frac)
        return sign + String(whole) + "." + String(repeating: "0", count: decimals - f.count) + f
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
