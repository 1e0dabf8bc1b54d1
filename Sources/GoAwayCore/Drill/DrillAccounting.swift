/// How the drill decides each request's fate: what the client said, checked against what the
/// servers saw.
///
/// Every request the drill issues ends as exactly one `DrillFate`. The client's word alone is not
/// trusted: the fleet counts how often each request id reached a handler, so a client that claims
/// "not processed" for a request a server did process, re-sends a processed POST, or answers with
/// someone else's response is caught.
///
/// | client said                         | times processed | idempotent | fate               |
/// |-------------------------------------|-----------------|------------|--------------------|
/// | nothing before the watchdog         | any             | any        | lostSilently       |
/// | a response that is not its own      | any             | any        | lostSilently       |
/// | its response                        | 0               | any        | lostSilently       |
/// | its response                        | ≥ 2             | no         | duplicated         |
/// | its response                        | otherwise       |            | ok                 |
/// | failed: provably unprocessed        | 0               | any        | failedUnprocessed  |
/// | failed: provably unprocessed        | ≥ 1             | any        | falseClaim         |
/// | failed: may have been processed     | ≥ 2             | no         | duplicated         |
/// | failed after the response began     | otherwise       | any        | failedReported     |
/// | failed: may have been processed     | otherwise       | yes        | failedIdempotent   |
/// | failed: may have been processed     | otherwise       | no         | failedReported     |
///
/// A failure after the response began (`responseIncomplete`, `streamReset`) is reported, not lost:
/// the caller already holds the response, so no client can re-send it transparently.
package enum DrillFate: String, Sendable, Hashable, CaseIterable, Codable {
    case ok
    /// Failed with an error saying the server may have acted on it, and the method is not
    /// idempotent (or the response had begun): only the application can decide. Reported, not lost.
    case failedReported = "failed_reported"
    /// Failed although the method is idempotent, so re-sending it was safe (RFC 9110 §9.2.2).
    case failedIdempotent = "failed_idempotent"
    /// Failed although no server processed it and the client knew (`notProcessed`,
    /// `connectionFailed`): the request a GOAWAY cost.
    case failedUnprocessed = "failed_unprocessed"
    /// Never answered, answered with another request's response, or "succeeded" without any
    /// server having processed it.
    case lostSilently = "lost_silently"
    /// A non-idempotent request processed more than once.
    case duplicated
    /// The client said "not processed" but a server processed it.
    case falseClaim = "false_claim"

    /// Counts toward "lost": the application did not get an answer it could have had, or got a
    /// wrong one.
    package var isLost: Bool {
        switch self {
        case .ok, .failedReported: false
        case .failedIdempotent, .failedUnprocessed, .lostSilently, .duplicated, .falseClaim: true
        }
    }

    package var isFailure: Bool {
        switch self {
        case .failedReported, .failedIdempotent, .failedUnprocessed, .falseClaim: true
        case .ok, .lostSilently, .duplicated: false
        }
    }

    /// The single pure decision (see the table above).
    package static func decide(_ outcome: DrillClientOutcome, timesProcessed: Int, idempotent: Bool) -> DrillFate {
        switch outcome {
        case .hung:
            return .lostSilently
        case .response(let matched):
            if !matched || timesProcessed == 0 { return .lostSilently }
            if !idempotent && timesProcessed > 1 { return .duplicated }
            return .ok
        case .failed(let failure) where failure.provablyUnprocessed:
            return timesProcessed == 0 ? .failedUnprocessed : .falseClaim
        case .failed(let failure):
            if !idempotent && timesProcessed > 1 { return .duplicated }
            if failure.afterResponseBegan { return .failedReported }
            return idempotent ? .failedIdempotent : .failedReported
        }
    }
}

/// What the client reported for one request.
package enum DrillClientOutcome: Sendable, Hashable, Codable {
    /// A response; `matched` when it carried the request's own id (and body, for echoes).
    case response(matched: Bool)
    case failed(DrillFailure)
    /// No answer at all before the phase's watchdog fired.
    case hung
}

/// A typed client error, reduced to what the accounting needs.
package struct DrillFailure: Sendable, Hashable, Codable {
    /// The error code's name (`not_processed`, `possibly_processed`, `request_timeout`...).
    package var code: String
    /// The client said the request never reached a server's application.
    package var provablyUnprocessed: Bool
    /// The response head had reached the caller when the request failed.
    package var afterResponseBegan: Bool
    package init(code: String, provablyUnprocessed: Bool, afterResponseBegan: Bool = false) {
        self.code = code
        self.provablyUnprocessed = provablyUnprocessed
        self.afterResponseBegan = afterResponseBegan
    }
}

/// Collects one phase's requests (as the client reported them) and turns them into a tally once
/// the servers' processing counts are known.
package struct DrillLedger: Sendable, Codable {
    struct Entry: Sendable, Codable {
        var idempotent: Bool
        var outcome: DrillClientOutcome
        var latencyNanoseconds: Int64?
        /// When the request ended, in milliseconds from the phase start (nil: not recorded).
        var endedMs: Double?
    }
    private var entries: [Int: Entry] = [:]

    package init() {}

    package var count: Int { entries.count }
    package func contains(_ id: Int) -> Bool { entries[id] != nil }

    /// Records request `id`'s outcome. `latency` only for responses (failures do not skew it).
    package mutating func record(id: Int, idempotent: Bool, outcome: DrillClientOutcome, latencyNanoseconds: Int64? = nil, endedMs: Double? = nil) {
        entries[id] = Entry(idempotent: idempotent, outcome: outcome, latencyNanoseconds: latencyNanoseconds, endedMs: endedMs)
    }

    /// When each request ended (for the throughput curve).
    package var endsMs: [Double] { entries.values.compactMap(\.endedMs) }

    /// Every lost request (`DrillFate.isLost`) at the time it ended, labelled with its fate.
    package func lossMarks(processed: [Int: Int]) -> [DrillTimeline.Mark] {
        entries.compactMap { id, entry -> DrillTimeline.Mark? in
            let fate = DrillFate.decide(entry.outcome, timesProcessed: processed[id] ?? 0, idempotent: entry.idempotent)
            guard fate.isLost else { return nil }
            return DrillTimeline.Mark(atMs: entry.endedMs ?? 0, label: fate.rawValue)
        }.sorted { $0.atMs < $1.atMs }
    }

    /// Ids the client saw no answer for (hung or failed without a response), to check against
    /// what a partitioned server had taken.
    package func unanswered() -> Set<Int> {
        Set(entries.compactMap { id, entry in
            if case .response = entry.outcome { return nil }
            return id
        })
    }

    /// - Parameters:
    ///   - processed: how often each request id reached a server's handler (missing: never).
    ///   - resent: the client's own re-send count for the phase.
    ///   - elapsed: load time, for the rate.
    package func tally(processed: [Int: Int], resent: Int, elapsed: Duration) -> DrillTally {
        var t = DrillTally()
        var latencies: [Int64] = []
        latencies.reserveCapacity(entries.count)
        for (id, entry) in entries {
            let fate = DrillFate.decide(entry.outcome, timesProcessed: processed[id] ?? 0, idempotent: entry.idempotent)
            t.requests += 1
            t.fates[fate.rawValue, default: 0] += 1
            switch fate {
            case .ok: t.ok += 1
            case .failedReported, .failedIdempotent, .failedUnprocessed, .falseClaim: t.failed += 1
            case .lostSilently, .duplicated: t.silent += 1
            }
            if fate == .failedUnprocessed { t.unprocessed += 1 }
            if fate.isLost { t.lost += 1 }
            if case .failed(let f) = entry.outcome { t.errors[f.code, default: 0] += 1 }
            if fate == .ok, let ns = entry.latencyNanoseconds { latencies.append(ns) }
        }
        t.resent = resent
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        t.rps = seconds > 0 ? Double(t.requests) / seconds : 0
        latencies.sort()
        t.p50Ms = Self.percentile(latencies, 0.50)
        t.p99Ms = Self.percentile(latencies, 0.99)
        return t
    }

    /// Nearest-rank percentile in milliseconds (0 for no samples).
    package static func percentile(_ sorted: [Int64], _ p: Double) -> Double {
        Latency.percentileMs(sorted, p)
    }
}

/// One phase's (or one mode's) counts. `ok + failed + silent == requests` always.
package struct DrillTally: Sendable, Hashable, Codable {
    package var requests = 0
    package var ok = 0
    /// Re-sends the client made (a request can be re-sent more than once).
    package var resent = 0
    /// Ended with a typed error.
    package var failed = 0
    /// Of `failed`: provably unprocessed (what a GOAWAY cost).
    package var unprocessed = 0
    /// Lost silently: no answer, a wrong answer, a duplicated POST.
    package var silent = 0
    /// See `DrillFate.isLost`: failed although re-sending was safe, plus `silent`.
    package var lost = 0
    package var rps = 0.0
    package var p50Ms = 0.0
    package var p99Ms = 0.0
    /// Typed errors by code.
    package var errors: [String: Int] = [:]
    /// Requests by `DrillFate`.
    package var fates: [String: Int] = [:]

    package init() {}

    /// Every request is exactly one of ok / failed / silent.
    package var addsUp: Bool {
        ok + failed + silent == requests && fates.values.reduce(0, +) == requests
    }

    /// Sums counts (rates add; latencies are the worst of the parts, as a conservative summary).
    package static func + (a: DrillTally, b: DrillTally) -> DrillTally {
        var t = a
        t.requests += b.requests
        t.ok += b.ok
        t.resent += b.resent
        t.failed += b.failed
        t.unprocessed += b.unprocessed
        t.silent += b.silent
        t.lost += b.lost
        t.p50Ms = max(a.p50Ms, b.p50Ms)
        t.p99Ms = max(a.p99Ms, b.p99Ms)
        t.errors.merge(b.errors, uniquingKeysWith: +)
        t.fates.merge(b.fates, uniquingKeysWith: +)
        return t
    }
}
