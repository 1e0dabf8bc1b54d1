/// The connection's deadlines: the server's first SETTINGS, the ack of ours, keepalive and the
/// dead-peer health check (one PING at a time), and the response-idle sweep. `nextDeadline` is when
/// the shell next calls `deadlinesPassed(now:)`.
extension ClientConnectionStateMachine {
    /// What a passed deadline leads to (call `deadlinesPassed` until `.none`).
    public enum OnDeadline: Hashable, Sendable {
        case none
        /// Send PING with this payload (keepalive or health check).
        case sendPing(payload: UInt64)
        /// The connection is over: GOAWAY(code) first when `code` is set, then close.
        case failConnection(code: HTTP2ErrorCode?, reason: String)
        /// These responses went quiet: fail their bodies (`requestTimeout`), reset the streams.
        case failStreams([StreamID], reason: String)
        /// The server's first SETTINGS did not come within `settingsTimeout` (`after`): the connect
        /// failed, as a timeout. Close without GOAWAY (the server never spoke HTTP/2 to us).
        case connectTimedOut(after: Duration)
    }

    /// The earliest instant something is due, `nil` when nothing is.
    /// Asked on every re-arm (each batch of requests, each read): no arrays built (two per call
    /// were ~1,900 instructions of a request under callgrind).
    public var nextDeadline: Instant? {
        guard state.isLive, !body.closeInitiated else { return nil }
        return Self.earliest(Self.earliest(Self.earliest(body.settingsDeadline, body.settingsAckDeadline), pingDeadline(body)), body.nextSweep)
    }

    func pingDeadline(_ l: Live) -> Instant? {
        if let ping = l.ping { return ping.sentAt + configuration.pingTimeout }
        let health = l.streams.isEmpty ? nil : configuration.readIdleTimeout
        guard let interval = Self.earliest(configuration.keepaliveInterval, health) else { return nil }
        return max(l.lastRead, l.streamsOpenSince) + interval
    }

    static func earliest<T: Comparable>(_ a: T?, _ b: T?) -> T? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }

    /// Everything due at `now`, one result per call: call again until `.none`.
    public mutating func deadlinesPassed(now: Instant) -> OnDeadline {
        guard let l = live, !l.closeInitiated else { return .none }
        if let deadline = l.settingsDeadline, now >= deadline, let timeout = configuration.settingsTimeout {
            _ = connectionFailed("no SETTINGS from the server within \(timeout.short)")
            return .connectTimedOut(after: timeout)
        }
        if let deadline = l.settingsAckDeadline, now >= deadline {
            let reason = "no SETTINGS ack within \(configuration.settingsAckTimeout.short)"
            _ = connectionFailed(reason, code: .settingsTimeout)
            return .failConnection(code: .settingsTimeout, reason: reason)
        }
        if let deadline = pingDeadline(l), now >= deadline {
            if l.ping != nil {
                let reason = "no PING ack within \(configuration.pingTimeout.short) (the peer went silent)"
                _ = connectionFailed(reason)
                return .failConnection(code: nil, reason: reason)
            }
            return modify { l in
                l.pingsSent += 1
                let payload = Self.pingPayloadBase &+ l.pingsSent
                l.ping = Ping(payload: payload, sentAt: now)
                return OnDeadline.sendPing(payload: payload)
            } ?? .none
        }
        if let sweep = l.nextSweep, now >= sweep, let idle = configuration.responseIdleTimeout {
            let report = configuration.readerReportSize
            let quiet: [StreamID] = modify { l in
                l.nextSweep = now + Self.sweepEvery(idle)
                let keys = l.streams.keys, values = l.streams.values
                return keys.indices.filter { i in
                    values[i].responded && values[i].window.held <= report && now - values[i].lastProgress > idle
                }.map { keys[$0] }.sorted()
            } ?? []
            if !quiet.isEmpty { return .failStreams(quiet, reason: "no response data within \(idle.short) (responseIdleTimeout)") }
        }
        return .none
    }

    static func sweepEvery(_ idle: Duration) -> Duration { max(idle / 4, .milliseconds(1)) }
}

extension Duration {
    /// "300 ms", "20 s": the largest whole unit, as the errors have always said it.
    fileprivate var short: String {
        let ns = nanosecondsClamped
        if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000) s" }
        if ns % 1_000_000 == 0 { return "\(ns / 1_000_000) ms" }
        if ns % 1_000 == 0 { return "\(ns / 1_000) us" }
        return "\(ns) ns"
    }
}
