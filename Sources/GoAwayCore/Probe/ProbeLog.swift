/// The phases of `goaway probe`, in the order they run.
public enum ProbePhase: String, Hashable, Sendable, CaseIterable {
    /// Requests back to back on one connection until GOAWAY: counts requests per connection.
    case requests
    /// One request, then silence until GOAWAY or close: measures the idle timeout.
    case idle
    /// A slow request every interval (below the idle timeout) until GOAWAY: measures max age.
    case age
    /// PINGs every `pingInterval` on an idle connection: does the server enforce a PING policy?
    case pings
}

/// What one probe connection saw, with times on the shell's monotonic clock.
public struct ProbeConnectionLog: Hashable, Sendable {
    /// One request of a probe connection.
    public struct Request: Hashable, Sendable {
        /// Its stream.
        public var streamID: StreamID
        /// When it was sent.
        public var sentAt: Instant
        /// When its response ended (or it was reset).
        public var endedAt: Instant?
        /// The response status.
        public var status: Int?
        /// The reset code, if the stream was reset.
        public var reset: HTTP2ErrorCode?
        /// A request sent now.
        public init(streamID: StreamID, sentAt: Instant) {
            self.streamID = streamID
            self.sentAt = sentAt
        }
    }

    /// A GOAWAY the server sent.
    public struct GoAway: Hashable, Sendable {
        /// When it arrived.
        public var at: Instant
        /// Its last-stream-id.
        public var lastStreamID: StreamID
        /// Its error code.
        public var code: HTTP2ErrorCode
        /// Its debug data.
        public var debugData: GoAwayDebugData
        /// A GOAWAY.
        public init(at: Instant, lastStreamID: StreamID, code: HTTP2ErrorCode, debugData: GoAwayDebugData) {
            self.at = at
            self.lastStreamID = lastStreamID
            self.code = code
            self.debugData = debugData
        }
    }

    /// Which phase this connection ran.
    public var phase: ProbePhase
    /// When the connection attempt started.
    public var startedAt: Instant
    /// When it connected.
    public var connectedAt: Instant?
    /// Why it failed to connect.
    public var connectError: String?
    /// Requests sent, in order.
    public var requests: [Request] = []
    /// GOAWAYs received, in order.
    public var goAways: [GoAway] = []
    /// PINGs the server sent (not acks).
    public var serverPings: [Instant] = []
    /// PINGs we sent.
    public var pingsSent: [Instant] = []
    /// When the connection closed.
    public var closedAt: Instant?
    /// When the phase gave up waiting (its deadline passed without GOAWAY).
    public var gaveUpAt: Instant?

    /// A log for a connection starting now.
    public init(phase: ProbePhase, startedAt: Instant) {
        self.phase = phase
        self.startedAt = startedAt
    }

    /// The last moment this connection had a stream open or a frame of ours in flight.
    public var lastActivity: Instant? {
        ([connectedAt] + requests.map { $0.endedAt ?? $0.sentAt } + pingsSent.map { Optional($0) })
            .compactMap { $0 }.max()
    }

    /// The first GOAWAY, or `nil`.
    public var firstGoAway: GoAway? { goAways.first }
    /// The lowest last-stream-id received (a notice's 2^31-1 is raised by nothing, lowered by the final one).
    public var effectiveLastStreamID: StreamID? { goAways.map(\.lastStreamID).min() }
}
