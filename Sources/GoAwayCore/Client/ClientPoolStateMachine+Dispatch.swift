/// Where requests go: round-robin over endpoints, the least-loaded connection within one, the
/// learned per-connection budget, and when to open or close a connection for the queue.
extension ClientPoolStateMachine {
    func liveCount(endpoint: Int) -> Int {
        connections.values.reduce(0) { n, c in
            n + ((c.endpoint == endpoint && (c.state == .active || c.state == .connecting)) ? 1 : 0)
        }
    }

    func hasSpareLiveCapacity(endpoint: Int) -> Bool {
        connections.values.contains { c in
            c.endpoint == endpoint && (c.state == .connecting || c.available > 0)
        }
    }

    mutating func openConnection(endpoint: Int) -> Action {
        let id = ConnectionID(nextConnection)
        nextConnection += 1
        let assumed = endpoints[endpoint].lastKnownMaxStreams ?? min(configuration.assumedMaxConcurrentStreams, configuration.maxConcurrentStreamsCap)
        let delay = configuration.backoff.delay(afterFailures: endpoints[endpoint].consecutiveFailures, random: rng.nextUnit())
        var c = Connection(id: id, endpoint: endpoint, state: .connecting, maxStreams: assumed, inFlight: [])
        c.startedAt = clock + delay
        c.backingOff = delay > .zero
        connections[id] = c
        return .connect(id, endpoint: endpoint, delay: delay)
    }

    mutating func closeIfDrained(_ id: ConnectionID, _ actions: inout [Action]) {
        guard let c = connections[id], c.inFlight.isEmpty else { return }
        switch c.state {
        case .draining:
            connections[id]!.state = .closed
            actions.append(.close(id))
        case .closed:
            connections[id] = nil
        case .connecting, .active:
            break
        }
    }

    func budgetLeft(_ c: Connection) -> Int {
        guard let budget = endpoints[c.endpoint].streamsPerConnection else { return .max }
        return max(0, budget - c.dispatched)
    }

    /// Streams a connecting connection is expected to take.
    func expectedCapacity(_ c: Connection) -> Int {
        min(c.maxStreams, endpoints[c.endpoint].streamsPerConnection ?? .max)
    }

    /// Round-robin over endpoints, least-loaded within the endpoint.
    mutating func pickConnection(overBudget: Bool) -> ConnectionID? {
        let n = endpoints.count
        for step in 0..<n {
            let e = (cursor + step) % n
            var best: Connection?
            if endpoints[e].retired { continue }
            for c in connections.values where c.endpoint == e && c.available > 0 && (overBudget || budgetLeft(c) > 0) {
                if best == nil || c.inFlight.count < best!.inFlight.count
                    || (c.inFlight.count == best!.inFlight.count && c.id < best!.id)
                {
                    best = c
                }
            }
            if let best {
                cursor = (e + 1) % n
                return best.id
            }
        }
        return nil
    }

    mutating func dispatch(_ actions: inout [Action]) {
        defer { reportShutdownIfDone(&actions) }
        drainQueue(overBudget: false, &actions)
        guard !queue.isEmpty, !shuttingDown else { return }
        // Open connections until the connecting ones can absorb the queue.
        var pending = connections.values.reduce(0) { $0 + ($1.state == .connecting ? expectedCapacity($1) : 0) }
        while queue.count > pending {
            guard let e = endpointWithRoom() else { break }
            let action = openConnection(endpoint: e)
            actions.append(action)
            if case .connect(let id, _, _) = action { pending += max(1, expectedCapacity(connections[id]!)) }
        }
        // Nothing on the way: rather over budget than waiting.
        if pending == 0 { drainQueue(overBudget: true, &actions) }
    }

    mutating func drainQueue(overBudget: Bool, _ actions: inout [Action]) {
        while let first = queue.first, let cid = pickConnection(overBudget: overBudget) {
            _ = queue.popFirst()
            budget.deposit(now: clock)
            requests.modify(first) { r in
                r.connection = cid
                r.attempt.sends += 1
            }
            connections[cid]!.inFlight.insert(first)
            connections[cid]!.dispatched += 1
            actions.append(.execute(first, on: cid))
        }
    }

    mutating func endpointWithRoom() -> Int? {
        let n = endpoints.count
        // Prefer endpoints that are not failing, then round-robin.
        var candidate: Int?
        for step in 0..<n {
            let e = (cursor + step) % n
            guard !endpoints[e].retired, !services[endpoints[e].service].awaitingAnswer,
                liveCount(endpoint: e) < configuration.maxConnectionsPerEndpoint
            else { continue }
            // A failing endpoint gets one attempt at a time.
            if endpoints[e].consecutiveFailures > 0, connections.values.contains(where: { $0.endpoint == e && $0.state == .connecting }) {
                continue
            }
            if candidate == nil || endpoints[e].consecutiveFailures < endpoints[candidate!].consecutiveFailures {
                candidate = e
            }
        }
        if let candidate { cursor = (candidate + 1) % n }
        return candidate
    }
}
