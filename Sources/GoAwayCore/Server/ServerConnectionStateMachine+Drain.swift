/// The drain: the shutdown notice, the final GOAWAY (two-phase or answers first, see the type's
/// doc comment), the close and the hard end.
extension ServerConnectionStateMachine {

    mutating func shutdownRequested(_ reason: ShutdownReason, now: Instant, into actions: inout [Action]) {
        guard case .active = state else { return }
        beginShutdown(reason, now: now, into: &actions)
    }

    mutating func beginShutdown(_ reason: ShutdownReason, now: Instant, into actions: inout [Action]) {
        if reason == .maxRequests, maxRequestsAnswersFirst {
            state = .answering(reason: reason, lastStreamID: highestPeerStreamID, since: now)
            if streams.isEmpty { return sendFinalGoAway(now: now, into: &actions) }
            deadlines[.notice] = now + policy.answersFirstWait
            return
        }
        state = .notified(reason: reason, since: now)
        actions.append(.sendGoAway(lastStreamID: .max, code: .noError, debugData: reason.rawValue, reason: reason))
        deadlines[.notice] = now + policy.noticeWait(roundTrip: roundTrip)
        // No PING after a GOAWAY: a keepalive round in flight is no longer waited for.
        keepaliveAckPending = false
        deadlines[.keepaliveAck] = nil
    }

    /// Whether a max-requests drain answers first (`policy.maxRequestsDrain`, by peer if so).
    var maxRequestsAnswersFirst: Bool {
        switch policy.maxRequestsDrain {
        case .answersFirst: true
        case .twoPhase: false
        case .byPeer: peerIsPythonH2
        }
    }

    /// Phase two: the final GOAWAY with the real last-stream-id.
    mutating func sendFinalGoAway(now: Instant, into actions: inout [Action]) {
        let (reason, since, last): (ShutdownReason, Instant, StreamID)
        switch state {
        case .notified(let r, let s): (reason, since, last) = (r, s, highestPeerStreamID)
        case .answering(let r, let l, let s): (reason, since, last) = (r, s, l)
        case .active, .draining, .closed: return
        }
        deadlines[.notice] = nil
        actions.append(.sendGoAway(lastStreamID: last, code: reason.goAwayCode(graceful: true), debugData: reason.rawValue, reason: reason))
        if streams.isEmpty {
            close(reason: reason, drainStarted: since)
            actions.append(.close)
        } else {
            state = .draining(reason: reason, lastStreamID: last, since: since)
            deadlines[.grace] = now + (reason == .maxAge ? policy.maxAgeGrace : policy.drainGrace)
        }
    }

    /// Why the drain under way began, if one is.
    var drainReason: ShutdownReason? {
        switch state {
        case .notified(let reason, _), .draining(let reason, _, _), .answering(let reason, _, _): reason
        case .active, .closed: nil
        }
    }

    /// When the drain began, if one is under way.
    var drainStart: Instant? {
        switch state {
        case .notified(_, let since), .draining(_, _, let since), .answering(_, _, let since): since
        case .active, .closed: nil
        }
    }

    mutating func close(reason: ShutdownReason?, drainStarted: Instant?) {
        state = .closed
        closedBy = (reason, drainStarted)
        deadlines = Deadlines()
    }

    /// A protection limit was hit: one GOAWAY naming it, then close at once. No notice round: the
    /// peer is hostile or broken, and a drain would wait on it. A no-op once closed.
    mutating func abortForAbuse(_ reason: ShutdownReason, now: Instant, into actions: inout [Action]) {
        guard !isClosed else { return }
        actions.append(.protectionTriggered(reason))
        endNow(code: reason.goAwayCode(graceful: false), debugData: reason.rawValue, reason: reason, into: &actions)
    }

    /// One GOAWAY, then close at once: the last-stream-id is the highest stream we may have acted
    /// on, or the final GOAWAY's if one went out (never raised); for a connection error it
    /// replaces swift-nio-http2's own GOAWAY, whose last-stream-id is 2^31-1. A no-op once
    /// closed: no second GOAWAY.
    mutating func endNow(code: HTTP2ErrorCode, debugData: String, reason: ShutdownReason, into actions: inout [Action]) {
        let lastID: StreamID
        switch state {
        case .closed: return
        case .active, .notified: lastID = highestPeerStreamID
        case .draining(_, let id, _), .answering(_, let id, _): lastID = id
        }
        let since = drainStart
        close(reason: reason, drainStarted: since)
        actions.append(.sendGoAway(lastStreamID: lastID, code: code, debugData: debugData, reason: reason))
        actions.append(.close)
    }
}
