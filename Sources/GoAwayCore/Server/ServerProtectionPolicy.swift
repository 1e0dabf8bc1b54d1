/// The limits that protect a server from hostile or broken peers. On by default; every limit that
/// is hit ends the offending connection at once with a GOAWAY whose debug data names it
/// (`rapid_reset`, `ping_flood`…) and counts it in `goaway_server_attacks_total{kind}`.
///
/// Two kinds of limit live here:
/// - **swift-nio-http2's own** (`NIOHTTP2Handler.ConnectionConfiguration` / `StreamConfiguration`):
///   it counts, we pass the values through and turn its error into our GOAWAY with debug data
///   (its own GOAWAY carries none). Their defaults are swift-nio-http2 1.46's.
/// - **ours**, for what it lacks: WINDOW_UPDATE abuse, slow or incomplete preface / frames,
///   a peer that stops reading, and the connection limit.
///
/// See docs/protections.md for the table of limits, defaults and who enforces each.
public struct ServerProtectionPolicy: Sendable, Hashable {
    /// At most `maximumCount` events within any `window`.
    public struct RateLimit: Sendable, Hashable {
        /// Events allowed within `window`.
        public var maximumCount: Int
        /// The sliding window.
        public var window: Duration
        /// At most `maximumCount` events in any `window`.
        public init(maximumCount: Int, window: Duration) {
            self.maximumCount = maximumCount
            self.window = window
        }
    }

    // MARK: swift-nio-http2's limits (passed through)

    /// Inbound RST_STREAM frames (Rapid Reset, CVE-2023-44487): `rapid_reset`.
    /// swift-nio-http2 default: 200 per 30 s.
    public var resetFrameRateLimit: RateLimit
    /// Stream errors the peer causes, e.g. making us reset its streams (MadeYouReset): `rapid_reset`.
    /// swift-nio-http2 default: 200 per 30 s.
    public var streamErrorRateLimit: RateLimit
    /// Stream errors over the connection's life ("glitches"): `rapid_reset`. Default 200.
    public var maximumConnectionGlitches: Int
    /// Inbound PING, SETTINGS, PRIORITY, ALTSVC and ORIGIN frames, together:
    /// `ping_flood` / `settings_flood` / `priority_flood` by whichever the peer sent most.
    /// swift-nio-http2 default: 200 per 30 s.
    public var controlFrameRateLimit: RateLimit
    /// Outbound control frames (PING and SETTINGS acks) queued because the peer does not read:
    /// `ping_flood` / `settings_flood`. Default 10,000.
    public var maximumBufferedControlFrames: Int
    /// CONTINUATION frames in one header block (CVE-2024-27316): `continuation_flood`. Default 5.
    public var maximumSequentialContinuationFrames: Int
    /// DATA frames in a row with no payload and no END_STREAM: `empty_frames`. Default 1.
    public var maximumSequentialEmptyDataFrames: Int
    /// Recently reset streams remembered, so late frames on them are ignored, not errors. Default 32.
    public var maximumRecentlyResetStreams: Int

    // MARK: GoAwayKit's limits

    /// WINDOW_UPDATE frames allowed over a connection's life are
    /// `windowUpdateAllowance + 2 × streams opened + windowUpdatesPerDataFrame × DATA frames sent`
    /// (DATA frames estimated as writes + bytes / 16 KiB, which over-estimates: lenient). An honest
    /// peer sends at most one per stream and one for the connection per DATA frame it reads.
    /// More is `window_update_abuse` (ENHANCE_YOUR_CALM). `nil` disables. Default 100 (the
    /// formula follows Envoy's `max_inbound_window_update_frames_per_data_frame_sent`).
    public var windowUpdateAllowance: Int?
    /// See `windowUpdateAllowance`. Default 10.
    public var windowUpdatesPerDataFrame: Int
    /// The preface must arrive, and a frame or header block once begun must be completed, within
    /// this (slowloris). Else `header_timeout` (ENHANCE_YOUR_CALM). `nil` disables. Default 10 s.
    public var headerTimeout: Duration?
    /// A response that waits on the peer (flow-control window or socket) and makes no progress
    /// for this long (detected between 1× and 2× of it) ends the connection: `send_timeout`
    /// (NO_ERROR). `nil` disables. Default 30 s.
    public var sendStallTimeout: Duration?
    /// Open connections allowed. A new one over the limit drains the oldest idle connection
    /// (GOAWAY NO_ERROR `max_connections`); with none idle, the new one is refused (GOAWAY
    /// ENHANCE_YOUR_CALM `max_connections`, last-stream-id 0). `nil` disables. Default 10,000.
    public var maxConnections: Int?

    /// Every parameter defaults to the value its property documents.
    public init(
        resetFrameRateLimit: RateLimit = .init(maximumCount: 200, window: .seconds(30)),
        streamErrorRateLimit: RateLimit = .init(maximumCount: 200, window: .seconds(30)),
        maximumConnectionGlitches: Int = 200,
        controlFrameRateLimit: RateLimit = .init(maximumCount: 200, window: .seconds(30)),
        maximumBufferedControlFrames: Int = 10_000,
        maximumSequentialContinuationFrames: Int = 5,
        maximumSequentialEmptyDataFrames: Int = 1,
        maximumRecentlyResetStreams: Int = 32,
        windowUpdateAllowance: Int? = 100,
        windowUpdatesPerDataFrame: Int = 10,
        headerTimeout: Duration? = .seconds(10),
        sendStallTimeout: Duration? = .seconds(30),
        maxConnections: Int? = 10_000
    ) {
        self.resetFrameRateLimit = resetFrameRateLimit
        self.streamErrorRateLimit = streamErrorRateLimit
        self.maximumConnectionGlitches = maximumConnectionGlitches
        self.controlFrameRateLimit = controlFrameRateLimit
        self.maximumBufferedControlFrames = maximumBufferedControlFrames
        self.maximumSequentialContinuationFrames = maximumSequentialContinuationFrames
        self.maximumSequentialEmptyDataFrames = maximumSequentialEmptyDataFrames
        self.maximumRecentlyResetStreams = maximumRecentlyResetStreams
        self.windowUpdateAllowance = windowUpdateAllowance
        self.windowUpdatesPerDataFrame = windowUpdatesPerDataFrame
        self.headerTimeout = headerTimeout
        self.sendStallTimeout = sendStallTimeout
        self.maxConnections = maxConnections
    }

    /// Every documented default (docs/protections.md).
    public static var defaults: ServerProtectionPolicy { ServerProtectionPolicy() }

    /// Why each value is invalid, by field name; empty when all are fine.
    public var problems: [String] {
        var out: [String] = []
        for (name, limit) in [("resetFrameRateLimit", resetFrameRateLimit), ("streamErrorRateLimit", streamErrorRateLimit), ("controlFrameRateLimit", controlFrameRateLimit)] {
            if limit.maximumCount < 1 { out.append("\(name).maximumCount must be at least 1") }
            if limit.window <= .zero { out.append("\(name).window must be positive") }
        }
        for (name, value) in [
            ("maximumConnectionGlitches", maximumConnectionGlitches), ("maximumBufferedControlFrames", maximumBufferedControlFrames),
            ("maximumSequentialContinuationFrames", maximumSequentialContinuationFrames),
            ("maximumSequentialEmptyDataFrames", maximumSequentialEmptyDataFrames),
            ("maximumRecentlyResetStreams", maximumRecentlyResetStreams), ("windowUpdatesPerDataFrame", windowUpdatesPerDataFrame),
        ] where value < 0 {
            out.append("\(name) must not be negative")
        }
        if let n = windowUpdateAllowance, n < 0 { out.append("windowUpdateAllowance must not be negative") }
        if let n = maxConnections, n < 1 { out.append("maxConnections must be at least 1") }
        for (name, d) in [("headerTimeout", headerTimeout), ("sendStallTimeout", sendStallTimeout)] {
            if let d, d <= .zero { out.append("\(name) must be positive") }
        }
        return out
    }
}
