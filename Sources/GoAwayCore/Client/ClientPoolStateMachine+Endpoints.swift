/// Endpoints from DNS answers: new addresses join, gone ones retire and drain; replacements after a
/// GOAWAY wait (bounded) for the re-resolution.
extension ClientPoolStateMachine {
    /// The service's host name resolved to `addresses` (numeric, in preference order). New
    /// addresses become endpoints; endpoints whose address is gone are retired: their idle
    /// connections close, busy ones drain and close, nothing new goes to them. An empty answer
    /// counts as a failure.
    public mutating func addressesResolved(service s: Int, addresses: [String], now: Instant) -> [Action] {
        guard services.indices.contains(s) else { return [] }
        clock = max(clock, now)
        services[s].resolving = false
        guard !addresses.isEmpty else { return resolveFailed(service: s, now: now) }
        services[s].resolveFailed = false
        var actions: [Action] = []
        let current = endpoints.indices.filter { endpoints[$0].service == s && !endpoints[$0].retired }
        for e in current where !addresses.contains(endpoints[e].address ?? "") {
            retire(e, &actions)
        }
        for address in addresses where !current.contains(where: { endpoints[$0].address == address }) {
            var fresh = Endpoint()
            fresh.service = s
            fresh.address = address
            // Reuse a retired slot nothing refers to any more, so churn does not grow the table.
            if let slot = endpoints.indices.first(where: { i in endpoints[i].retired && !connections.values.contains { $0.endpoint == i } }) {
                endpoints[slot] = fresh
            } else {
                endpoints.append(fresh)
            }
        }
        openReplacements(s, &actions)
        for e in endpoints.indices where endpoints[e].service == s && !endpoints[e].retired && !shuttingDown {
            while liveCount(endpoint: e) < configuration.minConnectionsPerEndpoint {
                actions.append(openConnection(endpoint: e))
            }
        }
        dispatch(&actions)
        return actions
    }

    /// The service's host name did not resolve. Its known endpoints stay (a stale answer beats
    /// none); with none anywhere, the queued requests fail with `connectionFailed`.
    public mutating func resolveFailed(service s: Int, now: Instant) -> [Action] {
        guard services.indices.contains(s) else { return [] }
        clock = max(clock, now)
        services[s].resolving = false
        services[s].resolveFailed = true
        var actions: [Action] = []
        openReplacements(s, &actions)
        if failQueueIfUnreachable(&actions) { return actions }
        dispatch(&actions)
        return actions
    }


    /// How long a replacement waits for its service's re-resolution before it opens with the
    /// last known addresses (a slow or silent resolver).
    public static let replacementResolveBound: Duration = .milliseconds(250)

    /// A `.replacementDue` delay is over: replacements still waiting open with the known addresses.
    public mutating func replacementDue(service s: Int, now: Instant) -> [Action] {
        guard services.indices.contains(s), services[s].awaitingAnswer else { return [] }
        clock = max(clock, now)
        var actions: [Action] = []
        openReplacements(s, &actions)
        dispatch(&actions)
        return actions
    }

    /// Opens the service's waiting replacements: to the replaced endpoint if the answer kept it,
    /// else to the service's endpoint with the fewest live connections.
    mutating func openReplacements(_ s: Int, _ actions: inout [Action]) {
        let waiting = services[s].replacements
        services[s].replacements = []
        services[s].awaitingAnswer = false
        guard !shuttingDown else { return }
        for e in waiting {
            let target = !endpoints[e].retired ? e : endpoints.indices
                .filter { endpoints[$0].service == s && !endpoints[$0].retired }
                .min { liveCount(endpoint: $0) < liveCount(endpoint: $1) }
            guard let target, liveCount(endpoint: target) < configuration.maxConnectionsPerEndpoint,
                !hasSpareLiveCapacity(endpoint: target)
            else { continue }
            actions.append(openConnection(endpoint: target))
        }
    }

    mutating func requestResolve(_ s: Int, _ actions: inout [Action]) {
        guard services[s].kind == .resolved, !services[s].resolving, !shuttingDown else { return }
        services[s].resolving = true
        actions.append(.resolve(service: s))
    }

    mutating func retire(_ e: Int, _ actions: inout [Action]) {
        endpoints[e].retired = true
        for id in connections.keys.sorted() where connections[id]!.endpoint == e {
            switch connections[id]!.state {
            case .connecting where connections[id]!.backingOff:
                connections[id] = nil  // never dialed: nothing to close
            case .connecting:
                connections[id]!.state = .closed
                actions.append(.close(id))
            case .active:
                connections[id]!.state = .draining
                closeIfDrained(id, &actions)
            case .draining, .closed:
                break
            }
        }
    }
}
