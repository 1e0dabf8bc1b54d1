/// The outcome of `goaway drill`: a row per (mode, phase), totals per mode, the verdict.
/// Encoded as-is by `--json` (schema 1; keys in snake_case).
package struct DrillReport: Sendable, Hashable, Codable {
    package var schema = 1
    package var settings: Settings
    package var phases: [PhaseResult] = []
    /// netns only: the hosts, their addresses and the peers' versions.
    package var topology: DrillTopologyInfo?
    /// Set by `conclude()` once every phase has run.
    package var verdict: DrillVerdict?

    package struct Settings: Sendable, Hashable, Codable {
        package var durationSeconds: Double
        package var concurrency: Int
        package var servers: Int
        package var phases: [DrillPhase]
        package var modes: [DrillClientMode]
        package var stormMaxRequests: Int
        package var topology: DrillTopology?
        package init(_ plan: DrillPlan) {
            topology = plan.topology
            durationSeconds = plan.duration.drillSeconds
            concurrency = plan.concurrency
            servers = plan.servers
            phases = plan.phases
            modes = plan.modes
            stormMaxRequests = plan.stormMaxRequests
        }
    }

    /// One phase run with one client mode.
    package struct PhaseResult: Sendable, Hashable, Codable {
        package var mode: DrillClientMode
        package var phase: DrillPhase
        package var tally: DrillTally
        package var elapsedSeconds: Double
        /// GOAWAYs the fleet sent, by error code name (`NO_ERROR`...).
        package var goawaysByCode: [String: Int] = [:]
        /// GOAWAYs the fleet sent, by reason (`shutdown`, `max_requests`, `max_age`...).
        package var goawaysByReason: [String: Int] = [:]
        package var goawaysReceived = 0
        /// Connections the client opened, up to the end of its shutdown.
        package var connectionsOpened = 0
        /// Of those, opened by the end of the load (the rest while the client shut down).
        package var connectionsOpenedAtLoadEnd: Int?
        /// Connection drains (first GOAWAY to close), in milliseconds.
        package var drainMs = Summary()
        /// Restarts: drain begun to new server listening, in milliseconds.
        package var restartMs = Summary()
        package var hardKills = 0
        /// Parts of the phase that never finished (a restart, the client's shutdown...): a hang
        /// in the stack under test. Any entry fails the drill.
        package var stuck: [String] = []
        /// The connections, re-sends, losses and throughput on a time axis (for `--report`).
        package var timeline: DrillTimeline?
        /// netns only: DNS changes, new hosts' first traffic, HAProxy, the partition.
        package var network: DrillNetworkPhase?

        package init(mode: DrillClientMode, phase: DrillPhase, tally: DrillTally, elapsedSeconds: Double) {
            self.mode = mode
            self.phase = phase
            self.tally = tally
            self.elapsedSeconds = elapsedSeconds
        }
    }

    package struct Summary: Sendable, Hashable, Codable {
        package var count = 0
        package var p50 = 0.0
        package var max = 0.0
        package init() {}
        package init(milliseconds values: [Double]) {
            let sorted = values.sorted()
            count = sorted.count
            p50 = sorted.isEmpty ? 0 : sorted[(sorted.count - 1) / 2]
            max = sorted.last ?? 0
        }
    }

    package init(settings: Settings) {
        self.settings = settings
    }

    /// All phases of one mode added up; the rate is requests over the summed load time.
    package func total(for mode: DrillClientMode) -> DrillTally {
        let rows = phases.filter { $0.mode == mode }
        var t = rows.reduce(DrillTally()) { $0 + $1.tally }
        let seconds = rows.reduce(0) { $0 + $1.elapsedSeconds }
        t.rps = seconds > 0 ? Double(t.requests) / seconds : 0
        return t
    }

    /// Decides the verdict from the rows.
    package mutating func conclude() {
        verdict = DrillVerdict(self)
    }
}

/// Pass or fail, and why. The drill fails (exit 1) when a client held to "lose nothing"
/// (`DrillClientMode.mustNotLose`) lost a request — silently, by failing one that was provably
/// unprocessed or idempotent, by processing a POST twice, or by a false "not processed" — or when
/// the accounting does not add up. The naive mode's losses are the comparison, not a failure.
///
/// Warnings do not fail the drill: a request that failed in a phase whose only disruption is
/// GOAWAY (restart, storm, max age) was reported with a typed error, yet a GOAWAY should cost
/// nothing at all — worth a bug report.
package struct DrillVerdict: Sendable, Hashable, Codable {
    package var passed: Bool
    package var reasons: [String]
    package var warnings: [String] = []

    package init(_ report: DrillReport) {
        var reasons: [String] = []
        var warnings: [String] = []
        for row in report.phases {
            let where_ = "\(row.mode.rawValue) \(row.phase.rawValue)"
            if !row.tally.addsUp {
                reasons.append("\(where_): accounting does not add up (\(row.tally.requests) requests, \(row.tally.ok) ok, \(row.tally.failed) failed, \(row.tally.silent) silent)")
            }
            for what in row.stuck { reasons.append("\(where_): \(what)") }
            guard row.mode.mustNotLose else { continue }
            if let n = row.network {
                for h in n.newHosts where h.firstTrafficMs == nil {
                    let left = max(0, row.elapsedSeconds * 1000 - h.dnsAtMs)
                    warnings.append("\(where_): new host \(h.address) got no request in the \(Fmt.num(left, 0)) ms left after its DNS record (the client did not re-resolve \(report.topology?.serviceName ?? "the name") in time)")
                }
                if n.retiredAddressConnections > 0 {
                    warnings.append("\(where_): \(n.retiredAddressConnections) connections went to a retired address after its drain")
                }
                if let p = n.partition, p.detectionMs == nil {
                    warnings.append("\(where_): the partition of \(p.address) was not detected in the phase")
                }
            }
            if row.phase.onlyGoAway, row.tally.failed > 0 {
                let errors = row.tally.errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                warnings.append("\(where_): \(row.tally.failed) failed with a typed error (\(errors)) although only GOAWAY disrupted it")
            }
            for fate in DrillFate.allCases where fate.isLost {
                let n = row.tally.fates[fate.rawValue] ?? 0
                if n > 0 { reasons.append("\(where_): \(n) \(fate.rawValue.replacingUnderscores)") }
            }
        }
        if report.phases.allSatisfy({ $0.tally.requests == 0 }) {
            reasons.append("no request was issued")
        }
        self.passed = reasons.isEmpty
        self.reasons = reasons
        self.warnings = warnings
    }

    /// 0 when passed, 1 otherwise.
    package var exitCode: Int32 { passed ? 0 : 1 }
}

extension String {
    fileprivate var replacingUnderscores: String { String(map { $0 == "_" ? " " : $0 }) }
}

extension Duration {
    /// Seconds as a `Double`.
    package var drillSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
