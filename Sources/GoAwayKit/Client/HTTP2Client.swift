import GoAwayCore
import HTTPTypes
import Logging
import Metrics
import NIOCore
import NIOPosix

/// An HTTP/2 client that does not lose requests to GOAWAY.
///
/// - Pools connections per endpoint (see `ClientPoolStateMachine`: round-robin across endpoints,
///   least-loaded within one), counted against the peer's SETTINGS_MAX_CONCURRENT_STREAMS.
/// - On GOAWAY it stops opening streams on that connection, opens a replacement at once when there
///   is demand, lets streams <= last-id finish, and re-sends the others on another connection —
///   any method, since the server proved it never processed them (RFC 9113 §8.7). REFUSED_STREAM
///   is treated the same way. When a connection breaks with streams <= last-id in flight, idempotent
///   requests are re-sent once; the others fail with `possiblyProcessed`.
/// - Every request ends exactly once: a response, or an `HTTP2ClientError` you can switch on.
///
/// `http://` endpoints speak h2c with prior knowledge, `https://` TLS with ALPN h2.
/// Cancelling the calling task resets only that stream (RST_STREAM CANCEL).
///
/// Call `shutdown()` when done: connections stay open until then.
///
/// ```swift
/// let client = try HTTP2Client(endpoints: ["http://10.0.0.1:8080", "http://10.0.0.2:8080"])
/// let response = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"),
///                                         maxResponseBytes: 1 << 20)
/// await client.shutdown()
/// ```
public final class HTTP2Client: Sendable {
    let runtime: ClientRuntime
    /// The first endpoint's scheme and `:authority`, computed once: `execute` used to derive them
    /// per request (an endpoint copy and a Foundation string search each time, ~2% of a request's
    /// instructions under callgrind).
    private let defaultScheme: String
    private let defaultAuthority: String
    /// Connection lifecycle and re-sends, for dashboards and tests. One consumer.
    public let events: AsyncStream<HTTP2ClientEvent>

    /// - Parameters:
    ///   - endpoints: URLs of one logical service (`http://a:8080`, `https://b`). A host name
    ///     becomes one endpoint per address of its DNS answer, resolved by `resolver` in the
    ///     background (never in `init`) and again whenever a connection of it is replaced after a
    ///     GOAWAY or a failure: new addresses join the pool, gone ones leave it.
    ///   - configuration: timeouts, limits, pool and TLS (`HTTP2ClientConfiguration.defaults`).
    ///   - eventLoopGroup: where connections run (default `MultiThreadedEventLoopGroup.singleton`).
    ///   - logger: lifecycle at `.debug` (default: no-op).
    ///   - resolver: how host names become addresses. Default: `SystemResolver` (getaddrinfo on
    ///     NIO's thread pool).
    ///   - metricsFactory: where the client's swift-metrics counters go (README "Client
    ///     metrics"); `nil`: the global `MetricsSystem.factory`, like `HTTP2Server`.
    /// - Throws: `invalidRequest` for a bad URL (scheme, port outside 1–65535) or trust root file.
    public init(
        endpoints: [String],
        configuration: HTTP2ClientConfiguration = .defaults,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "goaway.client", factory: { _ in SwiftLogNoOpLogHandler() }),
        resolver: any HTTP2Resolver = SystemResolver(),
        metricsFactory: (any MetricsFactory)? = nil
    ) throws {
        guard !endpoints.isEmpty else { throw HTTP2ClientError(.invalidRequest, detail: "no endpoint") }
        let parsed = try endpoints.map(HTTP2Endpoint.init(url:))
        self.defaultScheme = parsed[0].scheme
        self.defaultAuthority = parsed[0].authority
        let (stream, continuation) = AsyncStream.makeStream(of: HTTP2ClientEvent.self, bufferingPolicy: .bufferingNewest(10_000))
        self.events = stream
        self.runtime = try ClientRuntime(
            services: parsed, resolver: resolver, configuration: configuration, group: eventLoopGroup, logger: logger,
            metricsFactory: metricsFactory, events: continuation)
        runtime.start()
    }

    /// The endpoints new connections go to now: the URLs' literals and the latest DNS answers'
    /// addresses (empty for a host name until its first answer).
    public var endpoints: [HTTP2Endpoint] { runtime.endpoints }

    /// Sends a request; returns when the response head arrived. Stream the body from the result.
    ///
    /// `request.scheme` and `request.authority` default to the first endpoint's.
    nonisolated(nonsending) public func execute(_ request: HTTPRequest, body: HTTP2RequestBody = .empty) async throws -> HTTP2ClientResponse {
        if let problem = Self.malformed(request) { throw HTTP2ClientError(.invalidRequest, detail: problem) }
        let replayable = try await body.preparedForReplay(limit: runtime.configuration.maxReplayBufferSize)
        let pending = runtime.makeRequest(request, body: replayable, scheme: defaultScheme, authority: defaultAuthority)
        return try await response(to: pending, isolation: #isolation)
    }

    /// What makes the request's header block malformed (RFC 9113 §8.3.1), checked here because
    /// swift-nio-http2's own check is off on our connections (`ResponseHeaders`); `nil`: nothing.
    /// (`HTTPFields` holds no pseudo-header fields: it traps on one.)
    static func malformed(_ request: HTTPRequest) -> String? {
        // A loop over the contiguous bytes: `contains(where:)` ran a closure per byte.
        func isPseudoValue(_ value: String) -> Bool {
            var value = value
            return value.withUTF8 { bytes in
                for byte in bytes where byte <= 0x20 || byte == 0x7F { return false }
                return true
            }
        }
        if request.method == .connect { return "CONNECT is not supported" }
        if let scheme = request.scheme, scheme.isEmpty || !isPseudoValue(scheme) { return "bad scheme \(scheme.debugDescription)" }
        if let authority = request.authority, !isPseudoValue(authority) { return "bad authority \(authority.debugDescription)" }
        if let path = request.path, path.isEmpty || !isPseudoValue(path) { return "bad path \(path.debugDescription)" }
        return nil
    }

    /// Waits on the caller's executor: the closures capture `isolation`, so they are isolated to it
    /// and the task never hops to the global pool and back (on an event loop's executor, a request
    /// is started and answered on that one thread).
    private func response(to pending: PendingRequest, isolation: isolated (any Actor)?) async throws -> HTTP2ClientResponse {
        let runtime = self.runtime
        return try await withTaskCancellationHandler {
            _ = isolation
            return try await withUnsafeThrowingContinuation(isolation: isolation) { (continuation: UnsafeContinuation<HTTP2ClientResponse, any Error>) in
                runtime.submit(pending, continuation: continuation, cancelled: Task.isCancelled)
            }
        } onCancel: {
            runtime.cancel(pending)
        }
    }

    /// Sends a request and collects the whole response body (up to `maxResponseBytes`).
    nonisolated(nonsending) public func execute(_ request: HTTPRequest, body: HTTP2RequestBody = .empty, maxResponseBytes: Int) async throws -> HTTP2BufferedResponse {
        let response = try await execute(request, body: body)
        let bytes = try await response.body.collect(upTo: maxResponseBytes)
        return HTTP2BufferedResponse(head: response.head, body: bytes)
    }

    /// Counters since the client started.
    public var stats: HTTP2ClientStats { runtime.stats }

    /// Stops taking requests (queued ones fail with `shutdown`), lets running ones finish, closes
    /// every connection. Returns when they are closed (or after `timeout`), and the resolver's
    /// questions still open are cancelled and over (see `HTTP2Resolver`).
    public func shutdown(timeout: Duration = .seconds(10)) async {
        await runtime.shutdown(timeout: timeout)
    }
}

/// What the client did so far.
public struct HTTP2ClientStats: Sendable, Hashable {
    /// Requests `execute` was called with.
    public var requests = 0
    /// Requests that got a response head.
    public var succeeded = 0
    /// Requests that ended in an `HTTP2ClientError`.
    public var failed = 0
    /// Re-sends, by reason.
    public var resent: [ResendReason: Int] = [:]
    /// GOAWAY frames received, on every connection.
    public var goAwaysReceived = 0
    /// Connections that reached HTTP/2 (the server's SETTINGS arrived).
    public var connectionsOpened = 0
    /// Connection attempts that failed (refused, DNS, TLS, timeout, not HTTP/2).
    public var connectFailures = 0
    /// Re-sends of every reason.
    public var resentTotal: Int { resent.values.reduce(0, +) }
}

extension HTTP2ClientConfiguration.TLS {
    /// Checks every trust root file up front: it exists, is readable and holds a PEM certificate.
    /// Throws `invalidRequest` naming the file and what is wrong (`HTTP2Client.init` does the same).
    public func validate() throws {
        for file in trustRootFiles { _ = try ClientRuntime.loadTrustRoots(file) }
    }
}
