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
    public struct Request: Hashable, Sendable {
        public var streamID: StreamID
        public var sentAt: Instant
        public var endedAt: Instant?
        public var status: Int?
        public var reset: HTTP2ErrorCode?
        public init(streamID: StreamID, sentAt: Instant) {
            self.streamID = streamID
            self.sentAt = sentAt
        }
    }

    public struct GoAway: Hashable, Sendable {
        public var at: Instant
        public var lastStreamID: StreamID
        public var code: HTTP2ErrorCode
        public var debugData: GoAwayDebugData
        public init(at: Instant, lastStreamID: StreamID, code: HTTP2ErrorCode, debugData: GoAwayDebugData) {
            self.at = at
            self.lastStreamID = lastStreamID
            self.code = code
            self.debugData = debugData
        }
    }

    public var phase: ProbePhase
    public var startedAt: Instant
    public var connectedAt: Instant?
    public var connectError: String?
    public var requests: [Request] = []
    public var goAways: [GoAway] = []
    /// PINGs the server sent (not acks).
    public var serverPings: [Instant] = []
    public var pingsSent: [Instant] = []
    public var closedAt: Instant?
    /// When the phase gave up waiting (its deadline passed without GOAWAY).
    public var gaveUpAt: Instant?

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
