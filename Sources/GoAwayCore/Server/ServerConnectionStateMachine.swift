/// The lifecycle of one server-side HTTP/2 connection: when to send which GOAWAY, when to close.
///
/// ```
///              shutdownRequested | max age | max requests | idle | too many pings
///   active ─────────────────────────────────────────────────────────────► notified
///     │          sends GOAWAY(2^31-1, NO_ERROR) + PING, arms the ping-ack timer   │
///     │                                                                            │ PING ack, or
///     │ peer GOAWAY: finish open streams, then close                               │ ping-ack timeout
///     │                                                                            ▼
///     │                                     draining: GOAWAY(highest peer stream, code) sent,
///     │                                     grace timer armed; new streams above it refused
///     │                                                                            │ last stream closed,
///     ▼                                                                            ▼ or grace deadline
///   closed ◄───────────────────────────────────────────────────────────────────────┘
/// ```
///
/// Why our own machine rather than swift-nio-http2's `NIOHTTP2ServerConnectionManagementHandler`:
/// that handler waits for the PING ack forever (a peer that never acks keeps the connection open),
/// has no jitter on max age, no max-requests limit and reports nothing; it also overwrites its
/// `.closed` state with `.closing` on the ack. Here the first phase is bounded by
/// `pingAckTimeout`, max age is jittered by ±10%, and every transition is a value the tests can see.
/// The NIO shell (`ServerConnectionHandler` in GoAwayKit) turns frames and timers into calls here
/// and runs the returned actions; swift-nio-http2 keeps doing framing, HPACK, flow control and the
/// per-stream protocol rules (it refuses streams above our final last-stream-id itself).
///
/// Rules that hold in every state:
/// - the last-stream-id we send is never raised: the notice uses 2^31-1, the final one the highest
///   peer stream seen when it is sent, and ids only grow;
/// - streams the peer opens between the two GOAWAYs are served;
/// - a second shutdown request is a no-op;
/// - every wait is bounded (ping-ack timeout, then grace).
public struct ServerConnectionStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        case active
        /// The shutdown notice (GOAWAY 2^31-1) and its PING are out.
        case notified(reason: ShutdownReason, since: Instant)
        /// The final GOAWAY is out; waiting for open streams to end.
        case draining(reason: ShutdownReason, lastStreamID: StreamID, since: Instant)
        case closed
    }

    public enum Action: Sendable, Equatable {
        case sendGoAway(lastStreamID: StreamID, code: HTTP2ErrorCode, debugData: String, reason: ShutdownReason)
        case sendPing(payload: UInt64)
        case schedule(ServerConnectionTimer, at: Instant)
        case cancel(ServerConnectionTimer)
        /// Reset a stream the peer opened above our final last-stream-id: it was not processed.
        case refuseStream(StreamID)
        /// Close the connection (after flushing what was written). `drainStarted` is when the
        /// shutdown notice went out, for drain-duration metrics.
        case close(reason: ShutdownReason?, drainStarted: Instant?)
    }

    /// The PING payload of the shutdown notice ("GoAwDrn!"), told apart from keepalive PINGs.
    public static let drainPingPayload: UInt64 = 0x476F_4177_4472_6E21
    /// The keepalive PING payload ("GoAwKeep").
    public static let keepalivePingPayload: UInt64 = 0x476F_4177_4B65_6570

    public let policy: ServerConnectionPolicy
    public private(set) var state: State = .active
    /// Streams the peer opened that have not closed yet.
    public private(set) var openStreams = 0
    /// The highest stream id the peer opened: the final GOAWAY's last-stream-id.
    public private(set) var highestPeerStreamID: StreamID = .root
    /// Requests (streams) the peer opened on this connection.
    public private(set) var requestCount = 0
    private var lastStreamActivity: Instant
    private var lastRead: Instant
    private var keepaliveAckPending = false
    private var lastPeerPing: Instant?
    private var pingStrikes = 0
    private var peerSentGoAway = false

    public init(policy: ServerConnectionPolicy, now: Instant) {
        self.policy = policy
        self.lastStreamActivity = now
        self.lastRead = now
    }

    // MARK: Start

    /// Arms the connection's timers. `jitter` is a number in [0, 1) (a random source passed in):
    /// max age becomes `maxAge * (0.9 + 0.2 * jitter)`.
    public func started(now: Instant, jitter: Double) -> [Action] {
        var actions: [Action] = []
        if let idle = policy.idleTimeout { actions.append(.schedule(.idle, at: now + idle)) }
        if let maxAge = policy.maxAge {
            actions.append(.schedule(.maxAge, at: now + Self.jittered(maxAge, jitter)))
        }
        if let interval = policy.keepaliveInterval { actions.append(.schedule(.keepalive, at: now + interval)) }
        return actions
    }

    /// `base` scaled by a factor in [0.9, 1.1).
    public static func jittered(_ base: Duration, _ jitter: Double) -> Duration {
        let clamped = min(max(jitter, 0), 0.999_999)
        return base.scaled(by: 0.9 + 0.2 * clamped)
    }

    // MARK: Streams

    /// The peer opened a stream (its HEADERS arrived).
    public mutating func streamOpened(_ id: StreamID, now: Instant) -> [Action] {
        switch state {
        case .closed:
            return [.refuseStream(id)]
        case .draining(_, let lastStreamID, _) where id > lastStreamID:
            // swift-nio-http2 already refuses these; deciding it here too keeps the rule testable.
            return [.refuseStream(id)]
        case .active, .notified, .draining:
            break
        }
        openStreams += 1
        requestCount += 1
        if id > highestPeerStreamID { highestPeerStreamID = id }
        pingStrikes = 0
        if case .active = state, let max = policy.maxRequestsPerConnection, requestCount >= max {
            return beginShutdown(.maxRequests, now: now)
        }
        return []
    }

    /// A stream the peer opened has ended (completed, reset or failed).
    public mutating func streamClosed(_ id: StreamID, now: Instant) -> [Action] {
        guard openStreams > 0 else { return [] }
        openStreams -= 1
        guard openStreams == 0 else { return [] }
        lastStreamActivity = now
        switch state {
        case .draining(let reason, _, let since):
            state = .closed
            return [.close(reason: reason, drainStarted: since)]
        case .active where peerSentGoAway:
            state = .closed
            return [.close(reason: .peerGoAway, drainStarted: nil)]
        case .active, .notified, .closed:
            return []
        }
    }

    // MARK: Shutdown

    /// A request to end the connection gracefully. A no-op unless the connection is active.
    public mutating func shutdownRequested(_ reason: ShutdownReason, now: Instant) -> [Action] {
        guard case .active = state else { return [] }
        return beginShutdown(reason, now: now)
    }

    private mutating func beginShutdown(_ reason: ShutdownReason, now: Instant) -> [Action] {
        state = .notified(reason: reason, since: now)
        return [
            .sendGoAway(lastStreamID: .max, code: .noError, debugData: reason.rawValue, reason: reason),
            .sendPing(payload: Self.drainPingPayload),
            .schedule(.pingAck, at: now + policy.pingAckTimeout),
        ]
    }

    /// Phase two: the final GOAWAY with the real last-stream-id.
    private mutating func sendFinalGoAway(now: Instant) -> [Action] {
        guard case .notified(let reason, let since) = state else { return [] }
        let last = highestPeerStreamID
        var actions: [Action] = [
            .cancel(.pingAck),
            .sendGoAway(lastStreamID: last, code: Self.code(for: reason), debugData: reason.rawValue, reason: reason),
        ]
        if openStreams == 0 {
            state = .closed
            actions.append(.close(reason: reason, drainStarted: since))
        } else {
            state = .draining(reason: reason, lastStreamID: last, since: since)
            let grace = reason == .maxAge ? policy.maxAgeGrace : policy.drainGrace
            actions.append(.schedule(.grace, at: now + grace))
        }
        return actions
    }

    static func code(for reason: ShutdownReason) -> HTTP2ErrorCode {
        switch reason {
        case .tooManyPings: .enhanceYourCalm
        case .error: .internalError
        default: .noError
        }
    }

    // MARK: Frames from the peer

    /// Anything was read from the peer (called once per read batch): keepalive counts from here.
    public mutating func readActivity(now: Instant) {
        lastRead = now
    }

    /// The peer acked one of our PINGs.
    public mutating func pingAckReceived(payload: UInt64, now: Instant) -> [Action] {
        switch payload {
        case Self.drainPingPayload:
            return sendFinalGoAway(now: now)
        case Self.keepalivePingPayload where keepaliveAckPending:
            keepaliveAckPending = false
            guard let interval = policy.keepaliveInterval, !isClosed else { return [.cancel(.keepaliveAck)] }
            return [.cancel(.keepaliveAck), .schedule(.keepalive, at: now + interval)]
        default:
            return []
        }
    }

    /// The peer sent a PING (not an ack; swift-nio-http2 answers it). Too many while nothing is
    /// open end the connection with ENHANCE_YOUR_CALM "too_many_pings" (gRFC A8).
    public mutating func pingReceived(now: Instant) -> [Action] {
        defer { lastPeerPing = now }
        guard openStreams == 0, let last = lastPeerPing, now - last < policy.minimumPeerPingInterval else {
            return []
        }
        pingStrikes += 1
        guard pingStrikes > policy.maxPingStrikes, !isClosed else { return [] }
        // Abuse, and nothing is open: one GOAWAY with the real last-stream-id, no notice round.
        state = .closed
        return [
            .sendGoAway(lastStreamID: highestPeerStreamID, code: .enhanceYourCalm, debugData: ShutdownReason.tooManyPings.rawValue, reason: .tooManyPings),
            .close(reason: .tooManyPings, drainStarted: now),
        ]
    }

    /// The peer sent GOAWAY: it opens nothing more. Finish what is open, then close.
    public mutating func peerGoAwayReceived(lastStreamID: StreamID, code: HTTP2ErrorCode, now: Instant) -> [Action] {
        peerSentGoAway = true
        guard openStreams == 0 else { return [] }
        switch state {
        case .active, .notified:
            let drainStarted: Instant? = if case .notified(_, let since) = state { since } else { nil }
            state = .closed
            return [.close(reason: .peerGoAway, drainStarted: drainStarted)]
        case .draining, .closed:
            return []
        }
    }

    // MARK: Timers

    public mutating func timerFired(_ timer: ServerConnectionTimer, now: Instant) -> [Action] {
        if isClosed { return [] }
        switch timer {
        case .idle:
            guard let idle = policy.idleTimeout, case .active = state else { return [] }
            if openStreams > 0 { return [.schedule(.idle, at: now + idle)] }
            let due = lastStreamActivity + idle
            if now < due { return [.schedule(.idle, at: due)] }
            return beginShutdown(.idle, now: now)
        case .maxAge:
            return shutdownRequested(.maxAge, now: now)
        case .pingAck:
            return sendFinalGoAway(now: now)
        case .grace:
            guard case .draining(let reason, _, let since) = state else { return [] }
            state = .closed
            return [.close(reason: reason, drainStarted: since)]
        case .keepalive:
            guard let interval = policy.keepaliveInterval, !keepaliveAckPending else { return [] }
            let due = lastRead + interval
            if now < due { return [.schedule(.keepalive, at: due)] }
            keepaliveAckPending = true
            return [.sendPing(payload: Self.keepalivePingPayload), .schedule(.keepaliveAck, at: now + policy.keepaliveTimeout)]
        case .header, .stall:
            // Protection timers: the shell asks `AbuseDetector`, which needs its own inputs.
            return []
        case .keepaliveAck:
            guard keepaliveAckPending else { return [] }
            // The peer is gone or wedged: a drain would wait on it again, so end now.
            let drainStarted: Instant? =
                switch state {
                case .notified(_, let since), .draining(_, _, let since): since
                default: nil
                }
            let lastID: StreamID =
                if case .draining(_, let id, _) = state { id } else { highestPeerStreamID }
            state = .closed
            return [
                .sendGoAway(lastStreamID: lastID, code: .noError, debugData: ShutdownReason.keepaliveTimeout.rawValue, reason: .keepaliveTimeout),
                .close(reason: .keepaliveTimeout, drainStarted: drainStarted),
            ]
        }
    }

    // MARK: Protections

    /// A protection limit was hit (see `AbuseDetector`): one GOAWAY naming it, then close at once.
    /// No notice round: the peer is hostile or broken, and a drain would wait on it. The
    /// last-stream-id is the highest stream we may have acted on, or the final GOAWAY's if one went
    /// out (never raised). A no-op once closed.
    public mutating func abort(_ reason: ShutdownReason, now: Instant) -> [Action] {
        endNow(code: AbuseDetector.code(for: reason), debugData: reason.rawValue, reason: reason)
    }

    /// swift-nio-http2 found a connection error (RFC 9113 §5.4.1) and reported it with `code`: one
    /// GOAWAY with that code and the highest stream that reached the handler (never raised past a
    /// final GOAWAY's id), then close at once. Replaces swift-nio-http2's own GOAWAY, whose
    /// last-stream-id is 2^31-1. A no-op once closed: no second GOAWAY.
    public mutating func connectionError(code: HTTP2ErrorCode, now: Instant) -> [Action] {
        endNow(code: code, debugData: "", reason: .error)
    }

    /// One GOAWAY, then close at once: the last-stream-id is the highest stream we may have acted
    /// on, or the final GOAWAY's if one went out (never raised). A no-op once closed.
    private mutating func endNow(code: HTTP2ErrorCode, debugData: String, reason: ShutdownReason) -> [Action] {
        let lastID: StreamID
        let drainStarted: Instant?
        switch state {
        case .closed:
            return []
        case .active:
            (lastID, drainStarted) = (highestPeerStreamID, nil)
        case .notified(_, let since):
            (lastID, drainStarted) = (highestPeerStreamID, since)
        case .draining(_, let id, let since):
            (lastID, drainStarted) = (id, since)
        }
        state = .closed
        return [
            .sendGoAway(lastStreamID: lastID, code: code, debugData: debugData, reason: reason),
            .close(reason: reason, drainStarted: drainStarted),
        ]
    }

    /// The channel went away (peer closed, error, or our own close completed).
    public mutating func connectionClosed() -> [Action] {
        state = .closed
        return ServerConnectionTimer.allCases.map { .cancel($0) }
    }

    public var isClosed: Bool { if case .closed = state { true } else { false } }
    public var isDraining: Bool {
        switch state {
        case .notified, .draining: true
        case .active, .closed: false
        }
    }
}
