import GoAwayCore
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// An HTTP/2 server whose connections end without costing a request.
///
/// Every connection ends by a drain (see `ServerConnectionStateMachine`): two-phase — GOAWAY(2^31-1),
/// then two round trips later (at least 50 ms, at most `pingAckTimeout`) GOAWAY with the real
/// last-stream-id, then a bounded grace, then close — for max age (±10% jitter), idle timeout and
/// SIGTERM; for max requests, answers first — one GOAWAY once the streams it covers are answered —
/// to Python `h2` clients, two-phase to the others (`DrainStyle.byPeer`).
///
/// ```swift
/// let server = HTTP2Server(configuration: .init(port: 8080)) { request, body, context in
///     ServerResponse(status: .ok, text: "hello\n")
/// }
/// try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
///
/// As a swift-service-lifecycle `Service`, graceful shutdown stops accepting and drains every
/// connection; `run()` returns when all are closed (each drain is bounded by
/// `pingAckTimeout + drainGrace`).
public final class HTTP2Server: Service, Sendable {
    /// Answers one request. Runs as a task per request; a handler that does not suspend runs
    /// inline on the connection's event loop.
    public typealias Handler = @Sendable (HTTPRequest, RequestBody, RequestContext) async throws -> ServerResponse

    /// Turns a handler's error into the response sent in its place (`Configuration.errorResponse`).
    public typealias ErrorResponse = @Sendable (any Error, HTTPRequest, RequestContext) -> ServerResponse

    /// 413 Content Too Large for `RequestBodyTooLarge`, an empty 500 for anything else.
    public static let defaultErrorResponse: ErrorResponse = { error, _, _ in
        if let tooLarge = error as? RequestBodyTooLarge {
            return ServerResponse(status: .contentTooLarge, text: "\(tooLarge.description)\n")
        }
        return ServerResponse(HTTPResponse(status: .internalServerError))
    }

    /// The configuration the server was made with.
    public let configuration: Configuration
    private let runtime: ServerRuntime
    private let group: any EventLoopGroup
    private let bound: EventLoopPromise<SocketAddress>
    /// `bound` completed (listening, or failed): it is completed exactly once.
    private let boundSettled = NIOLockedValueBox(false)
    private let started = NIOLockedValueBox(false)

    /// A server answering every request with `handler`; nothing happens until `run()`.
    /// Connections run on `eventLoopGroup` (default: the process-wide singleton).
    public init(
        configuration: Configuration = .defaults,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        handler: @escaping Handler
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.runtime = ServerRuntime(configuration: configuration, handler: handler)
        self.bound = eventLoopGroup.any().makePromise(of: SocketAddress.self)
    }

    /// Lifecycle events; one consumer. Finishes when `run()` returns.
    public var events: AsyncStream<ServerEvent> { runtime.events }

    /// Counts so far (also after `run()` returned).
    public var statistics: ServerStatistics { runtime.statistics }

    /// The bound address, once listening (useful with port 0). Throws if binding failed.
    public var listeningAddress: SocketAddress {
        get async throws { try await bound.futureResult.get() }
    }

    /// The bound port, once listening.
    public var port: Int {
        get async throws { try await listeningAddress.port ?? configuration.port }
    }

    /// Binds, serves until graceful shutdown (or cancellation), then drains and returns.
    public func run() async throws {
        let alreadyStarted = started.withLockedValue { s -> Bool in
            defer { s = true }
            return s
        }
        if alreadyStarted { throw HTTP2ServerError(.alreadyRunning, "HTTP2Server.run() called twice") }

        let listener: any Channel
        do {
            try configuration.validate()
            let sslContext = try configuration.tls?.makeContext()
            listener = try await bind(sslContext: sslContext)
        } catch {
            settleBound { $0.fail(error) }
            runtime.finishEvents()
            throw error
        }
        let address = listener.localAddress
        settleBound { promise in
            if let address { promise.succeed(address) } else { promise.fail(HTTP2ServerError(.bindFailed, "the listener has no local address")) }
        }
        runtime.emit(.listening(host: configuration.host, port: address?.port ?? configuration.port))
        configuration.logger.debug("listening", metadata: ["goaway.address": "\(address.map { "\($0)" } ?? "?")"])

        let runtime = self.runtime
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await listener.closeFuture.get()
            } onGracefulShutdown: {
                runtime.beginShutdown()
                listener.close(promise: nil)
            }
            // The listener is closed: by graceful shutdown (connections are draining) or otherwise.
            runtime.beginShutdown()
            await runtime.waitForAllConnectionsClosed()
        } onCancel: {
            listener.close(promise: nil)
            runtime.closeAll()
        }
        configuration.logger.debug("stopped")
        runtime.emit(.stopped)
        runtime.finishEvents()
    }

    /// Completes `bound` unless it already is.
    private func settleBound(_ complete: (EventLoopPromise<SocketAddress>) -> Void) {
        let first = boundSettled.withLockedValue { settled -> Bool in
            defer { settled = true }
            return !settled
        }
        if first { complete(bound) }
    }

    /// The server stops without having listened: whoever awaits `listeningAddress` hears it.
    private func failBoundIfNeverListened() {
        settleBound { $0.fail(HTTP2ServerError(.stoppedBeforeListening, "the server stopped before it listened")) }
    }

    deinit { failBoundIfNeverListened() }

    /// Starts a graceful shutdown without a `ServiceGroup` (tests, embedding). Before `run()` has
    /// listened, `listeningAddress` fails (`.stoppedBeforeListening`).
    public func shutdownGracefully() {
        if !started.withLockedValue({ $0 }) { failBoundIfNeverListened() }
        runtime.beginShutdown()
        listenerCloser.withLockedValue { $0?() }
    }

    /// Stops like a crash: closes the listener and every connection at once, without GOAWAY.
    /// Clients see their connections reset with streams in flight. For drills and tests
    /// (`goaway drill`'s hard kill); `run()` returns once the connections are closed.
    public func terminateAbruptly() {
        if !started.withLockedValue({ $0 }) { failBoundIfNeverListened() }
        runtime.abortAll()
        listenerCloser.withLockedValue { $0?() }
    }

    private let listenerCloser = NIOLockedValueBox<(@Sendable () -> Void)?>(nil)

    private func bind(sslContext: NIOSSLContext?) async throws -> any Channel {
        let runtime = self.runtime
        let configuration = self.configuration
        let settings = Self.settings(for: configuration)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // Each connection keeps its last read buffer for the next read: start it at 512 bytes
            // (NIO's default is 2048), which holds a request burst's HEADERS; busy connections
            // still grow it (to 64 KiB) as their reads fill it. 1.5 KiB less per idle connection.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configureConnection(channel: channel, runtime: runtime, settings: settings, sslContext: sslContext)
                }
            }
        do {
            let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
            listenerCloser.withLockedValue { $0 = { channel.close(promise: nil) } }
            return channel
        } catch {
            throw HTTP2ServerError(.bindFailed, "cannot listen on \(configuration.host):\(configuration.port): \(Self.describe(error))")
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let io = error as? IOError {
            switch io.errnoCode {
            case EADDRINUSE: return "address already in use"
            case EACCES: return "permission denied"
            case EADDRNOTAVAIL: return "address not available"
            default: return "\(io)"
            }
        }
        return "\(error)"
    }

    static func settings(for configuration: Configuration) -> HTTP2Settings {
        [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: configuration.maxConcurrentStreams),
            HTTP2Setting(parameter: .initialWindowSize, value: configuration.initialWindowSize),
            HTTP2Setting(parameter: .maxFrameSize, value: configuration.maxFrameSize),
            HTTP2Setting(parameter: .maxHeaderListSize, value: configuration.maxHeaderListSize),
            HTTP2Setting(parameter: .enablePush, value: 0),
        ]
    }

    /// Installs one connection's handlers, exactly as the listener does, on any channel (an
    /// `EmbeddedChannel` in the fuzz target). h2c only; no listener, no events consumer.
    @_spi(Testing) public static func installConnectionPipeline(on channel: any Channel, configuration: Configuration, handler: @escaping Handler) throws {
        let runtime = ServerRuntime(configuration: configuration, handler: handler)
        try configureConnection(channel: channel, runtime: runtime, settings: settings(for: configuration), sslContext: nil)
    }

    /// The pipeline of one connection: [TLS] → RawGoAwayWriter → InboundFrameScanner →
    /// NIOHTTP2Handler → ServerConnectionHandler.
    @discardableResult
    static func configureConnection(channel: any Channel, runtime: ServerRuntime, settings: HTTP2Settings, sslContext: NIOSSLContext?) throws -> ServerConnectionHandler {
        let sync = channel.pipeline.syncOperations
        if let sslContext {
            try sync.addHandler(NIOSSLServerHandler(context: sslContext))
        }
        let (connection, stream) = nioConfiguration(settings: settings, protection: runtime.configuration.protection)
        let goAwayWriter = RawGoAwayWriter()
        let id = runtime.nextConnectionID()
        if let frameTrace = runtime.configuration.frameTrace {
            // Below the raw GOAWAY writer, so the trace shows both GOAWAYs of a drain.
            try sync.addHandler(FrameTraceHandler(connection: id, trace: frameTrace, role: .server))
        }
        let frameScanner = InboundFrameScanner()
        try sync.addHandler(goAwayWriter)
        try sync.addHandler(frameScanner)
        try sync.addHandler(NIOHTTP2Handler(mode: .server, frameDelegate: goAwayWriter, connectionConfiguration: connection, streamConfiguration: stream))
        let handler = ServerConnectionHandler(runtime: runtime, connectionID: id, now: channel.eventLoop.now, goAwayWriter: goAwayWriter, frameScanner: frameScanner)
        let admission = runtime.register(
            id: id,
            channel: channel,
            handler: NIOLoopBound(handler, eventLoop: channel.eventLoop),
            activity: handler.activity,
            remote: channel.remoteAddress.map { "\($0)" } ?? "?"
        )
        // Backstop: a child channel that closes before it ever becomes active gets no channelInactive,
        // so the handler never reports it closed and a shutdown would wait for it forever. Its
        // closeFuture always completes; a connection the handler already reported is ignored.
        let loopBound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        channel.closeFuture.whenComplete { _ in loopBound.value.finishConnection() }
        // Before the handler is added, so it refuses as soon as it starts (after the server preface).
        if admission == .refused { handler.refuseOnStart = true }
        try sync.addHandler(handler)
        switch admission {
        case .shuttingDown:
            // Raced with shutdown: drain this one too.
            handler.shutdown(reason: .shutdown)
        case .aborted:
            channel.close(promise: nil)
        case .accepted, .refused:
            break
        }
        return handler
    }

    /// swift-nio-http2's share of the protections: its limits, set from our policy.
    static func nioConfiguration(settings: HTTP2Settings, protection p: ServerProtectionPolicy) -> (NIOHTTP2Handler.ConnectionConfiguration, NIOHTTP2Handler.StreamConfiguration) {
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = settings
        // Request headers are checked once, by us (`RequestHeaders`); responses are built valid.
        connection.headerBlockValidation = .disabled
        connection.maximumSequentialEmptyDataFrames = p.maximumSequentialEmptyDataFrames
        connection.maximumBufferedControlFrames = p.maximumBufferedControlFrames
        connection.maximumSequentialContinuationFrames = p.maximumSequentialContinuationFrames
        connection.maximumRecentlyResetStreams = p.maximumRecentlyResetStreams
        connection.maximumConnectionGlitches = p.maximumConnectionGlitches
        connection.controlFrameRateLimit.maximumCount = p.controlFrameRateLimit.maximumCount
        connection.controlFrameRateLimit.windowLength = .nanoseconds(p.controlFrameRateLimit.window.nanosecondsClamped)
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.streamResetFrameRateLimit.maximumCount = p.resetFrameRateLimit.maximumCount
        stream.streamResetFrameRateLimit.windowLength = .nanoseconds(p.resetFrameRateLimit.window.nanosecondsClamped)
        // Stream errors are counted by us (`AbuseDetector.streamError`): ours (malformed header
        // blocks) and every one swift-nio-http2 reports through errorCaught, against
        // `p.streamErrorRateLimit`. Its own counter is left one that cannot trip (more than 2
        // within 0 ns), because it preallocates `maximumCount` timestamps per connection (1.6 KB
        // at 200; ours allocates only when errors happen).
        stream.streamErrorRateLimit.maximumCount = 2
        stream.streamErrorRateLimit.windowLength = .nanoseconds(0)
        return (connection, stream)
    }
}
