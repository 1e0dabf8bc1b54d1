/// The schedule of `goaway probe`: which connection to open, when to send a request or a PING,
/// how long to wait, when to move to the next phase. A value the shell drives with events and
/// `next(now:)`; it never reads a clock.
///
/// ```
/// requests ──GOAWAY/close/cap──► idle ──GOAWAY/close/deadline──► age ──…──► [pings] ──► done
///   each phase: connect ─► work (requests, silence, slow requests, PINGs)
///               ─► GOAWAY: wait drainWait for the final GOAWAY/close ─► close ─► next phase
/// ```
///
/// Budget: the requests phase gets 20% of `maxTime`, idle half of what is left, age (and pings)
/// the rest. The age phase spaces its requests `min(interval, idle timeout / 2)` apart so the
/// connection never idles out, and stops short of the measured request limit.
public struct ProbePlanner: Sendable {
    /// How long and how hard to probe.
    public struct Configuration: Sendable, Hashable {
        /// Whole probe. Default 120 s.
        public var maxTime: Duration
        /// Spacing of the age phase's requests (lowered to half the idle timeout). Default 1 s.
        public var interval: Duration
        /// The requests phase stops after this many requests without GOAWAY. Default 2000
        /// (nginx's default limit is 1000).
        public var maxRequests: Int
        /// After a GOAWAY, how long to wait for the final GOAWAY or the close. Default 2 s.
        public var drainWait: Duration
        /// Run the PING-policy phase (it may earn a too_many_pings GOAWAY). Default false.
        public var probePings: Bool
        /// Spacing of the PING phase's PINGs. Default 1 s.
        public var pingInterval: Duration
        /// PINGs the PING phase sends at most. Default 10.
        public var maxPings: Int

        /// Limits of a probe run (defaults as `goaway probe`).
        public init(maxTime: Duration = .seconds(120), interval: Duration = .seconds(1), maxRequests: Int = 2000,
                    drainWait: Duration = .seconds(2), probePings: Bool = false, pingInterval: Duration = .seconds(1),
                    maxPings: Int = 10) {
            self.maxTime = maxTime
            self.interval = interval
            self.maxRequests = maxRequests
            self.drainWait = drainWait
            self.probePings = probePings
            self.pingInterval = pingInterval
            self.maxPings = maxPings
        }
        /// `goaway probe`'s defaults (120 s at most).
        public static var defaults: Configuration { Configuration() }
    }

    /// What the shell does next.
    public enum Action: Hashable, Sendable {
        /// Open a new connection; report `connected`/`connectFailed` with this connection number.
        case connect(connection: Int)
        /// Send one request on the current connection; report its end with `responseEnded`/`streamReset`.
        case sendRequest(connection: Int)
        case sendPing(connection: Int)
        case close(connection: Int)
        /// Nothing to do until an event arrives or `until` passes; then call `next(now:)` again.
        case wait(until: Instant)
        case finish
    }

    /// The run's limits.
    public let configuration: Configuration
    /// When the run started.
    public let startedAt: Instant
    /// Every connection's log so far.
    public private(set) var logs: [ProbeConnectionLog] = []
    private var phaseIndex = 0
    private var phases: [ProbePhase]
    private var phaseDeadline: Instant
    /// The current connection (index into `logs`), while the phase uses it.
    private var current: Int?
    private var connected = false
    private var inFlight = false
    private var nextSendAt: Instant?
    private var finished = false

    /// A planner starting `now`.
    public init(configuration: Configuration = .defaults, now: Instant) {
        self.configuration = configuration
        self.startedAt = now
        self.phases = [.requests, .idle, .age] + (configuration.probePings ? [.pings] : [])
        self.phaseDeadline = now + configuration.maxTime.scaled(by: 0.2)
    }

    /// The run's deadline.
    public var end: Instant { startedAt + configuration.maxTime }
    /// The phase running, or `nil` when done.
    public var phase: ProbePhase? { phaseIndex < phases.count ? phases[phaseIndex] : nil }

    // MARK: events (late ones, for connections already left behind, are logged and ignored)

    /// The connection connected.
    public mutating func connected(_ connection: Int, now: Instant) {
        logs[connection].connectedAt = now
        if connection == current { connected = true }
    }

    /// The connection failed to connect.
    public mutating func connectFailed(_ connection: Int, error: String, now: Instant) {
        logs[connection].connectError = error
        logs[connection].closedAt = now
    }

    /// The shell opened `stream` for the `.sendRequest` it was given.
    public mutating func requestSent(_ connection: Int, stream: StreamID, now: Instant) {
        logs[connection].requests.append(.init(streamID: stream, sentAt: now))
    }

    /// A response ended.
    public mutating func responseEnded(_ connection: Int, stream: StreamID, status: Int?, now: Instant) {
        if let i = logs[connection].requests.firstIndex(where: { $0.streamID == stream }) {
            logs[connection].requests[i].endedAt = now
            logs[connection].requests[i].status = status
        }
        if connection == current { inFlight = false }
    }

    /// A stream was reset.
    public mutating func streamReset(_ connection: Int, stream: StreamID, code: HTTP2ErrorCode, now: Instant) {
        if let i = logs[connection].requests.firstIndex(where: { $0.streamID == stream }) {
            logs[connection].requests[i].endedAt = now
            logs[connection].requests[i].reset = code
        }
        if connection == current { inFlight = false }
    }

    /// A GOAWAY arrived.
    public mutating func goAwayReceived(_ connection: Int, lastStreamID: StreamID, code: HTTP2ErrorCode,
                                        debugData: GoAwayDebugData, now: Instant) {
        logs[connection].goAways.append(.init(at: now, lastStreamID: lastStreamID, code: code, debugData: debugData))
    }

    /// The server sent a PING.
    public mutating func pingReceived(_ connection: Int, now: Instant) {
        logs[connection].serverPings.append(now)
    }

    /// The connection closed.
    public mutating func closed(_ connection: Int, now: Instant) {
        if logs[connection].closedAt == nil { logs[connection].closedAt = now }
        if connection == current { inFlight = false }
    }

    // MARK: the schedule

    /// The next action, at `now`.
    public mutating func next(now: Instant) -> Action {
        if finished { return .finish }
        guard let phase else { return finish() }
        if now >= end {
            if let c = current, logs[c].firstGoAway == nil, logs[c].gaveUpAt == nil { logs[c].gaveUpAt = now }
            return leavePhase(now: now, finishing: true)
        }
        guard let c = current else {
            let number = logs.count
            logs.append(ProbeConnectionLog(phase: phase, startedAt: now))
            current = number
            connected = false
            inFlight = false
            nextSendAt = nil
            return .connect(connection: number)
        }
        let log = logs[c]
        if log.connectError != nil { return leavePhase(now: now, finishing: log.connectedAt == nil && c == 0) }
        if log.closedAt != nil { return leavePhase(now: now) }
        guard connected else { return .wait(until: min(phaseDeadline, end)) }
        if let first = log.firstGoAway {
            let waitEnd = first.at + configuration.drainWait
            return now >= waitEnd ? leavePhase(now: now) : .wait(until: waitEnd)
        }
        if now >= phaseDeadline {
            logs[c].gaveUpAt = now
            return leavePhase(now: now)
        }
        switch phase {
        case .requests:
            if inFlight { return .wait(until: phaseDeadline) }
            if log.requests.count >= configuration.maxRequests {
                logs[c].gaveUpAt = now
                return leavePhase(now: now)
            }
            inFlight = true
            return .sendRequest(connection: c)
        case .idle:
            if log.requests.isEmpty {
                inFlight = true
                return .sendRequest(connection: c)
            }
            return .wait(until: phaseDeadline)
        case .age:
            if let limit = requestLimit, log.requests.count >= limit - 1 {
                // One more would end the connection for the request limit, not for its age.
                if inFlight { return .wait(until: phaseDeadline) }
                logs[c].gaveUpAt = now
                return leavePhase(now: now)
            }
            if inFlight { return .wait(until: phaseDeadline) }
            if let at = nextSendAt, now < at { return .wait(until: min(at, phaseDeadline)) }
            inFlight = true
            nextSendAt = now + ageInterval
            return .sendRequest(connection: c)
        case .pings:
            if log.pingsSent.count >= configuration.maxPings {
                // Give the last PING a moment to earn its GOAWAY.
                let after = log.pingsSent.last! + configuration.pingInterval
                if now < after { return .wait(until: after) }
                logs[c].gaveUpAt = now
                return leavePhase(now: now)
            }
            if let at = nextSendAt, now < at { return .wait(until: min(at, phaseDeadline)) }
            logs[c].pingsSent.append(now)
            nextSendAt = now + configuration.pingInterval
            return .sendPing(connection: c)
        }
    }

    /// Requests per connection found by the requests phase, if it found one.
    public var requestLimit: Int? {
        guard let log = logs.first(where: { $0.phase == .requests }) else { return nil }
        return ProbeAnalysis.requestsPerConnection(log)
    }

    /// The idle timeout found by the idle phase, if it found one.
    public var idleTimeout: Duration? {
        guard let log = logs.first(where: { $0.phase == .idle }) else { return nil }
        if case .measured(let d) = ProbeAnalysis.idleTimeout(log) { return d }
        return nil
    }

    /// Spacing of the age phase's requests.
    public var ageInterval: Duration {
        guard let idle = idleTimeout else { return configuration.interval }
        return min(configuration.interval, idle.scaled(by: 0.5))
    }

    private mutating func leavePhase(now: Instant, finishing: Bool = false) -> Action {
        if let c = current {
            current = nil
            if logs[c].closedAt == nil && logs[c].connectError == nil {
                if finishing || phaseIndex + 1 >= phases.count { finished = true }
                phaseIndex += 1
                setDeadline(now: now)
                return .close(connection: c)
            }
        }
        phaseIndex += 1
        setDeadline(now: now)
        if finishing { return finish() }
        return next(now: now)
    }

    private mutating func setDeadline(now: Instant) {
        guard let phase else { return }
        switch phase {
        case .requests: phaseDeadline = startedAt + configuration.maxTime.scaled(by: 0.2)
        case .idle: phaseDeadline = now + (end - now).scaled(by: 0.5)
        case .age: phaseDeadline = configuration.probePings ? now + (end - now).scaled(by: 0.7) : end
        case .pings: phaseDeadline = end
        }
    }

    private mutating func finish() -> Action {
        finished = true
        return .finish
    }
}
