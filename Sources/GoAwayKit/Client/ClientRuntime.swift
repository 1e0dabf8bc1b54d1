import GoAwayCore
import HTTPTypes
import Logging
import Metrics
import NIOCore
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization
import Foundation

/// The imperative shell around `ClientPoolStateMachine`: one lock around the pool and the request
/// table; every event is `let effects = state.withLock { … }; run(effects)` — no I/O, no
/// continuation resumed while the lock is held.
package final class ClientRuntime: ClientConnectionDelegate, Sendable {
    /// Unchecked: every continuation is resumed exactly once because it is only ever resumed after
    /// being taken out of the request table under the lock (`responseHead` clears the entry's
    /// continuation, `.fail` removes the entry), or by `submit` before it is stored. A checked one
    /// allocated a canary and did two more atomics a request.
    typealias Continuation = UnsafeContinuation<HTTP2ClientResponse, any Error>
    typealias HandlerBox = NIOLoopBound<ClientConnectionHandler>

    struct Entry {
        let request: PendingRequest
        var continuation: Continuation?
        var connection: ConnectionID?
        /// Why the last connection it was on failed, if it did: named in its error.
        var cause: String?
    }

    struct State {
        var pool: ClientPoolStateMachine
        var requests = RequestTable<Entry>()
        var handlers = StreamTable<ConnectionID, HandlerBox>()
        /// `shutdown()` waits here until the pool's `.shutdownComplete` (or its time is up).
        var shutdownWaiter: CheckedContinuation<Void, Never>?
        var shutdownDone = false
        /// Why the latest connection attempt failed: named in `connectionFailed` errors.
        var connectFailure: ConnectFailure?
        /// Why a channel is about to close before its SETTINGS (no SETTINGS in time, HTTP/1.x
        /// reply, ALPN, TLS), by connection.
        var closeCauses: [ConnectionID: ConnectFailure] = [:]
        var stats = HTTP2ClientStats()
        /// The one timer for every request's timeout, armed at the pool's `nextDeadline`.
        var timerAt: Instant?
        /// The resolver's questions still open, by number: `shutdown` cancels and awaits them.
        var resolutions: [Int: Task<Void, Never>] = [:]
        var nextResolution = 0
        /// `shutdown` began: no question starts any more.
        var resolutionsClosed = false
    }

    enum Effect {
        case start(ConnectionID, HandlerBox, PendingRequest)
        case connect(ConnectionID, endpoint: Int, HTTP2Endpoint, delay: Duration, keepalive: Duration?)
        case resolve(service: Int)
        case retryAfter(RequestID, Duration)
        case replacementDue(service: Int, Duration)
        case close(HandlerBox)
        case resume(Continuation, Result<HTTP2ClientResponse, any Error>)
        case cancelStream(HandlerBox, RequestID, HTTP2ClientError)
        case shutdownComplete(CheckedContinuation<Void, Never>?)
        case keepalive([HandlerBox], Duration)
        case event(HTTP2ClientEvent)
        case failedMetric(String)
    }

    /// One per URL, as parsed; the pool's endpoints are these, or their resolved addresses.
    let services: [HTTP2Endpoint]
    let resolver: any HTTP2Resolver
    let configuration: HTTP2ClientConfiguration
    let group: any EventLoopGroup
    let logger: Logger
    let eventSink: AsyncStream<HTTP2ClientEvent>.Continuation
    let sslContexts: [NIOSSLContext?]
    let state: Mutex<State>
    let nextRequest = Atomic<Int>(0)
    let metrics: ClientMetrics
    /// Where the pool's time comes from: the runtime serves every event loop of its group, so it has
    /// no single loop's clock to read; a test passes its own.
    let clock: @Sendable () -> Instant

    init(services: [HTTP2Endpoint], resolver: any HTTP2Resolver, configuration: HTTP2ClientConfiguration, group: any EventLoopGroup,
         logger: Logger, metricsFactory: (any MetricsFactory)?, events: AsyncStream<HTTP2ClientEvent>.Continuation,
         clock: @escaping @Sendable () -> Instant = ClientRuntime.uptime) throws {
        self.clock = clock
        self.services = services
        self.resolver = resolver
        self.configuration = configuration
        self.group = group
        self.logger = logger
        self.eventSink = events
        var poolConfig = configuration.pool
        poolConfig.connectBudget = min(poolConfig.connectBudget, configuration.connectTimeout)
        poolConfig.seed = UInt64.random(in: 1...UInt64.max)
        let kinds: [ClientPoolStateMachine.ServiceKind] = services.map { $0.isLiteral ? .fixed : .resolved }
        self.state = Mutex(State(pool: ClientPoolStateMachine(services: kinds, configuration: poolConfig)))
        self.metrics = ClientMetrics(factory: metricsFactory ?? MetricsSystem.factory)
        var contexts: [NIOSSLContext?] = []
        var shared: NIOSSLContext?
        for e in services {
            guard e.isTLS else { contexts.append(nil); continue }
            if shared == nil { shared = try Self.makeTLSContext(configuration.tls) }
            contexts.append(shared)
        }
        self.sslContexts = contexts
    }

    package static func makeTLSContext(_ tls: HTTP2ClientConfiguration.TLS) throws -> NIOSSLContext {
        try tls.makeContext() // HTTP2ClientConfiguration+TLS.swift
    }

    /// The certificates of one PEM file, or an `invalidRequest` error naming the file and the problem.
    static func loadTrustRoots(_ file: String) throws -> [NIOSSLCertificate] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
            throw HTTP2ClientError(.invalidRequest, detail: "trust root file \(file): no such file")
        }
        guard !isDirectory.boolValue else { throw HTTP2ClientError(.invalidRequest, detail: "trust root file \(file): is a directory") }
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw HTTP2ClientError(.invalidRequest, detail: "trust root file \(file): permission denied")
        }
        let certificates = (try? NIOSSLCertificate.fromPEMFile(file)) ?? []
        guard !certificates.isEmpty else {
            throw HTTP2ClientError(.invalidRequest, detail: "trust root file \(file): no PEM certificate in it")
        }
        return certificates
    }

    /// The pool's endpoint `index` as the shell connects to it (call under the lock).
    func endpoint(_ index: Int, _ s: State) -> HTTP2Endpoint {
        var e = services[s.pool.service(ofEndpoint: index)]
        e.address = s.pool.address(ofEndpoint: index)
        return e
    }

    /// The endpoints that take new connections now.
    var endpoints: [HTTP2Endpoint] { state.withLock { s in s.pool.liveEndpoints.map { endpoint($0, s) } } }

    /// The system's monotonic uptime, the default clock.
    @Sendable static func uptime() -> Instant { Instant(nanoseconds: Int64(DispatchTime.now().uptimeNanoseconds)) }

    func now() -> Instant { clock() }

    func start() {
        let effects = state.withLock { s in resolve(s.pool.start(now: now()), &s) }
        run(effects)
    }

    var stats: HTTP2ClientStats { state.withLock { $0.stats } }

    func makeRequest(_ head: HTTPRequest, body: HTTP2RequestBody, scheme: String? = nil, authority: String? = nil) -> PendingRequest {
        let id = RequestID(nextRequest.wrappingAdd(1, ordering: .relaxed).newValue)
        return PendingRequest(id: id, head: head, body: body, scheme: scheme, authority: authority)
    }

    // MARK: requests

    func submit(_ request: PendingRequest, continuation: Continuation, cancelled: Bool) {
        metrics.requests.increment()
        enum Next {
            case start(HandlerBox)
            case effects([Effect])
        }
        let next: Next = state.withLock { s in
            s.stats.requests += 1
            // A cancellation that came before this lock set the request's flag (no table entry to
            // find yet, and nothing left behind if it came after the request ended).
            if cancelled || request.cancelled.load(ordering: .acquiring) {
                s.stats.failed += 1
                return .effects([.resume(continuation, .failure(HTTP2ClientError(.cancelled, detail: "the calling task was cancelled"))), .failedMetric("cancelled")])
            }
            let now = now()
            s.requests[request.id] = Entry(request: request, continuation: continuation)
            let actions = s.pool.requestArrived(
                request.id, idempotent: request.idempotent, replayable: request.body.isReplayableUpFront,
                deadline: configuration.requestTimeout.map { now + $0 }, now: now)
            // The usual answer, sent on a connection that is up: what `resolve` does for it, without
            // an array of effects.
            if actions.count == 1, case .execute(let rid, let cid) = actions[0], rid == request.id, let (box, _) = placed(rid, on: cid, &s) {
                armDeadlineTimer(&s, now: now)
                return .start(box)
            }
            let effects = resolve(actions, &s)
            armDeadlineTimer(&s, now: now)
            return .effects(effects)
        }
        switch next {
        case .start(let box): start(request, on: box)
        case .effects(let effects): run(effects)
        }
    }

    /// `.execute(rid, on: cid)` under the lock: the request's entry names its connection, and the
    /// handler to start it on; `nil` (nothing changed) when the request or the channel is gone.
    private func placed(_ rid: RequestID, on cid: ConnectionID, _ s: inout State) -> (HandlerBox, PendingRequest)? {
        guard let box = s.handlers[cid], let request = s.requests.modify(rid, { e -> PendingRequest in
            e.connection = cid
            return e.request
        }) else { return nil }
        return (box, request)
    }

    private func start(_ request: PendingRequest, on box: HandlerBox) {
        if box.eventLoop.inEventLoop {
            box.value.start(request)
        } else {
            box.eventLoop.execute { box.value.start(request) }
        }
    }

    /// One timer at the pool's next deadline (under the lock; re-armed when it fires), timed by
    /// the clock the pool reads.
    private func armDeadlineTimer(_ s: inout State, now: Instant) {
        guard s.timerAt == nil, let next = s.pool.nextDeadline else { return }
        s.timerAt = next
        group.any().scheduleTask(in: .nanoseconds(max(0, next.nanoseconds - now.nanoseconds))) { [self] in deadlinesDue() }
    }

    /// The timer fired: the pool says which requests end and how (`deadlinesDue`).
    private func deadlinesDue() {
        let effects: [Effect] = state.withLock { s in
            s.timerAt = nil
            let now = now()
            let effects = resolve(s.pool.deadlinesDue(now: now), &s)
            armDeadlineTimer(&s, now: now)
            return effects
        }
        run(effects)
    }

    private func retryDue(_ id: RequestID) {
        let effects = state.withLock { s in resolve(s.pool.retryDue(id, now: now()), &s) }
        run(effects)
    }

    /// The calling task was cancelled.
    func cancel(_ request: PendingRequest) {
        request.cancelled.store(true, ordering: .releasing)
        abort(request.id, error: HTTP2ClientError(.cancelled, detail: "the calling task was cancelled"))
    }

    /// Cancellation or timeout: the request ends with `error`; the pool drops it (a pool event:
    /// out of the queue or the re-send wait, or its stream reset by `.cancelStream`).
    func abort(_ id: RequestID, error: HTTP2ClientError) {
        let effects: [Effect] = state.withLock { s in
            guard let entry = s.requests[id], let continuation = entry.continuation else { return [] }  // not here, or answered
            s.requests[id] = nil
            s.stats.failed += 1
            var effects: [Effect] = [.resume(continuation, .failure(error)), .failedMetric(error.code.description)]
            effects += resolve(s.pool.requestCancelled(id), &s)
            return effects
        }
        run(effects)
    }

    // MARK: ClientConnectionDelegate (called on a connection's event loop)

    func connectionActive(_ id: ConnectionID, handler: NIOLoopBound<ClientConnectionHandler>) {
        let (endpoint, effects): (String, [Effect]) = state.withLock { s in
            s.handlers[id] = handler
            s.stats.connectionsOpened += 1
            let endpoint = s.pool.connections[id].map { self.endpoint($0.endpoint, s).description } ?? "?"
            // `.close` when the pool gave it up while it was connecting.
            return (endpoint, resolve(s.pool.connectionActive(id), &s))
        }
        // The event first: the close below can complete the shutdown, which ends the event stream.
        metrics.connectionsOpened.increment()
        logger.debug("connection opened", metadata: ["goaway.connection": "\(id)", "goaway.endpoint": "\(endpoint)"])
        eventSink.yield(.connectionOpened(connection: id.rawValue, endpoint: endpoint))
        run(effects)
    }

    func connectionReady(_ id: ConnectionID, maxConcurrentStreams: Int?) {
        let effects = state.withLock { s in resolve(s.pool.connectionReady(id, maxConcurrentStreams: maxConcurrentStreams, now: now()), &s) }
        run(effects)
    }

    func settingsChanged(_ id: ConnectionID, maxConcurrentStreams: Int) {
        let effects = state.withLock { s in resolve(s.pool.settingsChanged(id, maxConcurrentStreams: maxConcurrentStreams), &s) }
        run(effects)
    }

    func goAwayReceived(_ id: ConnectionID, lastStreamID: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode, debugData: [UInt8]) {
        let data = GoAwayDebugData(debugData)
        let coreCode = GoAwayCore.HTTP2ErrorCode(nio: code)
        let shown = data.rendered(redact: !configuration.revealDebugData)
        logger.debug("GOAWAY received", metadata: [
            "goaway.connection": "\(id)", "goaway.code": "\(coreCode)", "goaway.last_stream_id": "\(lastStreamID)",
            "goaway.debug_data": "\(shown)",
        ])
        metrics.goAways.increment()
        let effects: [Effect] = state.withLock { s in
            s.stats.goAwaysReceived += 1
            let actions = s.pool.goAwayReceived(
                id, lastStreamID: StreamID(Int32(lastStreamID)), code: coreCode, debugData: data, now: now())
            return [.event(.goAwayReceived(connection: id.rawValue, code: coreCode, lastStreamID: Int32(lastStreamID), debugData: shown)),
                    .event(.draining(connection: id.rawValue))] + resolve(actions, &s)
        }
        run(effects)
    }

    func streamFailed(_ request: RequestID, streamID: HTTP2StreamID?, lastStreamID: HTTP2StreamID?, resetCode: NIOHTTP2.HTTP2ErrorCode?, cause: String?) {
        let effects: [Effect] = state.withLock { s in
            guard s.requests[request]?.continuation != nil else { return [] }
            s.requests[request]!.connection = nil
            if let cause { s.requests[request]!.cause = cause }
            let actions = s.pool.requestFailed(
                request,
                streamID: streamID.map { StreamID(Int32($0)) },
                lastStreamID: lastStreamID.map { StreamID(Int32($0)) },
                resetCode: resetCode.map { GoAwayCore.HTTP2ErrorCode(nio: $0) },
                now: now())
            return resolve(actions, &s)
        }
        run(effects)
    }

    func responseHead(_ request: RequestID, _ response: HTTP2ClientResponse) -> Bool {
        let taken: Continuation? = state.withLock { s in
            // One lookup: the entry is changed in place.
            guard let c = s.requests.modify(request, { e -> Continuation? in
                defer { e.continuation = nil }
                return e.continuation
            }) ?? nil else { return nil }
            s.stats.succeeded += 1
            s.pool.responseHeadReceived(request)
            return c
        }
        guard let continuation = taken else { return false }
        metrics.succeeded.increment()
        continuation.resume(returning: response)
        return true
    }

    func streamDone(_ request: RequestID) {
        let effects: [Effect] = state.withLock { s in
            guard s.requests.modify(request, { $0.continuation == nil }) == true else { return [] }
            s.requests.removeValue(forKey: request)
            return resolve(s.pool.requestFinished(request), &s)
        }
        run(effects)
    }

    func connectTimedOut(_ id: ConnectionID) {
        state.withLock { s in
            let target = s.pool.connections[id].map { endpoint($0.endpoint, s).target } ?? "?"
            s.closeCauses[id] = ConnectFailure(.timeout, "connect timeout: no SETTINGS from the server within \(configuration.connectTimeout) (\(target))")
        }
    }

    func connectionClosed(_ id: ConnectionID, cause: String?) {
        let effects: [Effect] = state.withLock { s in
            s.handlers[id] = nil
            let decided = s.closeCauses.removeValue(forKey: id)
            if s.pool.connections[id]?.state == .connecting {
                let target = s.pool.connections[id].map { endpoint($0.endpoint, s).target } ?? "?"
                s.connectFailure = decided ?? ConnectFailure(.closed, cause.map { "the connection to \(target) failed before the server's SETTINGS: \(ConnectFailure.sanitize($0))" }
                    ?? "the server closed the connection before its SETTINGS (\(target))")
            }
            return [.event(.connectionClosed(connection: id.rawValue))] + resolve(s.pool.connectionClosed(id, now: now()), &s)
        }
        logger.debug("connection closed", metadata: ["goaway.connection": "\(id)"])
        run(effects)
    }

    func connectFailed(_ id: ConnectionID, endpoint e: HTTP2Endpoint, error: any Error) {
        let failure = ConnectFailure.classify(error, target: e.target, host: e.host)
        logger.debug("connect failed", metadata: ["goaway.connection": "\(id)", "goaway.error": "\(failure)"])
        metrics.connectFailures.increment()
        let effects: [Effect] = state.withLock { s in
            s.stats.connectFailures += 1
            s.connectFailure = failure
            return [.event(.connectFailed(connection: id.rawValue, endpoint: e.description, error: failure.message))]
                + resolve(s.pool.connectFailed(id, now: now()), &s)
        }
        run(effects)
    }

    // MARK: actions -> effects (under the lock) -> I/O (outside it)

    private func resolve(_ actions: [ClientPoolStateMachine.Action], _ s: inout State) -> [Effect] {
        var effects: [Effect] = []
        for action in actions {
            switch action {
            case .execute(let rid, let cid):
                guard s.requests.contains(rid) else { continue }
                guard let (box, request) = placed(rid, on: cid, &s) else {
                    // The pool thinks it is active but the channel is gone: never sent.
                    effects += resolve(s.pool.requestFailed(rid, streamID: nil, lastStreamID: nil, resetCode: nil, now: now()), &s)
                    continue
                }
                effects.append(.start(cid, box, request))
            case .connect(let cid, let index, let delay):
                effects.append(.connect(cid, endpoint: index, endpoint(index, s), delay: delay, keepalive: s.pool.keepaliveInterval))
            case .resolve(let service):
                effects.append(.resolve(service: service))
            case .retryAfter(let rid, let delay):
                effects.append(.retryAfter(rid, delay))
            case .replacementDue(let service, let delay):
                effects.append(.replacementDue(service: service, delay))
            case .close(let cid):
                if let box = s.handlers[cid] { effects.append(.close(box)) }
            case .fail(let rid, let failure):
                guard let entry = s.requests.removeValue(forKey: rid) else { continue }
                var error = HTTP2ClientError(failure)
                if failure == .requestTimeout, let timeout = configuration.requestTimeout {
                    error.detail = "no response within \(timeout)"
                } else if failure == .connectionFailed, let cause = s.connectFailure {
                    error.connectFailure = cause
                    error.detail += " (last connection: \(cause.message))"
                } else if let cause = entry.cause {
                    error.detail += " (last connection: \(ConnectFailure.sanitize(cause)))"
                }
                s.stats.failed += 1
                effects.append(.failedMetric(error.code.description))
                if let c = entry.continuation { effects.append(.resume(c, .failure(error))) }
            case .requeued(let rid, let reason):
                s.requests[rid]?.connection = nil
                s.stats.resent[reason, default: 0] += 1
                effects.append(.event(.requestResent(reason: reason)))
            case .cancelStream(let rid, let cid):
                if let box = s.handlers[cid] {
                    effects.append(.cancelStream(box, rid, HTTP2ClientError(.cancelled, detail: "the caller gave up on the request")))
                }
            case .shutdownComplete:
                s.shutdownDone = true
                effects.append(.shutdownComplete(s.shutdownWaiter))
                s.shutdownWaiter = nil
            case .keepaliveChanged(let interval):
                effects.append(.keepalive(Array(s.handlers.values), interval))
                effects.append(.event(.keepaliveIntervalChanged(interval)))
            }
        }
        return effects
    }

    private func run(_ effects: [Effect]) {
        // The usual event: one request to start, nothing else (no arrays to group starts by).
        if effects.count == 1, case .start(_, let box, let request) = effects[0] {
            start(request, on: box)
            return
        }
        // Starts for one connection go in one event-loop task with one flush.
        var starts: [(ConnectionID, HandlerBox, [PendingRequest])] = []
        for effect in effects {
            guard case .start(let cid, let box, let request) = effect else { continue }
            if let i = starts.firstIndex(where: { $0.0 == cid }) {
                starts[i].2.append(request)
            } else {
                starts.append((cid, box, [request]))
            }
        }
        for (_, box, requests) in starts {
            if box.eventLoop.inEventLoop {
                box.value.start(requests)
            } else {
                box.eventLoop.execute { box.value.start(requests) }
            }
        }
        for effect in effects {
            switch effect {
            case .start:
                break
            case .connect(let cid, let index, let endpoint, let delay, let keepalive):
                connect(cid, index: index, endpoint: endpoint, delay: delay, keepalive: keepalive)
            case .resolve(let service):
                resolve(service)
            case .retryAfter(let rid, let delay):
                group.any().scheduleTask(in: .nanoseconds(delay.nanosecondsClamped)) { [self] in retryDue(rid) }
            case .replacementDue(let service, let delay):
                group.any().scheduleTask(in: .nanoseconds(delay.nanosecondsClamped)) { [self] in
                    run(state.withLock { s in resolve(s.pool.replacementDue(service: service, now: now()), &s) })
                }
            case .close(let box):
                box.eventLoop.execute { box.value.close() }
            case .resume(let continuation, let result):
                continuation.resume(with: result)
            case .cancelStream(let box, let rid, let error):
                box.eventLoop.execute { box.value.cancel(rid, error: error) }
            case .shutdownComplete(let waiter):
                waiter?.resume()
            case .keepalive(let boxes, let interval):
                for box in boxes { box.eventLoop.execute { box.value.setKeepalive(interval) } }
            case .event(let event):
                if case .requestResent(let reason) = event {
                    metrics.resent(reason).increment()
                    logger.debug("request re-sent", metadata: ["goaway.reason": "\(reason.rawValue)"])
                }
                eventSink.yield(event)
            case .failedMetric(let code):
                metrics.failed(code).increment()
            }
        }
    }

    /// Asks the resolver off the caller's thread, in a task the runtime keeps (`shutdown` cancels
    /// and awaits it); the answer is a pool event.
    private func resolve(_ service: Int) {
        state.withLock { s in
            guard !s.resolutionsClosed else { return }
            let key = s.nextResolution
            s.nextResolution += 1
            // Made under the lock: it is in the table before its end takes it out.
            s.resolutions[key] = Task { [self] in
                await resolution(service)
                state.withLock { _ = $0.resolutions.removeValue(forKey: key) }
            }
        }
    }

    private func resolution(_ service: Int) async {
        let e = services[service]
        let effects: [Effect]
        do {
            let addresses = try await resolver.resolve(host: e.host, port: e.port)
            guard !Task.isCancelled else { return }  // shutting down: nobody needs the answer
            logger.debug("resolved", metadata: ["goaway.host": "\(e.host)", "goaway.addresses": "\(addresses)"])
            effects = state.withLock { s in resolve(s.pool.addressesResolved(service: service, addresses: addresses, now: now()), &s) }
        } catch {
            guard !Task.isCancelled else { return }
            let failure = (error as? ConnectFailure) ?? ConnectFailure(.dns, "DNS failure: cannot resolve \(e.host) (\(ConnectFailure.sanitize("\(error)")))")
            logger.debug("resolve failed", metadata: ["goaway.host": "\(e.host)", "goaway.error": "\(failure)"])
            effects = state.withLock { s in
                s.connectFailure = failure
                return resolve(s.pool.resolveFailed(service: service, now: now()), &s)
            }
        }
        run(effects)
    }

    private func connect(_ id: ConnectionID, index: Int, endpoint: HTTP2Endpoint, delay: Duration, keepalive: Duration?) {
        guard delay <= .zero else {
            // After the back-off the pool says whether to dial (not when it gave the connection up).
            group.any().scheduleTask(in: .nanoseconds(delay.nanosecondsClamped)) { [self] in
                run(state.withLock { s in resolve(s.pool.connectDue(id, now: now()), &s) })
            }
            return
        }
        let loop = group.next()
        let ssl = sslContexts[state.withLock { $0.pool.service(ofEndpoint: index) }]
        let handler: @Sendable () -> ClientConnectionHandler = { [self] in
            ClientConnectionHandler(id: id, delegate: self, logger: logger, configuration: configuration, keepaliveInterval: keepalive)
        }
        let connectTimeout = TimeAmount.nanoseconds(configuration.connectTimeout.nanosecondsClamped)
        let bootstrap = ClientPipeline.bootstrap(
            group: loop, connectTimeout: connectTimeout, tls: ssl, endpoint: endpoint, trace: configuration.frameTrace,
            traceConnection: id.rawValue + 1, settings: ClientConnectionHandler.initialSettings(configuration), validatesHeaders: false
        ) { [self] sync in
            let sniffer = ConnectSniffer(target: endpoint.target, host: endpoint.host) { [self] failure in
                state.withLock { s in if s.closeCauses[id] == nil { s.closeCauses[id] = failure } }
            }
            try sync.addHandler(sniffer, position: .before(try sync.handler(type: NIOHTTP2Handler.self)))
            try sync.addHandler(handler())
        }
        let future: EventLoopFuture<any Channel>
        do {
            // Always an address: the resolver's answer, or the URL's literal.
            future = bootstrap.connect(to: try SocketAddress(ipAddress: endpoint.address ?? endpoint.host, port: endpoint.port))
        } catch {
            future = loop.makeFailedFuture(error)
        }
        // Connected is not ready: the handler's machine bounds the first SETTINGS by the
        // connect timeout too, from channelActive (`connectTimedOut`).
        future.whenFailure { error in self.connectFailed(id, endpoint: endpoint, error: error) }
    }

    /// Fails what is queued, lets running requests finish, closes every connection; returns on
    /// the pool's `.shutdownComplete`. At `timeout` the remaining connections are closed hard,
    /// and a second later it returns whatever is left. The resolver's open questions are
    /// cancelled first and awaited before it returns.
    func shutdown(timeout: Duration) async {
        let resolutions = state.withLock { s in
            s.resolutionsClosed = true
            return Array(s.resolutions.values)
        }
        for task in resolutions { task.cancel() }
        let loop = group.any()
        let hard = loop.scheduleTask(in: .nanoseconds(timeout.nanosecondsClamped)) { [self] in
            let boxes = state.withLock { s in s.shutdownDone ? [] : Array(s.handlers.values) }
            if !boxes.isEmpty { logger.debug("shutdown timed out", metadata: ["goaway.handlers": "\(boxes.count)"]) }
            for box in boxes { box.eventLoop.execute { box.value.close() } }
        }
        let last = loop.scheduleTask(in: .nanoseconds((timeout + .seconds(1)).nanosecondsClamped)) { [self] in
            let waiter = state.withLock { s in
                defer { s.shutdownWaiter = nil }
                return s.shutdownWaiter
            }
            waiter?.resume()
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let effects: [Effect] = state.withLock { s in
                if s.shutdownDone { return [.shutdownComplete(continuation)] }
                s.shutdownWaiter = continuation
                return resolve(s.pool.shutdown(), &s)
            }
            run(effects)
        }
        hard.cancel()
        last.cancel()
        for task in resolutions { await task.value }
        eventSink.finish()
    }
}

/// Counters created once per client, from the client's `MetricsFactory` (the
/// global `MetricsSystem.factory` unless one is given). README "Client metrics" lists them.
struct ClientMetrics: Sendable {
    let requests: Counter
    let succeeded: Counter
    let goAways: Counter
    let connectionsOpened: Counter
    let connectFailures: Counter
    let resentByReason: [ResendReason: Counter]
    let failedByCode: [String: Counter]
    let factory: any MetricsFactory

    init(factory: any MetricsFactory) {
        self.factory = factory
        requests = Counter(label: "goaway_client_requests_total", factory: factory)
        succeeded = Counter(label: "goaway_client_responses_total", factory: factory)
        goAways = Counter(label: "goaway_client_goaways_received_total", factory: factory)
        connectionsOpened = Counter(label: "goaway_client_connections_opened_total", factory: factory)
        connectFailures = Counter(label: "goaway_client_connect_failures_total", factory: factory)
        resentByReason = Dictionary(uniqueKeysWithValues: ResendReason.allCases.map {
            ($0, Counter(label: "goaway_client_resent_total", dimensions: [("reason", $0.rawValue)], factory: factory))
        })
        failedByCode = Dictionary(uniqueKeysWithValues: HTTP2ClientError.Code.all.map {
            ($0.description, Counter(label: "goaway_client_failed_total", dimensions: [("code", $0.description)], factory: factory))
        })
    }

    func resent(_ reason: ResendReason) -> Counter { resentByReason[reason]! }
    func failed(_ code: String) -> Counter {
        failedByCode[code] ?? Counter(label: "goaway_client_failed_total", dimensions: [("code", code)], factory: factory)
    }
}
