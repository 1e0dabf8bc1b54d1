/// The limits that decide when and how a server connection ends. Pure values; the NIO server's
/// `HTTP2Server.Configuration` carries one of these.
public struct ServerConnectionPolicy: Sendable, Hashable {
    /// Close a connection that has had no open stream for this long (a drain, reason `idle`).
    /// Default 5 minutes; `nil` disables.
    public var idleTimeout: Duration?
    /// Drain a connection this old, with ±10% jitter so a fleet's connections do not all end at
    /// once (gRFC A9). Default `nil` (no limit).
    public var maxAge: Duration?
    /// After a max-age drain's final GOAWAY, streams get this long to finish. Default 30 s.
    public var maxAgeGrace: Duration
    /// Drain after this many requests (streams) on one connection; streams that race the
    /// shutdown notice are still served. Default `nil` (no limit).
    public var maxRequestsPerConnection: Int?
    /// The longest the first phase (between the shutdown notice and the final GOAWAY) lasts, and
    /// its length when no round trip has been measured yet. (The name dates from the drain that
    /// waited for a PING ack; grpc-java caps that wait at 10 s, grpc-core at 20 s.) Default 5 s.
    public var pingAckTimeout: Duration
    /// The first phase lasts this many round trips (measured from our SETTINGS to its ack, and from
    /// keepalive PINGs), within [`noticeMinimumWait`, `pingAckTimeout`]. Default 2.
    public var noticeRoundTrips: Double
    /// The shortest first phase, however fast the round trip: a client's own scheduling delay
    /// (a busy event loop, a GIL) counts too. Default 50 ms.
    public var noticeMinimumWait: Duration
    /// How a max-requests drain runs (see `DrainStyle`). Default `.byPeer`.
    public var maxRequestsDrain: DrainStyle
    /// `.answersFirst`: the longest the GOAWAY waits for the streams it covers to be answered.
    /// Default 1 s.
    public var answersFirstWait: Duration
    /// After the final GOAWAY, in-flight streams get this long before the connection is closed.
    /// Default 30 s.
    public var drainGrace: Duration
    /// Send a keepalive PING after this long without reading anything. Default `nil` (off).
    public var keepaliveInterval: Duration?
    /// Close when a keepalive PING is not acked within this. Default 20 s.
    public var keepaliveTimeout: Duration
    /// Peer PINGs closer together than this while no stream is open count as a strike.
    /// Default 10 s.
    public var minimumPeerPingInterval: Duration
    /// Strikes allowed before the connection ends with GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings").
    /// Default 2.
    public var maxPingStrikes: Int

    /// Every parameter defaults to the value its property documents.
    public init(
        idleTimeout: Duration? = .seconds(300),
        maxAge: Duration? = nil,
        maxAgeGrace: Duration = .seconds(30),
        maxRequestsPerConnection: Int? = nil,
        pingAckTimeout: Duration = .seconds(5),
        drainGrace: Duration = .seconds(30),
        keepaliveInterval: Duration? = nil,
        keepaliveTimeout: Duration = .seconds(20),
        minimumPeerPingInterval: Duration = .seconds(10),
        maxPingStrikes: Int = 2,
        noticeRoundTrips: Double = 2,
        noticeMinimumWait: Duration = .milliseconds(50),
        maxRequestsDrain: DrainStyle = .byPeer,
        answersFirstWait: Duration = .seconds(1)
    ) {
        self.idleTimeout = idleTimeout
        self.maxAge = maxAge
        self.maxAgeGrace = maxAgeGrace
        self.maxRequestsPerConnection = maxRequestsPerConnection
        self.pingAckTimeout = pingAckTimeout
        self.drainGrace = drainGrace
        self.keepaliveInterval = keepaliveInterval
        self.keepaliveTimeout = keepaliveTimeout
        self.minimumPeerPingInterval = minimumPeerPingInterval
        self.maxPingStrikes = maxPingStrikes
        self.noticeRoundTrips = noticeRoundTrips
        self.noticeMinimumWait = noticeMinimumWait
        self.maxRequestsDrain = maxRequestsDrain
        self.answersFirstWait = answersFirstWait
    }

    /// How long the first phase lasts given the measured round trip (nil: none measured yet).
    public func noticeWait(roundTrip: Duration?) -> Duration {
        guard let roundTrip else { return pingAckTimeout }
        let wait = roundTrip.scaled(by: max(noticeRoundTrips, 0))
        return min(max(wait, noticeMinimumWait), max(pingAckTimeout, noticeMinimumWait))
    }

    /// Every documented default.
    public static var defaults: ServerConnectionPolicy { ServerConnectionPolicy() }
}

/// How a drain tells the peer. Both serve every stream they cover and bound every wait.
public enum DrainStyle: Sendable, Hashable {
    /// RFC 9113 §6.8: GOAWAY(2^31-1) at once, the final GOAWAY a few round trips later; streams
    /// that race the notice are served.
    case twoPhase
    /// One GOAWAY, sent a notice wait after every stream it covers has been answered (or after
    /// `answersFirstWait` if answers take longer); streams the peer opens meanwhile are left
    /// unprocessed and fall above its last-stream-id, so the peer re-sends them on a new
    /// connection. The only drain Python's `h2` survives under load: it fails on any frame that
    /// follows a GOAWAY.
    case answersFirst
    /// `.answersFirst` for a peer whose first SETTINGS frame is Python `h2`'s (it sends the four
    /// protocol defaults explicitly, in its own order: `PeerSetting.isPythonH2(_:)`), `.twoPhase`
    /// for every other. Neither style alone serves every client under load (5,000 requests at
    /// c=16 across max-requests drains): answers first, Node's http2 client lost 13.8% (the
    /// requests held above the last-stream-id: it does not re-send them) and httpx 0.6–0.8%;
    /// two-phase, httpx lost 8% and Node 0.
    case byPeer
}

/// One SETTINGS parameter the peer sent (RFC 9113 §6.5.1), as numbers.
public struct PeerSetting: Sendable, Hashable {
    /// The parameter's identifier (0x1 HEADER_TABLE_SIZE … 0x6 MAX_HEADER_LIST_SIZE, 0x8 …).
    public var id: UInt16
    /// Its value.
    public var value: UInt32
    /// The parameter `id` with `value`.
    public init(id: UInt16, value: UInt32) {
        self.id = id
        self.value = value
    }

    /// Whether a client's first SETTINGS is Python `h2`'s (httpx, httpcore): `h2` sends
    /// HEADER_TABLE_SIZE 4096, ENABLE_PUSH, INITIAL_WINDOW_SIZE 65535 and MAX_FRAME_SIZE 16384
    /// first, defaults included, where other stacks send only what differs. `h2` fails on any
    /// frame received after a GOAWAY (python-hyper/h2 #1199), so it gets the drain that sends
    /// none (`DrainStyle.byPeer`). A client taken for it by mistake gets answers first, which
    /// every client that re-sends unprocessed streams survives.
    public static func isPythonH2(_ settings: [PeerSetting]) -> Bool {
        guard settings.count >= 4 else { return false }
        return settings[0] == PeerSetting(id: 0x1, value: 4096) && settings[1].id == 0x2
            && settings[2] == PeerSetting(id: 0x4, value: 65_535) && settings[3] == PeerSetting(id: 0x5, value: 16_384)
    }
}

/// Why a server connection is going away. Becomes the GOAWAY debug data (a well-known token,
/// so it is safe to show even when debug data is redacted) and a metrics dimension.
public enum ShutdownReason: String, Sendable, Hashable, CaseIterable {
    /// The server is stopping (SIGTERM, `ServiceGroup` graceful shutdown).
    case shutdown
    case maxAge = "max_age"
    case maxRequests = "max_requests"
    case idle = "idle_timeout"
    case keepaliveTimeout = "keepalive_timeout"
    case tooManyPings = "too_many_pings"
    /// The peer sent its own GOAWAY; we finish what is open and close.
    case peerGoAway = "peer_goaway"
    /// A protocol or internal error ended the connection.
    case error

    // Protections (see `ServerProtectionPolicy`): the connection is ended at once, not drained.
    /// Too many RST_STREAM frames or stream errors (Rapid Reset, CVE-2023-44487; MadeYouReset).
    case rapidReset = "rapid_reset"
    /// A header block split over too many CONTINUATION frames (CVE-2024-27316 and kin).
    case continuationFlood = "continuation_flood"
    /// Too many PING frames (or their acks piling up unread).
    case pingFlood = "ping_flood"
    /// Too many SETTINGS frames (or their acks piling up unread).
    case settingsFlood = "settings_flood"
    /// Too many PRIORITY (or ALTSVC / ORIGIN) frames.
    case priorityFlood = "priority_flood"
    /// Too many DATA frames in a row without payload or END_STREAM.
    case emptyFrames = "empty_frames"
    /// More WINDOW_UPDATE frames than the data we sent can explain.
    case windowUpdateAbuse = "window_update_abuse"
    /// A header block larger than SETTINGS_MAX_HEADER_LIST_SIZE.
    case headerListSize = "header_list_size"
    /// The preface, or a frame or header block once begun, did not arrive in time (slowloris).
    case headerTimeout = "header_timeout"
    /// Over the connection limit: the oldest idle connection is drained (NO_ERROR), or, when none is
    /// idle, the new one is refused (ENHANCE_YOUR_CALM).
    case maxConnections = "max_connections"
    /// A response made no progress for the send-stall timeout: the peer stopped reading.
    case sendTimeout = "send_timeout"

    /// The one mapping from why a connection ends to its GOAWAY's error code. `graceful`: the
    /// connection is drained (two-phase or answers first) rather than ended at once; a drain
    /// says NO_ERROR unless the peer is to blame (`too_many_pings`) or we are (`error`). A
    /// protocol error swift-nio-http2 found keeps the code it chose
    /// (`ServerConnectionStateMachine.connectionError`).
    public func goAwayCode(graceful: Bool) -> HTTP2ErrorCode {
        switch self {
        case .tooManyPings: .enhanceYourCalm
        case .error: .internalError
        case .headerListSize: .protocolError
        case .sendTimeout: .noError
        case .shutdown, .maxAge, .maxRequests, .idle, .keepaliveTimeout, .peerGoAway: .noError
        case .rapidReset, .continuationFlood, .pingFlood, .settingsFlood, .priorityFlood, .emptyFrames,
            .windowUpdateAbuse, .headerTimeout, .maxConnections:
            graceful ? .noError : .enhanceYourCalm
        }
    }

    /// Whether the connection ended because a protection limit was hit (counted as an attack).
    public var isProtection: Bool {
        switch self {
        case .rapidReset, .continuationFlood, .pingFlood, .settingsFlood, .priorityFlood, .emptyFrames,
            .windowUpdateAbuse, .headerListSize, .headerTimeout, .maxConnections, .sendTimeout:
            true
        case .shutdown, .maxAge, .maxRequests, .idle, .keepaliveTimeout, .tooManyPings, .peerGoAway, .error:
            false
        }
    }
}

/// The timers a server connection runs: `ServerConnectionStateMachine` keeps one deadline per kind
/// (`deadline(_:)`), the shell one loop timer at the earliest (`nextDeadline`).
public enum ServerConnectionTimer: Sendable, Hashable, CaseIterable {
    case idle
    case maxAge
    /// The end of the first phase of a drain: the final GOAWAY goes out.
    case notice
    case grace
    case keepalive
    case keepaliveAck
    /// Waiting for the preface, or for the rest of a frame or header block (`headerTimeout`).
    case header
    /// Checks that responses waiting on the peer make progress (`sendStallTimeout`).
    case stall
}
