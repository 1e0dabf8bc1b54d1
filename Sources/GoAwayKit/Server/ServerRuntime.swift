import GoAwayCore
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// What a server reports as it runs: one `AsyncStream` of these per server (`HTTP2Server.events`).
public enum ServerEvent: Sendable, Equatable {
    case listening(host: String, port: Int)
    case connectionAccepted(connectionID: Int, remote: String)
    /// A GOAWAY went out, protocol errors included: `lastStreamID` is the one on the wire (the
    /// highest stream that reached the handler, or 2^31-1 for a shutdown notice). `debugData` is
    /// redacted unless configured otherwise.
    case goAwaySent(connectionID: Int, lastStreamID: Int, code: HTTP2ErrorCode, reason: ShutdownReason, debugData: String)
    case connectionClosed(connectionID: Int, reason: ShutdownReason?, drainDuration: Duration?)
    case streamRefused
    case shutdownStarted
    case stopped
}

/// Counts since the server started (`HTTP2Server.statistics`).
public struct ServerStatistics: Sendable, Equatable {
    /// Connections accepted (refused ones included).
    public var connectionsAccepted = 0
    /// Connections closed, however they ended.
    public var connectionsClosed = 0
    /// Connections that ended through a drain (shutdown, max age, max requests, idle...).
    public var connectionsDrained = 0
    /// Requests (streams) that reached the handler.
    public var requests = 0
    /// Requests that completed after their connection's drain had begun.
    public var requestsCompletedDuringDrain = 0
    /// Streams refused with REFUSED_STREAM (above a final GOAWAY, over the stream limit).
    public var streamsRefused = 0
    /// GOAWAYs sent, by reason.
    public var goAwaysSent: [ShutdownReason: Int] = [:]
    /// The longest drain seen.
    public var longestDrain: Duration = .zero
    /// Protection limits hit, by reason (`rapid_reset`, `max_connections`…).
    public var attacksDetected: [ShutdownReason: Int] = [:]

    /// All zero (a server that has not started).
    public init() {}
}

/// Whether a connection has no open stream: written on its event loop at the 0↔1 transitions,
/// read by the server's registry when it needs an idle connection to shed.
final class ConnectionActivity: Sendable {
    private let idleFlag = Atomic<Bool>(true)
    var idle: Bool {
        get { idleFlag.load(ordering: .relaxed) }
        set { idleFlag.store(newValue, ordering: .relaxed) }
    }
}

/// State shared by all connections of one server. Sendable: immutable fields plus a lock-guarded
/// box; the connection registry is what graceful shutdown walks.
final class ServerRuntime: Sendable {
    let configuration: HTTP2Server.Configuration
    let handler: HTTP2Server.Handler
    let events: AsyncStream<ServerEvent>
    private let eventSink: AsyncStream<ServerEvent>.Continuation
    private let metrics: ServerMetrics

    private struct Mutable {
        var stats = ServerStatistics()
        var nextConnectionID = 1
        var connections: [Int: ConnectionEntry] = [:]
        var shuttingDown = false
        /// `terminateAbruptly()` ran: a connection accepted after it is closed at once, not drained.
        var aborted = false
        var allClosed: [CheckedContinuation<Void, Never>] = []
    }

    struct ConnectionEntry: Sendable {
        var channel: any Channel
        var handler: NIOLoopBound<ServerConnectionHandler>
        var activity: ConnectionActivity
        /// Shed for the connection limit: draining, not to be picked again.
        var shed = false
    }

    private let state = NIOLockedValueBox(Mutable())

    init(configuration: HTTP2Server.Configuration, handler: @escaping HTTP2Server.Handler) {
        self.configuration = configuration
        self.handler = handler
        (events, eventSink) = AsyncStream.makeStream(of: ServerEvent.self, bufferingPolicy: .bufferingNewest(4096))
        metrics = ServerMetrics(factory: configuration.metricsFactory ?? MetricsSystem.factory)
    }

    func jitter() -> Double { Double.random(in: 0..<1) }

    func emit(_ event: ServerEvent) { eventSink.yield(event) }
    func finishEvents() { eventSink.finish() }

    var statistics: ServerStatistics { state.withLockedValue { $0.stats } }

    /// Registers a new connection; returns its id, or nil when the server is shutting down.
    func nextConnectionID() -> Int {
        state.withLockedValue { s in
            defer { s.nextConnectionID += 1 }
            return s.nextConnectionID
        }
    }

    enum Admission: Equatable {
        case accepted
        /// Shutdown has begun: drain the new connection at once.
        case shuttingDown
        /// `terminateAbruptly()` ran: close it at once.
        case aborted
        /// Over `maxConnections` with nothing idle to shed: refuse it.
        case refused
    }

    /// Registers a new connection. Over the connection limit, the oldest idle connection is shed
    /// (drained, GOAWAY `max_connections`), or, with none idle, the new one is refused.
    func register(id: Int, channel: any Channel, handler: NIOLoopBound<ServerConnectionHandler>, activity: ConnectionActivity, remote: String) -> Admission {
        let maxConnections = configuration.protection.maxConnections
        let (admission, shed) = state.withLockedValue { s -> (Admission, ConnectionEntry?) in
            s.stats.connectionsAccepted += 1
            let decision: ConnectionLimiter.Decision =
                if maxConnections != nil, s.connections.count >= maxConnections! {
                    ConnectionLimiter.connectionAccepted(
                        newID: id,
                        open: s.connections.map { .init(id: $0.key, idle: $0.value.activity.idle, leaving: $0.value.shed) },
                        maxConnections: maxConnections
                    )
                } else {
                    .accept
                }
            s.connections[id] = ConnectionEntry(channel: channel, handler: handler, activity: activity)
            if s.aborted { return (.aborted, nil) }
            if s.shuttingDown { return (.shuttingDown, nil) }
            switch decision {
            case .accept:
                return (.accepted, nil)
            case .shed(let victim):
                s.connections[victim]?.shed = true
                s.stats.attacksDetected[.maxConnections, default: 0] += 1
                return (.accepted, s.connections[victim])
            case .refuse:
                return (.refused, nil)
            }
        }
        metrics.connectionsAccepted.increment()
        emit(.connectionAccepted(connectionID: id, remote: remote))
        if let shed {
            metrics.attackDetected(.maxConnections)
            let handler = shed.handler
            shed.channel.eventLoop.execute { handler.value.shutdown(reason: .maxConnections) }
        }
        return admission
    }

    /// A protection limit ended a connection (counted by reason).
    func attackDetected(_ reason: ShutdownReason) {
        state.withLockedValue { $0.stats.attacksDetected[reason, default: 0] += 1 }
        metrics.attackDetected(reason)
    }

    func connectionClosed(id: Int, reason: ShutdownReason?, drainStarted: Instant?, now: Instant, completedDuringDrain: Int) {
        let drain: Duration? = drainStarted.map { now - $0 }
        // nil: already reported (the handler, then the closeFuture backstop in HTTP2Server).
        let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>]? in
            guard s.connections.removeValue(forKey: id) != nil else { return nil }
            s.stats.connectionsClosed += 1
            s.stats.requestsCompletedDuringDrain += completedDuringDrain
            if drain != nil { s.stats.connectionsDrained += 1 }
            if let drain, drain > s.stats.longestDrain { s.stats.longestDrain = drain }
            guard s.connections.isEmpty else { return [] }
            defer { s.allClosed.removeAll() }
            return s.allClosed
        }
        guard let waiters else { return }
        metrics.connectionsClosed.increment()
        if let drain { metrics.drainDuration.recordNanoseconds(drain.nanosecondsClamped) }
        emit(.connectionClosed(connectionID: id, reason: reason, drainDuration: drain))
        for w in waiters { w.resume() }
    }

    func requestReceived() {
        state.withLockedValue { $0.stats.requests += 1 }
        metrics.requests.increment()
    }

    func streamRefused() {
        state.withLockedValue { $0.stats.streamsRefused += 1 }
        metrics.streamsRefused.increment()
        emit(.streamRefused)
    }

    func goAwaySent(connectionID: Int, lastStreamID: Int, code: HTTP2ErrorCode, reason: ShutdownReason, debugData: String) {
        state.withLockedValue { $0.stats.goAwaysSent[reason, default: 0] += 1 }
        metrics.goAwaySent(code: code, reason: reason)
        let shown = configuration.showDebugData ? debugData : GoAwayDebugData(debugData).redacted
        emit(.goAwaySent(connectionID: connectionID, lastStreamID: lastStreamID, code: code, reason: reason, debugData: shown))
    }

    /// Stops taking new connections' work and drains every open connection in two phases.
    func beginShutdown() {
        let entries = state.withLockedValue { s -> [ConnectionEntry]? in
            guard !s.shuttingDown else { return nil }
            s.shuttingDown = true
            return Array(s.connections.values)
        }
        guard let entries else { return }
        emit(.shutdownStarted)
        for entry in entries {
            let handler = entry.handler
            entry.channel.eventLoop.execute { handler.value.shutdown(reason: .shutdown) }
        }
    }

    var isShuttingDown: Bool { state.withLockedValue { $0.shuttingDown } }

    /// Returns once no connection is open.
    func waitForAllConnectionsClosed() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { s -> Bool in
                if s.connections.isEmpty { return true }
                s.allClosed.append(c)
                return false
            }
            if done { c.resume() }
        }
    }

    /// Closes every connection now without a GOAWAY (`HTTP2Server.terminateAbruptly()`); a later
    /// graceful shutdown finds nothing to drain.
    func abortAll() {
        let channels = state.withLockedValue { s -> [any Channel] in
            s.shuttingDown = true
            s.aborted = true
            return s.connections.values.map(\.channel)
        }
        for c in channels { c.close(promise: nil) }
    }

    /// Closes every connection now (cancellation of `run()`).
    func closeAll() {
        let channels = state.withLockedValue { s in s.connections.values.map(\.channel) }
        for c in channels { c.close(promise: nil) }
    }
}

/// Metrics created once per server (swift-metrics; no-op unless a backend is bootstrapped).
struct ServerMetrics: Sendable {
    let factory: any MetricsFactory
    let connectionsAccepted: Counter
    let connectionsClosed: Counter
    let requests: Counter
    let streamsRefused: Counter
    let drainDuration: Metrics.Timer

    init(factory: any MetricsFactory) {
        self.factory = factory
        connectionsAccepted = Counter(label: "goaway_server_connections_accepted_total", factory: factory)
        connectionsClosed = Counter(label: "goaway_server_connections_closed_total", factory: factory)
        requests = Counter(label: "goaway_server_requests_total", factory: factory)
        streamsRefused = Counter(label: "goaway_server_streams_refused_total", factory: factory)
        drainDuration = Metrics.Timer(label: "goaway_server_drain_duration_seconds", factory: factory)
    }

    /// `goaway_server_attacks_total{kind}`: protection limits hit. Rare: looked up each time.
    func attackDetected(_ reason: ShutdownReason) {
        Counter(label: "goaway_server_attacks_total", dimensions: [("kind", reason.rawValue)], factory: factory).increment()
    }

    /// By code and reason; rare enough that looking the counter up each time costs nothing.
    func goAwaySent(code: HTTP2ErrorCode, reason: ShutdownReason) {
        Counter(label: "goaway_server_goaways_sent_total", dimensions: [("code", code.name ?? code.hex), ("reason", reason.rawValue)], factory: factory).increment()
    }
}
