/// What `goaway drill` does to a fleet of servers while a client keeps it busy. Pure values: the
/// schedule, the servers' connection policies and the request mix are decided here; the shell
/// (`DrillRunner`) only carries them out.
///
/// One run = for each client mode (GoAwayKit, then naive), for each phase: a fresh fleet with that
/// phase's policy, a fresh client, steady load for `phaseDuration`, the phase's steps at their times.
///
/// ```
/// rolling-restart  ──┬── restart s0 ── restart s1 ── restart s2 ──┬──▶  (drain, stop, same port)
/// goaway-storm       │   every server: GOAWAY after 100 requests per connection
/// max-age            │   every server: connections drained at maxAge (±10% jitter)
/// hard-kill          └── kill s0 (no GOAWAY) ──────── start s0 ───┘
///                    0          0.25        0.5        0.75       1  × phaseDuration
/// ```
package struct DrillPlan: Sendable, Hashable {
    /// Load time per client mode, split evenly over the phases. Default 20 s.
    package var duration: Duration
    /// Requests in flight at once. Default 32.
    package var concurrency: Int
    /// Servers in the fleet (loopback, ephemeral ports). Default 3.
    package var servers: Int
    /// Phases, in the order they run. Default: all.
    package var phases: [DrillPhase]
    /// Client modes, in the order they run. Default: GoAwayKit, then naive.
    package var modes: [DrillClientMode]
    /// `maxRequestsPerConnection` of the storm phase. Default 100.
    package var stormMaxRequests: Int
    /// Where the fleet runs: one loopback (default) or hosts in network namespaces.
    package var topology: DrillTopology

    package init(
        duration: Duration = .seconds(20),
        concurrency: Int = 32,
        servers: Int = 3,
        phases: [DrillPhase]? = nil,
        modes: [DrillClientMode] = DrillClientMode.allCases,
        stormMaxRequests: Int = 100,
        topology: DrillTopology = .loopback
    ) {
        self.topology = topology
        let phases = phases ?? topology.defaultPhases
        self.duration = duration
        self.concurrency = concurrency
        self.servers = servers
        self.phases = phases
        self.modes = modes
        self.stormMaxRequests = stormMaxRequests
    }

    package static var defaults: DrillPlan { DrillPlan() }

    package enum Invalid: Error, Equatable, CustomStringConvertible {
        case duration, concurrency, servers, noPhase, noMode, stormMaxRequests
        /// A phase the topology cannot run (HAProxy, DNS and partitions need `netns`).
        case unsupportedPhase(DrillPhase, DrillTopology)
        package var description: String {
            switch self {
            case .unsupportedPhase(let phase, let topology):
                "phase \(phase.rawValue) does not run on --topology \(topology.rawValue) (it runs: \(topology.supportedPhases.map(\.rawValue).joined(separator: ", ")))"
            case .duration: "duration must be at least 1 s"
            case .concurrency: "concurrency must be 1...10000"
            case .servers: "servers must be 2...16 (one is restarted or killed while the others serve)"
            case .noPhase: "give at least one phase"
            case .noMode: "give at least one client mode"
            case .stormMaxRequests: "storm max requests must be at least 1"
            }
        }
    }

    package func validate() throws(Invalid) {
        guard duration >= .seconds(1) else { throw .duration }
        guard (1...10_000).contains(concurrency) else { throw .concurrency }
        guard (2...16).contains(servers) else { throw .servers }
        guard !phases.isEmpty else { throw .noPhase }
        guard !modes.isEmpty else { throw .noMode }
        guard stormMaxRequests >= 1 else { throw .stormMaxRequests }
        if let phase = phases.first(where: { !topology.supportedPhases.contains($0) }) {
            throw .unsupportedPhase(phase, topology)
        }
    }

    /// Load time of one phase.
    package var phaseDuration: Duration { duration / phases.count }

    /// The connection policy every server of the phase's fleet runs with. Drains are bounded
    /// tightly (1 s PING-ack wait, 5 s grace) so a restart never outlasts the phase; drill
    /// requests take milliseconds.
    package func connectionPolicy(for phase: DrillPhase) -> ServerConnectionPolicy {
        var policy = ServerConnectionPolicy(pingAckTimeout: .seconds(1), drainGrace: .seconds(5))
        switch phase {
        case .rollingRestart, .hardKill, .newAddresses, .balancer, .partition:
            break
        case .goAwayStorm:
            policy.maxRequestsPerConnection = stormMaxRequests
        case .maxAgeRotation:
            // About four rotations per connection per phase, never faster than every 250 ms.
            policy.maxAge = max(.milliseconds(250), phaseDuration / 4)
            policy.maxAgeGrace = .seconds(5)
        }
        return policy
    }

    /// The phase's steps, at offsets from the phase start, in order. The shell runs them one after
    /// another: a step whose time has come waits for the previous one to finish (a restart is
    /// drain, stop, start), so restarts never overlap and the fleet is never all down.
    package func steps(for phase: DrillPhase) -> [DrillStep] {
        let d = phaseDuration
        switch phase {
        case .rollingRestart:
            // Evenly spaced: server i at (i+1)/(n+1) of the phase.
            return (0..<servers).map { i in
                DrillStep(at: d * (i + 1) / (servers + 1), action: .restart(server: i))
            }
        case .hardKill:
            return [
                DrillStep(at: d * 2 / 5, action: .kill(server: 0)),
                DrillStep(at: d * 7 / 10, action: .start(server: 0)),
            ]
        case .goAwayStorm, .maxAgeRotation:
            return []
        case .newAddresses:
            // Like the rolling restart, but each host is replaced by one with a new address. Spaced
            // by 1/(n+2), so the last new host still has 2/(n+2) of the phase to be found.
            return (0..<servers).map { i in
                DrillStep(at: d * (i + 1) / (servers + 2), action: .replace(server: i))
            }
        case .balancer:
            // Reloads and backend drains alternate: reload, drain s0, reload, drain s1, ... reload.
            var steps: [DrillStep] = []
            let slots = 2 * servers + 1
            for k in 0..<slots {
                let at = d * (k + 1) / (slots + 1)
                steps.append(DrillStep(at: at, action: k % 2 == 0 ? .reloadBalancer : .drainBackend(server: k / 2)))
            }
            return steps
        case .partition:
            // The link stays down for the rest of the phase: only the client's own checks can tell.
            return [DrillStep(at: d * 3 / 10, action: .partition(server: 0))]
        }
    }
}

/// Where `goaway drill` runs its fleet.
package enum DrillTopology: String, Sendable, Hashable, CaseIterable, Codable {
    /// Servers on 127.0.0.1 in this process (default).
    case loopback
    /// Hosts in network namespaces on a bridge of their own: 3 servers, a client, HAProxy, dnsmasq
    /// serving `fleet.test` (root only).
    case netns

    package var supportedPhases: [DrillPhase] {
        switch self {
        case .loopback: [.rollingRestart, .goAwayStorm, .maxAgeRotation, .hardKill]
        case .netns: [.newAddresses, .balancer, .partition, .hardKill, .rollingRestart, .goAwayStorm, .maxAgeRotation]
        }
    }

    package var defaultPhases: [DrillPhase] {
        switch self {
        case .loopback: supportedPhases
        case .netns: [.newAddresses, .balancer, .partition, .hardKill]
        }
    }
}

/// One thing that happens to the fleet.
package struct DrillStep: Sendable, Hashable {
    package enum Action: Sendable, Hashable {
        /// Graceful: drain every connection (two GOAWAYs), stop, start a new server on the same port.
        case restart(server: Int)
        /// Close the listener and every connection at once, without GOAWAY (a crash).
        case kill(server: Int)
        /// Start a stopped server again on its port.
        case start(server: Int)
        /// netns: start a new host with a new address, point DNS at it instead of the old one,
        /// drain the old server with GOAWAY.
        case replace(server: Int)
        /// netns: reload HAProxy (master-worker) under load.
        case reloadBalancer
        /// netns: drain one backend in HAProxy, restart its server, put it back.
        case drainBackend(server: Int)
        /// netns: take the server host's link down (no FIN, no RST): a partition.
        case partition(server: Int)
    }
    package var at: Duration
    package var action: Action
    package init(at: Duration, action: Action) {
        self.at = at
        self.action = action
    }
}

/// The ways a drill makes servers send GOAWAY (or, for `hardKill`, not).
package enum DrillPhase: String, Sendable, Hashable, CaseIterable, Codable {
    case rollingRestart = "rolling-restart"
    case goAwayStorm = "goaway-storm"
    case maxAgeRotation = "max-age"
    case hardKill = "hard-kill"
    /// netns: rolling restart where every host comes back with a new address behind `fleet.test`.
    case newAddresses = "new-addresses"
    /// netns: client → HAProxy (h2) → servers (h2); HAProxy reloaded, backends drained.
    case balancer = "haproxy"
    /// netns: a server host's link goes down mid-stream.
    case partition

    /// Every disruption in the phase is announced by GOAWAY (all but the hard kill and the partition).
    package var onlyGoAway: Bool { self != .hardKill && self != .partition }

    /// Accepts the raw value and short forms (`restart`, `storm`, `kill`).
    package init?(flag: String) {
        switch flag.lowercased() {
        case "rolling-restart", "restart", "restarts": self = .rollingRestart
        case "goaway-storm", "storm": self = .goAwayStorm
        case "max-age", "maxage", "rotation": self = .maxAgeRotation
        case "hard-kill", "kill": self = .hardKill
        case "new-addresses", "addresses", "dns": self = .newAddresses
        case "haproxy", "lb", "balancer": self = .balancer
        case "partition", "link-down": self = .partition
        default: return nil
        }
    }
}

/// The client under test.
package enum DrillClientMode: String, Sendable, Hashable, CaseIterable, Codable {
    /// `HTTP2Client` as shipped: re-sends what a GOAWAY or REFUSED_STREAM proved unprocessed,
    /// and idempotent requests once after a connection loss.
    case goAwayKit = "goawaykit"
    /// The same client with re-sending off: every GOAWAY casualty surfaces, as in most stacks.
    case naive

    /// Whether the drill holds this mode to "lose nothing".
    package var mustNotLose: Bool { self == .goAwayKit }
}

/// The request mix: a fixed cycle of 20, so every phase sees the same proportions. Slow routes
/// keep requests in flight when a server drains or dies; POSTs carry bodies so the non-idempotent
/// path (re-sent only when provably unprocessed) is exercised.
package struct DrillRequestKind: Sendable, Hashable {
    package var method: String
    package var path: String
    /// Request body bytes (0: none).
    package var bodySize: Int
    package var idempotent: Bool { isIdempotentMethod(method) }

    package init(method: String, path: String, bodySize: Int) {
        self.method = method
        self.path = path
        self.bodySize = bodySize
    }

    /// 7 × GET /, 3 × GET /delay/10, 7 × POST /echo (1 KiB), 3 × POST /delay/10 (256 B).
    package static func forRequest(_ index: Int) -> DrillRequestKind {
        switch index % 20 {
        case 0, 3, 6, 9, 12, 15, 18: DrillRequestKind(method: "GET", path: "/", bodySize: 0)
        case 1, 8, 14: DrillRequestKind(method: "GET", path: "/delay/10", bodySize: 0)
        case 4, 11, 17: DrillRequestKind(method: "POST", path: "/delay/10", bodySize: 256)
        default: DrillRequestKind(method: "POST", path: "/echo", bodySize: 1024)
        }
    }
}

extension DrillStep.Action {
    /// `restart s0`, `reload haproxy`...: a step's mark on the timeline.
    package var label: String {
        switch self {
        case .restart(let i): "restart s\(i)"
        case .kill(let i): "kill s\(i)"
        case .start(let i): "start s\(i)"
        case .replace(let i): "replace s\(i)"
        case .reloadBalancer: "reload haproxy"
        case .drainBackend(let i): "drain backend s\(i)"
        case .partition(let i): "link down s\(i)"
        }
    }
}
