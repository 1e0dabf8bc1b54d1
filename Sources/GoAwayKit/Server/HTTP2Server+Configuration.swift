import GoAwayCore
import Logging
import CoreMetrics
import NIOCore
import NIOSSL

extension HTTP2Server {
    /// Everything a server needs to know. Every field has a documented default; `init` keeps every
    /// value it is given (a test checks each survives).
    public struct Configuration: Sendable {
        /// Address to bind. Default `127.0.0.1`.
        public var host: String
        /// Port to bind; 0 picks a free one (see `HTTP2Server.listeningAddress`). Default 0.
        public var port: Int
        /// TLS (ALPN `h2`); `nil` serves h2c with prior knowledge. Default `nil`.
        public var tls: TLS?
        /// SETTINGS_MAX_CONCURRENT_STREAMS: streams above it are refused with REFUSED_STREAM.
        /// Default 100 (RFC 9113 §6.5.2 recommends at least 100).
        public var maxConcurrentStreams: Int
        /// SETTINGS_INITIAL_WINDOW_SIZE for request bodies, and the connection window. Default 1 MiB.
        public var initialWindowSize: Int
        /// SETTINGS_MAX_FRAME_SIZE. Default 16384 (the protocol minimum).
        public var maxFrameSize: Int
        /// SETTINGS_MAX_HEADER_LIST_SIZE. Default 16 KiB.
        public var maxHeaderListSize: Int
        /// When and how connections end: idle timeout, max age and its grace, max requests,
        /// ping-ack timeout, drain grace, keepalive. See `ServerConnectionPolicy` for defaults.
        public var connection: ServerConnectionPolicy
        /// Limits against hostile or broken peers (rapid reset, floods, slowloris, stalls, too many
        /// connections), on by default. See `ServerProtectionPolicy` and docs/protections.md.
        public var protection: ServerProtectionPolicy
        /// Lifecycle logging at `.debug`; no-op by default.
        public var logger: Logger
        /// Show GOAWAY debug data verbatim in events and logs. Default `false` (redacted).
        public var showDebugData: Bool
        /// TCP listen backlog: connections the kernel holds completed for `accept`. Default 4096
        /// (Linux caps it at `net.core.somaxconn`, 4096 by default). A burst of connects larger than
        /// the backlog is not refused: the kernel drops the overflow's handshakes and the clients
        /// retry after 1 s, 3 s, 7 s... — 4,000 clients connecting at once against a backlog of 256
        /// waited up to 19 s to connect (`scripts/bench-server` `CURVE=1`).
        public var backlog: Int32
        /// Where counters go; `nil` (default) uses the process-wide `MetricsSystem.factory`.
        public var metricsFactory: (any MetricsFactory)?
        /// Every frame of every connection, both ways (`FrameTrace`). Default `nil`: no tracing.
        public var frameTrace: FrameTrace?
        /// The response for a handler that threw before its response head went out (after it, the
        /// stream is reset with INTERNAL_ERROR). The error is logged at `.error` first, with the
        /// stream id and path. Default `HTTP2Server.defaultErrorResponse`: 413 for
        /// `RequestBodyTooLarge` (from `RequestBody.collect(upTo:)`), else an empty 500.
        public var errorResponse: HTTP2Server.ErrorResponse = HTTP2Server.defaultErrorResponse

        /// Every parameter defaults to the value its property documents.
        public init(
            host: String = "127.0.0.1",
            port: Int = 0,
            tls: TLS? = nil,
            maxConcurrentStreams: Int = 100,
            initialWindowSize: Int = 1 << 20,
            maxFrameSize: Int = 16384,
            maxHeaderListSize: Int = 16384,
            connection: ServerConnectionPolicy = .defaults,
            protection: ServerProtectionPolicy = .defaults,
            logger: Logger = Logger(label: "goaway.server", factory: { _ in SwiftLogNoOpLogHandler() }),
            showDebugData: Bool = false,
            backlog: Int32 = 4096,
            metricsFactory: (any MetricsFactory)? = nil,
            frameTrace: FrameTrace? = nil
        ) {
            self.host = host
            self.port = port
            self.tls = tls
            self.maxConcurrentStreams = maxConcurrentStreams
            self.initialWindowSize = initialWindowSize
            self.maxFrameSize = maxFrameSize
            self.maxHeaderListSize = maxHeaderListSize
            self.connection = connection
            self.protection = protection
            self.logger = logger
            self.showDebugData = showDebugData
            self.backlog = backlog
            self.metricsFactory = metricsFactory
            self.frameTrace = frameTrace
        }

        /// 127.0.0.1, an ephemeral port, h2c, every documented default.
        public static var defaults: Configuration { Configuration() }

        /// Checks the values before anything binds: a bad limit is a clear error, not a runtime surprise.
        public func validate() throws(HTTP2ServerError) {
            func bad(_ why: String) -> HTTP2ServerError { HTTP2ServerError(.invalidConfiguration, why) }
            guard (0...65535).contains(port) else { throw bad("port \(port) is outside 0...65535") }
            guard maxConcurrentStreams >= 1 else { throw bad("maxConcurrentStreams must be at least 1") }
            guard (65535...Int(Int32.max)).contains(initialWindowSize) else {
                throw bad("initialWindowSize must be 65535...2147483647")
            }
            guard (16384...16_777_215).contains(maxFrameSize) else { throw bad("maxFrameSize must be 16384...16777215") }
            guard maxHeaderListSize >= 1024 else { throw bad("maxHeaderListSize must be at least 1024") }
            if let n = connection.maxRequestsPerConnection, n < 1 { throw bad("maxRequestsPerConnection must be at least 1") }
            for (name, d) in [("idleTimeout", connection.idleTimeout), ("maxAge", connection.maxAge), ("keepaliveInterval", connection.keepaliveInterval)] {
                if let d, d <= .zero { throw bad("\(name) must be positive") }
            }
            for (name, d) in [("pingAckTimeout", connection.pingAckTimeout), ("drainGrace", connection.drainGrace), ("maxAgeGrace", connection.maxAgeGrace), ("keepaliveTimeout", connection.keepaliveTimeout)] {
                if d < .zero { throw bad("\(name) must not be negative") }
            }
            if let problem = protection.problems.first { throw bad("protection.\(problem)") }
        }
    }

    /// TLS settings: a PEM certificate chain and private key, as files here or as values (see
    /// HTTP2Server+TLS.swift). ALPN offers `h2` only.
    public struct TLS: Sendable {
        /// PEM file paths; empty for the in-memory forms, which ignore them.
        public var certificateChainPath: String
        /// PEM file path of the leaf certificate's private key.
        public var privateKeyPath: String
        /// The in-memory form (values or a whole `TLSConfiguration`); `nil` for the file form.
        var memory: Memory? = nil
        /// TLS from two PEM files, read when the server starts (a bad file: `invalidCertificate`).
        public init(certificateChainPath: String, privateKeyPath: String) {
            self.certificateChainPath = certificateChainPath
            self.privateKeyPath = privateKeyPath
        }
    }
}

/// Errors from `HTTP2Server` a caller can switch on (`error.code`).
public struct HTTP2ServerError: Error, CustomStringConvertible, Sendable {
    /// What went wrong; compare with the static members (`.bindFailed`…).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String { case invalidConfiguration, invalidCertificate, bindFailed, alreadyRunning, stoppedBeforeListening }
        private let value: Value
        private init(_ value: Value) { self.value = value }
        /// A configuration value is out of range (`validate()` names it).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The certificate chain or private key could not be loaded, or they do not match.
        public static let invalidCertificate = Code(.invalidCertificate)
        /// The address could not be bound (in use, no permission, no such address).
        public static let bindFailed = Code(.bindFailed)
        /// `run()` was called a second time: a server runs once.
        public static let alreadyRunning = Code(.alreadyRunning)
        /// The server was shut down (or released) before it ever listened: `listeningAddress` fails.
        public static let stoppedBeforeListening = Code(.stoppedBeforeListening)
        /// The code's name, e.g. `bindFailed`.
        public var description: String { value.rawValue }
    }

    /// Which error this is: switch on it.
    public var code: Code
    /// One line naming the cause, for people.
    public var message: String
    /// An error with `code` and a one-line `message`.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    /// `message`.
    public var description: String { message }
}
