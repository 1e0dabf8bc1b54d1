/// The vocabulary of `ClientConnectionStateMachine`: its configuration, phases, streams, PINGs and
/// the state behind them.
extension ClientConnectionStateMachine {
    /// The connection's limits and timers (from `HTTP2ClientConfiguration`).
    public struct Configuration: Hashable, Sendable {
        /// Our SETTINGS_INITIAL_WINDOW_SIZE and the connection window (clamped to 1...2^31-1).
        public var receiveWindow: Int
        /// The server's ack of our SETTINGS is due within this (RFC 9113 §6.5.3), else GOAWAY(SETTINGS_TIMEOUT).
        public var settingsAckTimeout: Duration
        /// The server's first SETTINGS is due within this of `activated` (the TCP connection up),
        /// else the connect failed: `connectTimedOut` (the client's `connectTimeout`). `nil`: no limit.
        public var settingsTimeout: Duration?
        /// PING after this much silence, streams or not. `nil`: none.
        public var keepaliveInterval: Duration?
        /// PING after this much silence while streams are open (dead-peer health check). `nil`: off.
        public var readIdleTimeout: Duration?
        /// No ack within this time of its PING: the connection is dead.
        public var pingTimeout: Duration
        /// A stream waiting this long for its next frame is reset (CANCEL) and fails. `nil`: off.
        public var responseIdleTimeout: Duration?
        /// A response body over this many bytes is reset (CANCEL) and fails `responseTooLarge`. `nil`: no limit.
        public var maxResponseBodySize: Int?
        /// The body reader reports what it took at least every this many bytes (a quarter of the
        /// window: one event-loop hop per 256 KiB, not per frame). A stream whose reader holds no
        /// more than that is waiting on the server, which has a quarter of the window or more.
        public var readerReportSize: Int { max(1, receiveWindow / 4) }

        /// Every parameter defaults to the value its property documents.
        public init(
            receiveWindow: Int = 1 << 20, settingsAckTimeout: Duration = .seconds(10), settingsTimeout: Duration? = nil, keepaliveInterval: Duration? = nil,
            readIdleTimeout: Duration? = .seconds(30), pingTimeout: Duration = .seconds(20),
            responseIdleTimeout: Duration? = nil, maxResponseBodySize: Int? = nil
        ) {
            self.receiveWindow = min(max(receiveWindow, 1), InboundWindow.maximum)
            self.settingsAckTimeout = settingsAckTimeout
            self.settingsTimeout = settingsTimeout
            self.keepaliveInterval = keepaliveInterval
            self.readIdleTimeout = readIdleTimeout
            self.pingTimeout = pingTimeout
            self.responseIdleTimeout = responseIdleTimeout
            self.maxResponseBodySize = maxResponseBodySize
        }
    }

    /// Where the connection is: before the socket, until the server's SETTINGS, open, closing, closed.
    public enum Phase: Hashable, Sendable { case idle, connecting, ready, closing, closed }

    struct Stream: Hashable, Sendable {
        var responded = false
        var received = 0
        var window: InboundWindow
        /// When the server last made progress for it (head, DATA) or the reader consumed.
        var lastProgress: Instant
        /// Our send window as the peer's WINDOW_UPDATEs and SETTINGS make it (§6.9.1).
        var sendWindow: Int
    }

    struct Ping: Hashable, Sendable {
        var payload: UInt64
        var sentAt: Instant
    }

    /// What every state but idle and closed holds.
    struct Live: Hashable, Sendable {
        /// The payload of a machine that is not live (idle, closed).
        static let none = Live(connectionWindow: InboundWindow(target: InboundWindow.protocolDefault), lastRead: .zero, streamsOpenSince: .zero)

        /// Open streams: a short array scan, not a hashed lookup (`StreamTable`).
        var streams = StreamTable<StreamID, Stream>()
        var connectionWindow: InboundWindow
        var nextStreamID: Int32 = 1
        var maxConcurrentStreams: Int?
        /// The peer's SETTINGS_INITIAL_WINDOW_SIZE: new streams' send window.
        var peerInitialWindow = InboundWindow.protocolDefault
        var settingsAckDeadline: Instant?
        /// The server's first SETTINGS is due by then (`settingsTimeout`).
        var settingsDeadline: Instant?
        var lastRead: Instant
        /// Silence counts from the later of the last frame and the moment streams became open.
        var streamsOpenSince: Instant
        var ping: Ping?
        var pingsSent: UInt64 = 0
        var nextSweep: Instant?
        /// We close the channel (failure or our GOAWAY): no timers any more.
        var closeInitiated = false
    }

    /// Where the connection is; `connecting`, `ready` and `closing` are live (`body` holds their
    /// payload). The payload is a stored property beside the case, not the case's associated
    /// value: an enum payload is copied out and back on every change (~40 copies of `Live` a
    /// request under callgrind), a stored property is changed in place.
    enum State: Hashable, Sendable {
        case idle
        case connecting
        case ready
        case closing
        case closed

        var isLive: Bool {
            switch self {
            case .connecting, .ready, .closing: true
            case .idle, .closed: false
            }
        }
    }
}
