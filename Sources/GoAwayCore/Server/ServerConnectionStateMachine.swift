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
/// The answers-first drain leaves the streams the client opens meanwhile unprocessed above the
/// GOAWAY's last-stream-id: Go, ours and httpx re-send them, Node's http2 client does not. The
/// same load, by client and drain (debug build, 2 shared cores; `scripts/bench-peers/node-h2-load.js`,
/// `scripts/peers/httpx_load.py`, Go's x/net/http2 `Benchmarks/go-h2`, `goaway load`):
///
/// | client | answers first | two-phase | two-phase, notice ahead of the batch | `.byPeer` (default) |
/// |---|---|---|---|---|
/// | Node 20 http2 | 688, 688 (13.8%) | 51, 67 | 0, 0 | 0, 0 |
/// | httpx 0.28 / h2 4.4 | 41, 32 (0.6–0.8%) | 419, 406 (8.1–8.4%) | — | 28, 12 (0.2–0.6%) |
/// | Go x/net/http2 | 0 | 0 | — | 0 |
/// | GoAwayKit | 0 | 0 | — | 0 |
///
/// Node's two-phase losses were its own: it opens its next request while reading an answer, and
/// one opened while reading answers that precede the notice in the same read is failed locally
/// (nghttp2 REFUSED_STREAM, never sent; the server refused none). The notice now goes ahead of
/// the read batch's unflushed answers, and Node lost 0. No single style serves both Node and
/// httpx, so max requests drains by peer (`DrainStyle.byPeer`): answers first for Python's `h2`,
/// recognised by its first SETTINGS (`PeerSetting.isPythonH2`), two-phase for the rest.
/// (h2load does not reconnect after a GOAWAY, so it cannot be measured this way; nghttp sends one
/// request per connection.)
///
/// So: no PING ever follows a GOAWAY; the two-phase drain (shutdown, max age, idle, max
/// connections) times its first phase by the round trip instead, measured before the notice —
/// our SETTINGS to its ack, and keepalive PING acks. Streams the peer sent before it read the
/// notice arrive within about a round trip plus its own scheduling delay: the final GOAWAY
/// follows two round trips (at least `noticeMinimumWait`, 50 ms) without a new stream, never later
/// than `pingAckTimeout` (also the wait when nothing was measured). A stream that still arrives
/// after it is refused with REFUSED_STREAM: never processed, safe to retry. Max requests — the
/// busy case, where the server picks the moment — answers first for `h2` (`DrainStyle.byPeer`,
/// `policy.maxRequestsDrain`): streams up to the decision are answered, later ones held
/// unprocessed, and one GOAWAY follows a notice wait after the last answer (so the client is
/// waiting on its held requests, not halfway through sending one): `h2` never sees a frame after a
/// GOAWAY, every client re-sends the held streams, which were never processed.
///
/// Why our own machine rather than swift-nio-http2's handler: that handler waits for the PING ack
/// forever (a peer that never acks keeps the connection open), has no jitter on max age, no
/// max-requests limit and reports nothing; it also overwrites its `.closed` state with `.closing`
/// on the ack. Here max age is jittered by ±10%, every wait is bounded, and every transition is a
/// value the tests can see.
///
/// **One core.** The machine composes `AbuseDetector` (the protections) and owns every decision
/// of the connection: the drain, the protections' verdicts, the typed timers, the inbound flow
/// control (one `InboundWindow` for the connection, one per stream; padding counted once) and
/// what happens to a request whose response ended before it did. The NIO shell
/// (`ServerConnectionHandler` in GoAwayKit) turns frames, callbacks and loop time into one
/// `Event` at a time (`handle(_:now:into:)`) and runs the `Action`s that come back; it arms one
/// loop timer at `nextDeadline` and sends `.timersDue` when it fires (an early wake-up is
/// harmless). swift-nio-http2 keeps doing framing, HPACK, the send windows and the per-stream
/// protocol rules.
///
/// Rules that hold in every state:
/// - the last-stream-id we send is never raised: the notice uses 2^31-1, the final one the highest
///   peer stream seen when it is sent, and ids only grow;
/// - streams the peer opens between the two GOAWAYs are served;
/// - no PING follows a GOAWAY (keepalive stops once the drain begins);
/// - a second shutdown request is a no-op;
/// - every wait is bounded (notice, then grace).
public struct ServerConnectionStateMachine: Sendable {
    /// The keepalive PING payload ("GoAwKeep").
    public static let keepalivePingPayload: UInt64 = 0x476F_4177_4B65_6570

    /// Limits, timeouts and drain style of this connection.
    public let policy: ServerConnectionPolicy
    /// The protections (counts in, verdicts out), owned here.
    public internal(set) var protection: AbuseDetector
    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise: each stream's window, and the connection's.
    public let initialWindowSize: Int
    /// The connection's state.
    public internal(set) var state: State = .active
    /// `.started` was handled.
    public internal(set) var hasStarted = false
    /// The highest stream id the peer opened: the final GOAWAY's last-stream-id.
    public internal(set) var highestPeerStreamID: StreamID = .root
    /// Requests (streams) the peer opened on this connection.
    public internal(set) var requestCount = 0
    /// The connection's round trip, last measured (SETTINGS ack, keepalive PING ack).
    public internal(set) var roundTrip: Duration?
    /// The connection's receive window (credit on arrival: the stream windows bound it).
    public internal(set) var connectionWindow: InboundWindow
    /// Frames the protections count.
    public internal(set) var frameCounts = PeerFrameCounts()

    var streams = StreamTable<StreamID, Stream>()
    var deadlines = Deadlines()
    /// The earliest deadline: when the shell must send `.timersDue` (`nil`: nothing armed). Stored,
    /// set after each event: the shell reads it after every event, and a computed property read
    /// through the shell's class copied the whole machine (~750 instructions a read).
    public internal(set) var nextDeadline: Instant?
    var lastStreamActivity: Instant
    var lastRead: Instant
    var keepaliveAckPending = false
    /// When our initial SETTINGS went out (connection start) and the last keepalive PING.
    var settingsSentAt: Instant?
    var keepaliveSentAt: Instant?
    var lastPeerPing: Instant?
    var pingStrikes = 0
    var peerSentGoAway = false
    var pendingShutdown: ShutdownReason?
    /// The peer's first SETTINGS was Python `h2`'s (`DrainStyle.byPeer`).
    public internal(set) var peerIsPythonH2 = false
    /// The last read batch ended inside the preface, a frame or a header block (true until a
    /// frame completes: the preface is awaited).
    var waitingForFrame = true
    /// Streams closed and awaited writes settled: the stall check's progress counter.
    var sendProgress = 0
    var completedDuringDrain = 0
    /// Set when the machine closes the connection: why, and when the drain began.
    var closedBy: (reason: ShutdownReason?, drainStarted: Instant?)?
    var summaryReported = false

    /// - Parameters:
    ///   - policy: when and how the connection drains.
    ///   - protection: the limits against hostile peers (`AbuseDetector`'s policy).
    ///   - initialWindowSize: our SETTINGS_INITIAL_WINDOW_SIZE, also the connection window we
    ///     grant (clamped to 1...2^31-1); the connection starts at the protocol's 65,535.
    ///   - now: when the connection was accepted (the preface wait counts from here).
    public init(policy: ServerConnectionPolicy, protection: ServerProtectionPolicy = .defaults, initialWindowSize: Int = InboundWindow.protocolDefault, now: Instant) {
        self.policy = policy
        self.protection = AbuseDetector(policy: protection, now: now)
        let window = min(max(initialWindowSize, 1), InboundWindow.maximum)
        self.initialWindowSize = window
        self.connectionWindow = InboundWindow(target: window, advertised: InboundWindow.protocolDefault)
        self.lastStreamActivity = now
        self.lastRead = now
    }

    /// Streams the peer opened that have not closed yet.
    public var openStreams: Int { streams.count }
    /// Whether the machine reached `.closed`.
    public var isClosed: Bool { if case .closed = state { true } else { false } }
    /// Whether a GOAWAY is out or being prepared: no new work is accepted past it.
    public var isDraining: Bool {
        switch state {
        case .notified, .draining, .answering: true
        case .active, .closed: false
        }
    }

    /// Whether the peer's stream `id` is open here (its request reached the machine and it has not closed).
    public func streamIsOpen(_ id: StreamID) -> Bool { streams[id] != nil }

    /// Whether a stream can still take response frames.
    public func responseOpen(_ id: StreamID) -> Bool {
        guard let stream = streams[id] else { return false }
        return !stream.responseEnded
    }

    /// `base` scaled by a factor in [0.9, 1.1).
    public static func jittered(_ base: Duration, _ jitter: Double) -> Duration {
        let clamped = min(max(jitter, 0), 0.999_999)
        return base.scaled(by: 0.9 + 0.2 * clamped)
    }

    // MARK: The one entry point

    /// Handles one event at `now` (the loop's time), appending what the shell must do to
    /// `actions` in order. Afterwards `nextDeadline` says when to send `.timersDue`.
    public mutating func handle(_ event: Event, now: Instant, into actions: inout [Action]) {
        defer { nextDeadline = deadlines.earliest }
        switch event {
        case .started(let jitter, let refuse): started(now: now, jitter: jitter, refuse: refuse, into: &actions)
        case .headers(let id, let endStream, let valid): headers(id, endStream: endStream, valid: valid, now: now, into: &actions)
        case .data(let id, let bytes, let padding, let endStream): data(id, bytes: bytes, paddingBytes: padding, endStream: endStream, into: &actions)
        case .bodyConsumed(let id, let bytes): bodyConsumed(id, bytes: bytes, into: &actions)
        case .streamReset(let id, let code): streamReset(id, code: code, into: &actions)
        case .streamClosed(let id, let code): streamClosed(id, code: code, now: now, into: &actions)
        case .ping(let payload, let ack):
            if ack { pingAckReceived(payload: payload, now: now) } else { pingReceived(now: now, into: &actions) }
        case .settingsAck: settingsAckReceived(now: now)
        case .settings(let parameters):
            if frameCounts.settings == 0 { peerIsPythonH2 = PeerSetting.isPythonH2(parameters) }
            frameCounts.settings += 1
        case .windowUpdate: frameCounts.windowUpdates += 1
        case .priority: frameCounts.priorities += 1
        case .peerGoAway: peerGoAwayReceived(into: &actions)
        case .readBatchEnded(let waiting, let completed): readBatchEnded(waitingForFrame: waiting, framesCompleted: completed, now: now, into: &actions)
        case .responseEnded(let id): responseEnded(id, into: &actions)
        case .dataSent(let id, let bytes, let endStream, let awaited): dataSent(id, bytes: bytes, endStream: endStream, awaited: awaited, into: &actions)
        case .writeSettled(let id):
            sendProgress &+= 1
            streams.modify(id) { $0.writePending = false }
        case .libraryLimit(let limit): abortForAbuse(AbuseDetector.reason(for: limit, counts: frameCounts), now: now, into: &actions)
        case .libraryStreamError:
            if let reason = protection.streamError(now: now) { abortForAbuse(reason, now: now, into: &actions) }
        case .connectionError(let code): endNow(code: code, debugData: "", reason: .error, into: &actions)
        case .transportError:
            guard !isClosed else { return }
            // A drain under way keeps its reason (the summary reports it as the closed event).
            close(reason: drainReason, drainStarted: drainStart)
            actions.append(.closeNow)
        case .shutdownRequested(let reason):
            guard hasStarted else {
                if !isClosed { pendingShutdown = reason }
                return
            }
            shutdownRequested(reason, now: now, into: &actions)
        case .timersDue: timersDue(now: now, into: &actions)
        }
    }

    /// `handle(_:now:into:)` returning the actions (tests, and events that are rare).
    public mutating func handle(_ event: Event, now: Instant) -> [Action] {
        var actions: [Action] = []
        handle(event, now: now, into: &actions)
        return actions
    }

    /// The channel went away (the peer closed, an error, or our own close completed): how the
    /// connection ended, once (`nil` when already reported). Every stream and timer is dropped.
    public mutating func connectionClosed() -> CloseSummary? {
        guard !summaryReported else { return nil }
        summaryReported = true
        let (reason, drainStarted): (ShutdownReason?, Instant?) =
            switch state {
            case .notified(let r, let since), .draining(let r, _, let since), .answering(let r, _, let since): (r, since)
            case .active, .closed: closedBy ?? (nil, nil)
            }
        let unfinished = streams.keys.filter { !streams[$0]!.responseEnded }.sorted()
        streams.removeAll()
        state = .closed
        deadlines = Deadlines()
        nextDeadline = nil
        return CloseSummary(reason: reason, drainStarted: drainStarted, requestsCompletedDuringDrain: completedDuringDrain, unfinishedStreams: unfinished)
    }

    // MARK: Start

    mutating func started(now: Instant, jitter: Double, refuse: Bool, into actions: inout [Action]) {
        guard !hasStarted, !isClosed else { return }
        hasStarted = true
        settingsSentAt = now
        // Raise the connection window to the configured size (SETTINGS only covers streams).
        if let increment = connectionWindow.openingIncrement() { actions.append(.windowUpdate(.root, increment: increment)) }
        if let idle = policy.idleTimeout { deadlines[.idle] = now + idle }
        if let maxAge = policy.maxAge { deadlines[.maxAge] = now + Self.jittered(maxAge, jitter) }
        if let interval = policy.keepaliveInterval { deadlines[.keepalive] = now + interval }
        if case .schedule(let at) = protection.started(now: now) { deadlines[.header] = at }
        if let reason = pendingShutdown {
            pendingShutdown = nil
            shutdownRequested(reason, now: now, into: &actions)
        }
        if refuse { abortForAbuse(.maxConnections, now: now, into: &actions) }
    }

    // MARK: Frames from the peer

    mutating func readBatchEnded(waitingForFrame waiting: Bool, framesCompleted: Int, now: Instant, into actions: inout [Action]) {
        lastRead = now
        waitingForFrame = waiting
        switch protection.readBatchEnded(counts: frameCounts, waitingForFrame: waiting, framesCompleted: framesCompleted, now: now) {
        case .none: break
        case .scheduleHeaderTimer(let at): if !isClosed { deadlines[.header] = at }
        case .abuse(let reason): abortForAbuse(reason, now: now, into: &actions)
        }
    }

    /// The peer acked our initial SETTINGS: the first round-trip measurement.
    mutating func settingsAckReceived(now: Instant) {
        guard let sent = settingsSentAt else { return }
        settingsSentAt = nil
        roundTrip = now - sent
    }

    mutating func pingAckReceived(payload: UInt64, now: Instant) {
        guard payload == Self.keepalivePingPayload, keepaliveAckPending else { return }
        keepaliveAckPending = false
        deadlines[.keepaliveAck] = nil
        if let sent = keepaliveSentAt { roundTrip = now - sent }
        if let interval = policy.keepaliveInterval, case .active = state { deadlines[.keepalive] = now + interval }
    }

    /// Too many PINGs while nothing is open end the connection with ENHANCE_YOUR_CALM
    /// "too_many_pings" (gRFC A8).
    mutating func pingReceived(now: Instant, into actions: inout [Action]) {
        frameCounts.pings += 1
        defer { lastPeerPing = now }
        guard streams.isEmpty, let last = lastPeerPing, now - last < policy.minimumPeerPingInterval else { return }
        pingStrikes += 1
        guard pingStrikes > policy.maxPingStrikes, !isClosed else { return }
        // Abuse, and nothing is open: one GOAWAY with the real last-stream-id, no notice round.
        close(reason: .tooManyPings, drainStarted: now)
        actions.append(.sendGoAway(lastStreamID: highestPeerStreamID, code: .enhanceYourCalm, debugData: ShutdownReason.tooManyPings.rawValue, reason: .tooManyPings))
        actions.append(.close)
    }

    /// The peer sent GOAWAY: finish what is open, then close.
    mutating func peerGoAwayReceived(into actions: inout [Action]) {
        peerSentGoAway = true
        guard streams.isEmpty else { return }
        switch state {
        case .active, .notified, .answering:
            close(reason: .peerGoAway, drainStarted: drainStart)
            actions.append(.close)
        case .draining, .closed:
            return
        }
    }
}
