import GoAwayCore
import NIOSSL

/// How `HTTP2Client` connects, pools and re-sends. Every value has a documented default.
public struct HTTP2ClientConfiguration: Sendable, Hashable {
    /// Pool sizing, re-send budget (`retry`), back-off and keepalive (see `PoolConfiguration`).
    public var pool: PoolConfiguration
    /// Bounds the TCP connect, then (from the TCP connection up) TLS and the server's first
    /// SETTINGS: each within this. Default 10 s.
    public var connectTimeout: Duration
    /// Whole request, re-sends included, until the response head. Default 60 s, so a server that
    /// never answers cannot hold a caller forever; `nil`: none.
    public var requestTimeout: Duration?
    /// After the response head, the longest wait for the next piece of the body; then the stream is
    /// reset and the body fails with `requestTimeout`. Ours. `nil`: none (default), because a
    /// streaming response may idle legitimately; `goaway load` and `goaway get` set it to their
    /// timeout, so with `requestTimeout` every wait of a request has a deadline.
    public var responseIdleTimeout: Duration?
    /// Bodies of one-shot streams are kept up to this many bytes so they can be re-sent. Default 1 MiB.
    public var maxReplayBufferSize: Int
    /// Time for the server to ack a PING (keepalive or health check), measured from that PING;
    /// only the ack with its payload counts. No ack: the connection is dead and closes; requests
    /// never sent move to another connection, idempotent ones are re-sent once, the others fail
    /// `possiblyProcessed`. Default 20 s (grpc keepalive timeout; Go's `PingTimeout` is 15 s).
    public var keepaliveTimeout: Duration
    /// Dead-peer health check: a connection with open streams that has received no frame for this
    /// long gets a PING (then `keepaliveTimeout` applies). On by default, 30 s: Go's
    /// `ReadIdleTimeout` is off by default and commonly set to 15–30 s; grpc's keepalive time may not
    /// go below 10 s (gRFC A8). A PING while streams wait does not count against grpc servers'
    /// ping policy. `nil`: off. `pool.keepaliveInterval` pings idle connections too.
    public var readIdleTimeout: Duration?
    /// Trust roots, client certificate, verification (`https` endpoints only).
    public var tls: TLS
    /// GOAWAY debug data is redacted in logs and events unless this is true. Default false.
    public var revealDebugData: Bool
    /// Our SETTINGS_INITIAL_WINDOW_SIZE and connection window target. Default 1 MiB. A stream's
    /// window goes back as the caller reads its body, so this bounds what one unread response
    /// buffers (at most streams × window per connection).
    public var receiveWindow: Int
    /// Every frame of every connection, both ways, with wire length and flags (`FrameTrace`).
    /// Default `nil`: no tracing.
    public var frameTrace: FrameTrace?
    /// Time for the server to acknowledge our SETTINGS (RFC 9113 §6.5.3); then the connection ends
    /// with GOAWAY(SETTINGS_TIMEOUT). Ours (swift-nio-http2 has no such timer). Default 10 s.
    public var settingsAckTimeout: Duration
    /// Our SETTINGS_MAX_HEADER_LIST_SIZE: a response header block larger than this is a connection
    /// error. Enforced by swift-nio-http2 (its frame decoder, also across CONTINUATION frames, of
    /// which it allows 5 in a row). Default 64 KiB.
    public var maxResponseHeaderListSize: Int
    /// A response body longer than this fails with `responseTooLarge` (its stream is reset with
    /// CANCEL, the connection stays). Ours. Default `nil`: no limit (bodies stream; `collect(upTo:)`
    /// has its own).
    public var maxResponseBodySize: Int?

    /// TLS for `https` endpoints: ALPN h2, TLS 1.2 or later.
    public struct TLS: Sendable, Hashable {
        /// PEM files with extra trust roots (in addition to the system's when `useSystemRoots`).
        public var trustRootFiles: [String]
        /// Trust the system's roots too. Default true.
        public var useSystemRoots: Bool
        /// Skip certificate verification. For tests only.
        public var insecure: Bool
        /// Extra trust roots as values, used like `trustRootFiles` (see HTTP2ClientConfiguration+TLS.swift).
        public var trustRoots: [NIOSSLCertificate] = []
        /// Client certificate chain (leaf first) for mutual TLS; empty sends none. Needs `privateKey`.
        public var certificateChain: [NIOSSLCertificate] = []
        /// The private key of `certificateChain`'s leaf, for mutual TLS.
        public var privateKey: NIOSSLPrivateKey? = nil
        /// A whole `TLSConfiguration` that replaces every field above (see `tlsConfiguration`).
        var override: TLSConfigurationBox? = nil
        /// Trust roots from files, with or without the system's; `insecure` skips verification.
        public init(trustRootFiles: [String] = [], useSystemRoots: Bool = true, insecure: Bool = false) {
            self.trustRootFiles = trustRootFiles
            self.useSystemRoots = useSystemRoots
            self.insecure = insecure
        }
        /// System roots, verification on.
        public static var defaults: TLS { TLS() }
    }

    /// Every parameter defaults to the value its property documents.
    public init(
        pool: PoolConfiguration = .defaults,
        connectTimeout: Duration = .seconds(10),
        requestTimeout: Duration? = .seconds(60),
        maxReplayBufferSize: Int = 1 << 20,
        keepaliveTimeout: Duration = .seconds(20),
        tls: TLS = .defaults,
        revealDebugData: Bool = false,
        receiveWindow: Int = 1 << 20,
        frameTrace: FrameTrace? = nil,
        settingsAckTimeout: Duration = .seconds(10),
        maxResponseHeaderListSize: Int = 1 << 16,
        maxResponseBodySize: Int? = nil,
        responseIdleTimeout: Duration? = nil,
        readIdleTimeout: Duration? = .seconds(30)
    ) {
        self.pool = pool
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.maxReplayBufferSize = maxReplayBufferSize
        self.keepaliveTimeout = keepaliveTimeout
        self.tls = tls
        self.revealDebugData = revealDebugData
        self.receiveWindow = receiveWindow
        self.frameTrace = frameTrace
        self.settingsAckTimeout = settingsAckTimeout
        self.maxResponseHeaderListSize = maxResponseHeaderListSize
        self.maxResponseBodySize = maxResponseBodySize
        self.responseIdleTimeout = responseIdleTimeout
        self.readIdleTimeout = readIdleTimeout
    }

    /// Every default, as documented on each property.
    public static var defaults: HTTP2ClientConfiguration { HTTP2ClientConfiguration() }
}

/// What the client did, for dashboards and tests (`HTTP2Client.events`).
public enum HTTP2ClientEvent: Sendable, Hashable {
    /// A connection reached HTTP/2 (the server's SETTINGS arrived).
    case connectionOpened(connection: Int, endpoint: String)
    /// A connection attempt failed; `error` names the cause.
    case connectFailed(connection: Int, endpoint: String, error: String)
    /// `debugData` is redacted unless `revealDebugData` is set.
    case goAwayReceived(connection: Int, code: HTTP2ErrorCode, lastStreamID: Int32, debugData: String)
    /// A connection takes no new streams; its open ones finish (after a GOAWAY, max age, shutdown).
    case draining(connection: Int)
    /// A request was sent again, on another stream or connection.
    case requestResent(reason: ResendReason)
    /// A connection closed.
    case connectionClosed(connection: Int)
    /// The pool's idle keepalive interval doubled: a GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") answered
    /// our PINGs (grpc's rule, gRFC A8).
    case keepaliveIntervalChanged(Duration)
}
