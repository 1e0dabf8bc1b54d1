/// The connection's timers (idle, max age, the drain's notice and grace, the keepalive PING and its
/// ack, the header and stall deadlines), kept as deadlines: the shell arms one timer at the
/// earliest (`nextDeadline`) and reports it with `.timersDue`.
extension ServerConnectionStateMachine {
    /// The timers a connection runs, each at most once, as deadlines.
    struct Deadlines: Sendable, Equatable {
        var at: [Instant?] = Array(repeating: nil, count: ServerConnectionTimer.allCases.count)
        subscript(timer: ServerConnectionTimer) -> Instant? {
            get { at[timer.index] }
            set { at[timer.index] = newValue }
        }
        var earliest: Instant? {
            var first: Instant?
            for case let at? in at where first.map({ at < $0 }) ?? true { first = at }
            return first
        }
    }

    /// When `timer` is due (`nil`: not armed).
    public func deadline(_ timer: ServerConnectionTimer) -> Instant? { deadlines[timer] }

    mutating func timersDue(now: Instant, into actions: inout [Action]) {
        for timer in ServerConnectionTimer.allCases where !isClosed {
            guard let at = deadlines[timer], at <= now else { continue }
            deadlines[timer] = nil
            fire(timer, now: now, into: &actions)
        }
    }

    mutating func fire(_ timer: ServerConnectionTimer, now: Instant, into actions: inout [Action]) {
        switch timer {
        case .idle:
            guard let idle = policy.idleTimeout, case .active = state else { return }
            if !streams.isEmpty { return deadlines[.idle] = now + idle }
            let due = lastStreamActivity + idle
            if now < due { return deadlines[.idle] = due }
            beginShutdown(.idle, now: now, into: &actions)
        case .maxAge:
            shutdownRequested(.maxAge, now: now, into: &actions)
        case .notice:
            sendFinalGoAway(now: now, into: &actions)
        case .grace:
            guard case .draining(let reason, _, let since) = state else { return }
            close(reason: reason, drainStarted: since)
            actions.append(.close)
        case .keepalive:
            // Active only: no PING after a GOAWAY (the drain's own waits are bounded).
            guard let interval = policy.keepaliveInterval, !keepaliveAckPending, case .active = state else { return }
            let due = lastRead + interval
            if now < due { return deadlines[.keepalive] = due }
            keepaliveAckPending = true
            keepaliveSentAt = now
            actions.append(.sendPing(payload: Self.keepalivePingPayload))
            deadlines[.keepaliveAck] = now + policy.keepaliveTimeout
        case .keepaliveAck:
            guard keepaliveAckPending else { return }
            // The peer is gone or wedged: a drain would wait on it again, so end now.
            endNow(code: .noError, debugData: ShutdownReason.keepaliveTimeout.rawValue, reason: .keepaliveTimeout, into: &actions)
        case .header:
            switch protection.headerTimerFired(waitingForFrame: waitingForFrame, now: now) {
            case .none: break
            case .schedule(let at): deadlines[.header] = at
            case .abuse(let reason): abortForAbuse(reason, now: now, into: &actions)
            }
        case .stall:
            stallCheck(now: now, into: &actions)
        }
    }
}

extension ServerConnectionTimer {
    var index: Int {
        switch self {
        case .idle: 0
        case .maxAge: 1
        case .notice: 2
        case .grace: 3
        case .keepalive: 4
        case .keepaliveAck: 5
        case .header: 6
        case .stall: 7
        }
    }
}
