/// The lifecycle of one server-side HTTP/2 connection: when to send which GOAWAY, when to close.
///
/// ```
///              shutdownRequested | max age | max requests | idle | too many pings
///   active ─────────────────────────────────────────────────────────────► notified
///     │          sends GOAWAY(2^31-1, NO_ERROR), arms the notice timer:          │
///     │          2 round trips, within [50 ms, pingAckTimeout]                   │ notice timer
///     │ peer GOAWAY: finish open streams, then close                              │
///     │                                                                           ▼
///     │                                     draining: GOAWAY(highest peer stream, code) sent,
///     │                                     grace timer armed; new streams above it refused
///     │                                                                           │ last stream closed,
///     ▼                                                                           ▼ or grace deadline
///   closed ◄──────────────────────────────────────────────────────────────────────┘
/// ```
///
/// **Why no PING after the notice, and why max requests answers first.** The classic drain (RFC
/// 9113 §6.8's advice, swift-nio-http2's `NIOHTTP2ServerConnectionManagementHandler`, grpc) sends
/// GOAWAY(2^31-1) and a PING, and the final GOAWAY on the ack. Python's `h2` (python-hyper/h2
/// #1199, open since 2019) moves to CLOSED on any GOAWAY and then fails on *any* frame received,
/// not only the PING (`Invalid input RECV_PING / RECV_HEADERS / RECV_DATA in state CLOSED`),
/// dropping the connection with everything in flight. Measured with httpx 0.28 / h2 4.4,
/// 5,000 requests at c=16 against `goaway serve --max-requests 100` (scripts/peers/httpx_load.py):
///
/// | drain | httpx failures |
/// |---|---|
/// | GOAWAY(2^31-1) + PING, final GOAWAY on the ack | 419–437 (8.4–8.7%) |
/// | GOAWAY(2^31-1), final GOAWAY 2 round trips later (no PING) | 394–428 (8–8.6%) |
/// | one GOAWAY, then the answers (scripts/peers/goaway_every_n_server.py --every 100) | 426 (8.5%) |
/// | the answers, then at once one GOAWAY | 70–102 (1.4–2.0%) |
/// | the answers, one notice wait, then one GOAWAY (`.answersFirst`) | 0, 0 |
///
/// So: no PING ever follows a GOAWAY; the two-phase drain (shutdown, max age, idle, max
/// connections) times its first phase by the round trip instead, measured before the notice —
/// our SETTINGS to its ack, and keepalive PING acks. Streams the peer sent before it read the
/// notice arrive within about a round trip plus its own scheduling delay: the final GOAWAY
/// follows two round trips (at least `noticeMinimumWait`, 50 ms) without a new stream, never later
/// than `pingAckTimeout` (also the wait when nothing was measured). A stream that still arrives
/// after it is refused with REFUSED_STREAM: never processed, safe to retry. Max requests — the
/// busy case, where the server picks the moment — answers first (`DrainStyle.answersFirst`,
/// `policy.maxRequestsDrain`): streams up to the decision are answered, later ones held
/// unprocessed, and one GOAWAY follows a notice wait after the last answer (so the client is
/// waiting on its held requests, not halfway through sending one): `h2` never sees a frame after a
/// GOAWAY, every client re-sends the held streams, which were never processed.
///
/// Why our own machine rather than swift-nio-http2's handler: that handler waits for the PING ack
/// forever (a peer that never acks keeps the connection open), has no jitter on max age, no
/// max-requests limit and reports nothing; it also overwrites its `.closed` state with `.closing`
/// on the ack. Here max age is jittered by ±10%, every wait is bounded, and every transition is a
/// value the tests can see. The NIO shell (`ServerConnectionHandler` in GoAwayKit) turns frames and
/// timers into calls here and runs the returned actions; swift-nio-http2 keeps doing framing,
/// HPACK, flow control and the per-stream protocol rules.
///
/// Rules that hold in every state:
/// - the last-stream-id we send is never raised: the notice uses 2^31-1, the final one the highest
///   peer stream seen when it is sent, and ids only grow;
/// - streams the peer opens between the two GOAWAYs are served;
/// - no PING follows a GOAWAY (keepalive stops once the drain begins);
/// - a second shutdown request is a no-op;
/// - every wait is bounded (notice, then grace).
public struct ServerConnectionStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        case active
        /// The shutdown notice (GOAWAY 2^31-1) is out; the final GOAWAY follows when the notice timer fires.
        case notified(reason: ShutdownReason, since: Instant)
        /// `.answersFirst`: nothing sent yet; streams up to `lastStreamID` are being answered, later
        /// ones are held unprocessed; the GOAWAY follows the last answer (or the notice timer).
        case answering(reason: ShutdownReason, lastStreamID: StreamID, since: Instant)
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
        /// Leave a stream unprocessed and unanswered: the coming GOAWAY's last-stream-id is below it
        /// (`.answersFirst`; a RST_STREAM would fail the request in clients that do not retry it).
        case holdStream(StreamID)
        /// Close the connection (after flushing what was written). `drainStarted` is when the
        /// shutdown notice went out, for drain-duration metrics.
        case close(reason: ShutdownReason?, drainStarted: Instant?)
    }

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
    /// When our initial SETTINGS went out (connection start) and the last keepalive PING.
    private var settingsSentAt: Instant?
    private var keepaliveSentAt: Instant?
    /// The connection's round trip, last measured (SETTINGS ack, keepalive PING ack).
    public private(set) var roundTrip: Duration?
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
    public mutating func started(now: Instant, jitter: Double) -> [Action] {
        settingsSentAt = now
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
            return [.refuseStream(id)]
        case .answering(_, let lastStreamID, _) where id > lastStreamID:
            return [.holdStream(id)]
        case .active, .notified, .draining, .answering:
            break
        }
        openStreams += 1
        requestCount += 1
        if id > highestPeerStreamID { highestPeerStreamID = id }
        pingStrikes = 0
        if case .notified(_, let since) = state {
            // Streams still racing the notice: the peer has not read it yet. The final GOAWAY waits
            // for a quiet notice wait after the last of them, never past the cap.
            let cap = since + max(policy.pingAckTimeout, policy.noticeMinimumWait)
            return [.schedule(.notice, at: min(now + policy.noticeWait(roundTrip: roundTrip), cap))]
        }
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
        case .answering:
            // Answered. The GOAWAY follows one notice wait later: by then the client has put its
            // next requests on the connection (held, above the GOAWAY's id, re-sent elsewhere) and
            // waits on them, instead of being halfway through sending one when the GOAWAY lands.
            return [.schedule(.notice, at: now + policy.noticeWait(roundTrip: roundTrip))]
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
        if reason == .maxRequests, policy.maxRequestsDrain == .answersFirst {
            state = .answering(reason: reason, lastStreamID: highestPeerStreamID, since: now)
            if openStreams == 0 { return sendFinalGoAway(now: now) }
            return [.schedule(.notice, at: now + policy.answersFirstWait)]
        }
        state = .notified(reason: reason, since: now)
        var actions: [Action] = [
            .sendGoAway(lastStreamID: .max, code: .noError, debugData: reason.rawValue, reason: reason),
            .schedule(.notice, at: now + policy.noticeWait(roundTrip: roundTrip)),
        ]
        // No PING after a GOAWAY: a keepalive round in flight is no longer waited for.
        if keepaliveAckPending {
            keepaliveAckPending = false
            actions.append(.cancel(.keepaliveAck))
        }
        return actions
    }

    /// Phase two: the final GOAWAY with the real last-stream-id.
    private mutating func sendFinalGoAway(now: Instant) -> [Action] {
        let (reason, since, last): (ShutdownReason, Instant, StreamID)
        switch state {
        case .notified(let r, let s): (reason, since, last) = (r, s, highestPeerStreamID)
        case .answering(let r, let l, let s): (reason, since, last) = (r, s, l)
        case .active, .draining, .closed: return []
        }
        var actions: [Action] = [
            .cancel(.notice),
            .sendGoAway(lastStreamID: last, code: reason.goAwayCode(graceful: true), debugData: reason.rawValue, reason: reason),
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

    // MARK: Frames from the peer

    /// Anything was read from the peer (called once per read batch): keepalive counts from here.
    public mutating func readActivity(now: Instant) {
        lastRead = now
    }

    /// The peer acked our initial SETTINGS: the first round-trip measurement.
    public mutating func settingsAckReceived(now: Instant) {
        guard let sent = settingsSentAt else { return }
        settingsSentAt = nil
        roundTrip = now - sent
    }

    /// The peer acked one of our PINGs.
    public mutating func pingAckReceived(payload: UInt64, now: Instant) -> [Action] {
        guard payload == Self.keepalivePingPayload, keepaliveAckPending else { return [] }
        keepaliveAckPending = false
        if let sent = keepaliveSentAt { roundTrip = now - sent }
        guard let interval = policy.keepaliveInterval, case .active = state else { return [.cancel(.keepaliveAck)] }
        return [.cancel(.keepaliveAck), .schedule(.keepalive, at: now + interval)]
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
        case .active, .notified, .answering:
            let drainStarted: Instant? =
                switch state {
                case .notified(_, let since), .answering(_, _, let since): since
                default: nil
                }
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
        case .notice:
            return sendFinalGoAway(now: now)
        case .grace:
            guard case .draining(let reason, _, let since) = state else { return [] }
            state = .closed
            return [.close(reason: reason, drainStarted: since)]
        case .keepalive:
            // Active only: no PING after a GOAWAY (the drain's own waits are bounded).
            guard let interval = policy.keepaliveInterval, !keepaliveAckPending, case .active = state else { return [] }
            let due = lastRead + interval
            if now < due { return [.schedule(.keepalive, at: due)] }
            keepaliveAckPending = true
            keepaliveSentAt = now
            return [.sendPing(payload: Self.keepalivePingPayload), .schedule(.keepaliveAck, at: now + policy.keepaliveTimeout)]
        case .header, .stall:
            // Protection timers: the shell asks `AbuseDetector`, which needs its own inputs.
            return []
        case .keepaliveAck:
            guard keepaliveAckPending else { return [] }
            // The peer is gone or wedged: a drain would wait on it again, so end now.
            let drainStarted: Instant? =
                switch state {
                case .notified(_, let since), .draining(_, _, let since), .answering(_, _, let since): since
                default: nil
                }
            let lastID: StreamID =
                switch state {
                case .draining(_, let id, _), .answering(_, let id, _): id
                default: highestPeerStreamID
                }
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
        endNow(code: reason.goAwayCode(graceful: false), debugData: reason.rawValue, reason: reason)
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
        case .draining(_, let id, let since), .answering(_, let id, let since):
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
        case .notified, .draining, .answering: true
        case .active, .closed: false
        }
    }
}
