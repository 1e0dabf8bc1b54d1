extension Explainer {
    /// Base causes for the code, re-ranked by what this particular message shows: debug-data
    /// tokens, telling Last-Stream-ID values (1999 = nginx's 1000 requests), stack quirks.
    static func rankCauses(_ o: GoAwayObservation) -> [Explanation.Cause] {
        struct Entry {
            var id: CauseID
            var likelihood: Explanation.Cause.Likelihood
            var reason: String
            var boosted = false
            var order: Int
        }
        var entries = CodeKnowledge.baseCauses(o.code, kind: o.kind).enumerated().map {
            Entry(id: $1.0, likelihood: $1.1, reason: $1.2, order: $0)
        }
        func boost(_ id: CauseID, _ reason: String) {
            if let index = entries.firstIndex(where: { $0.id == id }) {
                entries[index].likelihood = .high
                entries[index].reason = reason + " " + entries[index].reason
                entries[index].boosted = true
            } else {
                entries.append(Entry(id: id, likelihood: .high, reason: reason, boosted: true, order: entries.count))
            }
        }
        if let token = knownToken(o.debugData), let cause = tokenCause[token] {
            boost(cause, "The debug data says \(token).")
        }
        let graceful = o.code == nil || o.code == .noError
        if o.kind == .goaway, graceful, o.sender != .client, let last = o.lastStreamID {
            let requests = (Int(last.rawValue) + 1) / 2
            if last == .max {
                boost(.gracefulRestart, "Last-Stream-ID 2^31-1 is the first half of a two-phase graceful shutdown.")
            } else if last == .root {
                boost(.idleTimeout, "Last-Stream-ID 0: no request was processed, typical of an idle or unused connection being closed.")
            } else if last.isClientInitiated && requests == 1000 {
                boost(.maxRequests, "Last-Stream-ID \(last) is the 1000th client stream: nginx's keepalive_requests defaults to 1000.")
            } else if last.isClientInitiated && requests == 10000 {
                boost(.maxRequests, "Last-Stream-ID \(last) is the 10,000th client stream: AWS ALB ends HTTP/2 connections after about 10,000 requests.")
                boost(.loadBalancer, "A 10,000-request limit points at an AWS load balancer.")
            } else if last.isClientInitiated && requests >= 100 && requests % 100 == 0 {
                boost(.maxRequests, "Last-Stream-ID \(last) is exactly request \(requests): a round number suggests a configured request limit.")
            }
        }
        if o.notes.contains(.nioCancelMayMeanUnprocessed) {
            boost(.gracefulRestart, "swift-nio-http2 closes the streams above Last-Stream-ID with CANCEL when a GOAWAY arrives; look for a GOAWAY just before.")
        }
        entries.sort {
            ($0.likelihood.rank, $0.boosted ? 0 : 1, $0.order) < ($1.likelihood.rank, $1.boosted ? 0 : 1, $1.order)
        }
        return entries.map { .init(id: $0.id.rawValue, title: $0.id.title, likelihood: $0.likelihood, reason: $0.reason) }
    }

    static let tokenCause: [String: CauseID] = [
        "too_many_pings": .tooManyPings, "max_age": .maxAge, "max_requests": .maxRequests,
        "idle_timeout": .idleTimeout, "max_idle": .idleTimeout, "keepalive_timeout": .connectionLost,
        "ping_ack_timeout": .connectionLost, "shutdown": .gracefulRestart, "graceful_shutdown": .gracefulRestart,
        "server_shutdown": .gracefulRestart, "graceful_stop": .gracefulRestart, "drain": .gracefulRestart,
        "rapid_reset": .abuseProtection, "ping_flood": .abuseProtection, "settings_flood": .abuseProtection,
        "continuation_flood": .abuseProtection, "empty_frames": .abuseProtection, "window_update_abuse": .abuseProtection,
    ]
}
