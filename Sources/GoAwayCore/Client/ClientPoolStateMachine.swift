/// The client's connection pool as a value: events and time in, actions out. No I/O, no clock.
///
/// Each connection:
/// ```
///  connecting ──SETTINGS──▶ active ──GOAWAY──▶ draining ──last stream done──▶ (close) closed
///      │  └──────────GOAWAY (before SETTINGS)──────▲                              ▲
///      └──connect failed / channel closed───────────────────────────────────────┘
/// ```
/// - `connecting` counts as capacity of `assumedMaxConcurrentStreams` (or the endpoint's last known
///   limit) so a burst opens only as many connections as it needs. After a back-off (`.connect` with
///   a delay) the shell dials only when `connectDue` says so; given up before, it is just dropped.
/// - `active` takes new streams up to min(peer SETTINGS_MAX_CONCURRENT_STREAMS, our cap). When all
///   are full, requests queue and another connection opens, up to `maxConnectionsPerEndpoint`. We
///   never raise our own limit to make room.
/// - `draining` (any GOAWAY, the 2^31-1 notice included): no new streams; a replacement opens at once
///   when there is demand (queued requests, streams still running on it) or the endpoint is below its
///   minimum — make before break. Streams <= last-id run to their end; the shell reports the others
///   as failed and `RetryDecision` sends them back to the queue.
/// - `closed`: the channel is gone; the entry stays until the shell has reported every request it
///   handed to it (late events are expected and harmless).
///
/// Choice of connection: round-robin across endpoints (a cursor that advances on every dispatch, so
/// load spreads over a service's addresses), least-loaded connection within the chosen endpoint (so
/// a fresh replacement fills up before an older connection near its limit).
///
/// Learned per-connection budget: when an endpoint's connection GOAWAYs after N streams, the pool
/// prefers not to give any connection of that endpoint more than N streams — it opens another
/// connection instead (up to the maximum). Without it, 32 concurrent requests thrown at a server
/// that answers 10 per connection bounce 2 times in 3 and burn their re-send budget. It is only a
/// preference: when no connection can be opened, connections over budget are used anyway, and each
/// GOAWAY replaces the estimate, so it follows the server up and down.
public struct ClientPoolStateMachine: Sendable {
    /// Sizing, re-send budget, back-off and keepalive.
    public let configuration: PoolConfiguration
    /// Every connection not yet closed, by id. A short array, not a dictionary (`StreamTable`):
    /// a client has a few connections, and the pool looks one up ~5 times a request.
    public internal(set) var connections = StreamTable<ConnectionID, Connection>()
    var requests = RequestTable<Request>()
    var queue = RequestQueue()
    var endpoints: [Endpoint]
    var services: [Service]
    var nextConnection = 0
    var cursor = 0
    var rng: JitterRandom
    var shuttingDown = false
    var shutdownReported = false
    /// Client-wide re-send budget.
    public internal(set) var budget: RetryBudget
    /// Requests waiting for a re-send (`.retryAfter` pending).
    var waiting: Set<RequestID> = []
    /// The deadlines of the requests that have one, in arrival order (`DeadlineQueue`): the shell
    /// keeps one timer at `nextDeadline` and reports it with `deadlinesDue(now:)`.
    var deadlines = DeadlineQueue()
    /// The latest time an event brought (connections opened by events without one use it).
    var clock: Instant = .zero
    /// The idle keepalive interval now (doubled after a `too_many_pings` GOAWAY).
    public internal(set) var keepaliveInterval: Duration?

    /// `endpointCount` fixed endpoints (service i is endpoint i).
    public init(endpointCount: Int, configuration: PoolConfiguration = .defaults) {
        self.init(services: Array(repeating: .fixed, count: endpointCount), configuration: configuration)
    }

    /// One service per URL; a `.fixed` one is an endpoint at once, a `.resolved` one has none
    /// until its first answer (`start` asks for it).
    public init(services: [ServiceKind], configuration: PoolConfiguration = .defaults) {
        precondition(!services.isEmpty, "a pool needs at least one endpoint")
        self.configuration = configuration
        self.budget = RetryBudget(configuration.retry.budget)
        self.services = services.map { Service(kind: $0) }
        self.endpoints = []
        for (i, kind) in services.enumerated() where kind == .fixed {
            var e = Endpoint()
            e.service = i
            endpoints.append(e)
        }
        self.rng = JitterRandom(seed: configuration.seed)
        self.keepaliveInterval = configuration.keepaliveInterval
    }

    // MARK: queries (tests and the shell's gauges)

    /// Requests waiting for a connection, in order.
    public var queuedRequests: [RequestID] { queue.elements }
    /// Requests the pool holds (queued, in flight or waiting to be re-sent).
    public var requestCount: Int { requests.count }
    /// The ids of the connections in `state`, in id order.
    public func connections(in state: ConnectionState) -> [ConnectionID] {
        connections.values.filter { $0.state == state }.map(\.id).sorted()
    }
    /// How often `request` was sent so far; `nil` when the pool does not hold it.
    public func attempt(of request: RequestID) -> Attempt? { requests[request]?.attempt }
    /// Whether endpoint `index`'s circuit is open (see `Endpoint.circuitOpen`).
    public func isCircuitOpen(endpoint index: Int) -> Bool { endpoints[index].circuitOpen }
    /// The service endpoint `index` belongs to, and its resolved address (`nil` for a fixed one).
    public func service(ofEndpoint index: Int) -> Int { endpoints[index].service }
    /// The resolved address of endpoint `index`, when it came from a DNS answer.
    public func address(ofEndpoint index: Int) -> String? { endpoints[index].address }
    /// Endpoints that take new connections (not retired), in index order.
    public var liveEndpoints: [Int] { endpoints.indices.filter { !endpoints[$0].retired } }
    /// No endpoint can be reached: no connection is up, and every service either failed to
    /// resolve or has every endpoint's circuit open.
    public var isUnreachable: Bool {
        guard !connections.values.contains(where: { $0.state == .active }) else { return false }
        return services.indices.allSatisfy { s in
            let live = endpoints.indices.filter { endpoints[$0].service == s && !endpoints[$0].retired }
            return live.isEmpty ? services[s].resolveFailed : live.allSatisfy { endpoints[$0].circuitOpen }
        }
    }

    // MARK: events

    /// Opens the minimum pool.
    public mutating func start(now: Instant) -> [Action] {
        clock = max(clock, now)
        var actions: [Action] = []
        for s in services.indices where services[s].kind == .resolved { requestResolve(s, &actions) }
        for e in endpoints.indices where !endpoints[e].retired {
            while liveCount(endpoint: e) < configuration.minConnectionsPerEndpoint {
                actions.append(openConnection(endpoint: e))
            }
        }
        return actions
    }

    /// The peer's first SETTINGS arrived: the connection can take streams.
    public mutating func connectionReady(_ id: ConnectionID, maxConcurrentStreams: Int?, now: Instant) -> [Action] {
        guard var c = connections[id] else { return [] }
        clock = max(clock, now)
        endpoints[c.endpoint].consecutiveFailures = 0
        endpoints[c.endpoint].failingSince = nil
        endpoints[c.endpoint].circuitOpen = false
        let limit = min(maxConcurrentStreams ?? Int(Int32.max), configuration.maxConcurrentStreamsCap)
        endpoints[c.endpoint].lastKnownMaxStreams = limit
        var actions: [Action] = []
        switch c.state {
        case .connecting:
            c.state = .active
            c.maxStreams = limit
            connections[id] = c
            dispatch(&actions)
        case .draining:
            // GOAWAY arrived before SETTINGS: nothing runs on it; close it if idle.
            c.maxStreams = limit
            connections[id] = c
            closeIfDrained(id, &actions)
        case .active, .closed:
            break
        }
        return actions
    }

    /// A later SETTINGS changed SETTINGS_MAX_CONCURRENT_STREAMS.
    public mutating func settingsChanged(_ id: ConnectionID, maxConcurrentStreams: Int) -> [Action] {
        guard var c = connections[id] else { return [] }
        c.maxStreams = min(maxConcurrentStreams, configuration.maxConcurrentStreamsCap)
        connections[id] = c
        endpoints[c.endpoint].lastKnownMaxStreams = c.maxStreams
        var actions: [Action] = []
        dispatch(&actions)
        return actions
    }

    /// The connection could not be established (refused, TLS/ALPN failure, connect timeout, closed
    /// before its first SETTINGS).
    ///
    /// The endpoint is a circuit: while it fails, one attempt at a time, each after a longer
    /// back-off. After `retry.maxAttempts` failures in a row, or once it has failed for
    /// `connectBudget` since its first failed attempt began, the circuit opens; when every
    /// endpoint's circuit is open and no connection is up, the queued requests fail with
    /// `connectionFailed` (the shell names the cause) and new ones fail at once.
    public mutating func connectFailed(_ id: ConnectionID, now: Instant) -> [Action] {
        guard let c = connections[id] else { return [] }
        clock = max(clock, now)
        connections[id] = nil
        var e = endpoints[c.endpoint]
        e.consecutiveFailures += 1
        let since = min(e.failingSince ?? c.startedAt, c.startedAt)
        e.failingSince = since
        if e.consecutiveFailures >= configuration.retry.maxAttempts || now - since >= configuration.connectBudget {
            e.circuitOpen = true
        }
        endpoints[c.endpoint] = e
        var actions: [Action] = []
        requestResolve(e.service, &actions)
        reportShutdownIfDone(&actions)
        if failQueueIfUnreachable(&actions) { return actions }
        dispatch(&actions)
        return actions
    }

    /// A GOAWAY arrived (any code, any last-stream-id, also while connecting).
    public mutating func goAwayReceived(
        _ id: ConnectionID,
        lastStreamID: StreamID,
        code: HTTP2ErrorCode,
        debugData: GoAwayDebugData = GoAwayDebugData([]),
        now: Instant
    ) -> [Action] {
        guard var c = connections[id] else { return [] }
        clock = max(clock, now)
        var actions: [Action] = []
        if code == .enhanceYourCalm, debugData.unredacted == "too_many_pings", let interval = keepaliveInterval {
            let doubled = interval + interval
            keepaliveInterval = doubled
            actions.append(.keepaliveChanged(doubled))
        }
        c.lastStreamID = min(c.lastStreamID ?? lastStreamID, lastStreamID)
        if lastStreamID < .max, lastStreamID.rawValue >= 1 {
            endpoints[c.endpoint].streamsPerConnection = Int((lastStreamID.rawValue + 1) / 2)
        }
        let wasServing = c.state == .active || c.state == .connecting
        if c.state != .closed { c.state = .draining }
        connections[id] = c
        if wasServing { requestResolve(endpoints[c.endpoint].service, &actions) }
        let service = endpoints[c.endpoint].service
        if wasServing, services[service].resolving, !services[service].awaitingAnswer, !shuttingDown {
            // The answer may move the service: new connections to it wait for it, bounded.
            services[service].awaitingAnswer = true
            actions.append(.replacementDue(service: service, after: Self.replacementResolveBound))
        }
        if wasServing {
            let demand = !queue.isEmpty || !c.inFlight.isEmpty
                || liveCount(endpoint: c.endpoint) < configuration.minConnectionsPerEndpoint
            if demand, !shuttingDown, liveCount(endpoint: c.endpoint) < configuration.maxConnectionsPerEndpoint,
                !hasSpareLiveCapacity(endpoint: c.endpoint)
            {
                if services[service].awaitingAnswer {
                    services[service].replacements.append(c.endpoint)
                } else {
                    actions.append(openConnection(endpoint: c.endpoint))  // make before break
                }
            }
        }
        closeIfDrained(id, &actions)
        dispatch(&actions)
        return actions
    }

    /// The channel is up (TCP, and TLS when used), its SETTINGS not yet: `.close(id)` when the pool
    /// gave the connection up while it was connecting (shutdown, its address left the DNS answer)
    /// or no longer knows it, nothing otherwise. (Its `.close` then found no channel to close.)
    public mutating func connectionActive(_ id: ConnectionID) -> [Action] {
        guard let c = connections[id], c.state != .closed else { return [.close(id)] }
        return []
    }

    /// The channel closed (peer close, reset, protocol error, our own close).
    public mutating func connectionClosed(_ id: ConnectionID, now: Instant) -> [Action] {
        guard var c = connections[id] else { return [] }
        clock = max(clock, now)
        var actions: [Action] = []
        if c.state == .connecting {
            // Closed before SETTINGS: as good as a failed connect.
            return connectFailed(id, now: now)
        }
        // Lost while serving (not closed by us after a drain): the service may have moved.
        if c.state == .active { requestResolve(endpoints[c.endpoint].service, &actions) }
        c.state = .closed
        connections[id] = c
        if c.inFlight.isEmpty { connections[id] = nil }
        dispatch(&actions)
        reportShutdownIfDone(&actions)
        return actions
    }

    /// A `.connect` back-off is over: `.connect(id, endpoint:, delay: .zero)` (open it now) while
    /// the pool still wants the connection; nothing when it dropped it during the back-off
    /// (shutdown, its address left the DNS answer), or for a connection already dialed.
    public mutating func connectDue(_ id: ConnectionID, now: Instant) -> [Action] {
        guard var c = connections[id], c.backingOff else { return [] }
        clock = max(clock, now)
        c.backingOff = false
        connections[id] = c
        return [.connect(id, endpoint: c.endpoint, delay: .zero)]
    }

    /// Stop taking requests: queued ones fail, idle connections close, running ones finish;
    /// connections still in their back-off are dropped (never dialed: nothing to close).
    public mutating func shutdown() -> [Action] {
        shuttingDown = true
        var actions: [Action] = []
        while let r = queue.popFirst() {
            requests[r] = nil
            actions.append(.fail(r, .shutdown))
        }
        for r in waiting.sorted() {
            requests[r] = nil
            actions.append(.fail(r, .shutdown))
        }
        waiting.removeAll()
        for id in connections.keys.sorted() {
            guard var c = connections[id], c.state != .closed else { continue }
            if c.backingOff {
                connections[id] = nil  // never dialed: nothing to close
                continue
            }
            if c.inFlight.isEmpty {
                actions.append(.close(id))
                c.state = .closed
            } else {
                c.state = .draining
            }
            connections[id] = c
        }
        reportShutdownIfDone(&actions)
        return actions
    }

    // MARK: internals

    mutating func reportShutdownIfDone(_ actions: inout [Action]) {
        guard shuttingDown, !shutdownReported, connections.isEmpty else { return }
        shutdownReported = true
        actions.append(.shutdownComplete)
    }

    /// A re-send is not started with less than this left before the request's deadline: its
    /// answer could hardly arrive in time, and the caller learns `notProcessed` (true) instead of
    /// a timeout (ambiguous).
    static let minimumTimeLeft: Duration = .milliseconds(25)

    /// No endpoint can be reached: the queued requests fail with `connectionFailed`.
    mutating func failQueueIfUnreachable(_ actions: inout [Action]) -> Bool {
        guard isUnreachable else { return false }
        while let r = queue.popFirst() {
            requests[r] = nil
            actions.append(.fail(r, .connectionFailed))
        }
        return true
    }
}
