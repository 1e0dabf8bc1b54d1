/// Requests in the pool: arrival, the end of a request (finished, cancelled, failed before a
/// response), and what `RetryDecision` makes of a failure — re-queued now, after a back-off, or
/// failed with its typed error.
extension ClientPoolStateMachine {
    /// A request to place: sent on a connection with room, queued, or failed at once when every
    /// endpoint's circuit is open.
    ///
    /// - Parameters:
    ///   - id: the request.
    ///   - idempotent: its method is idempotent (RFC 9110 §9.2.2): a lost connection may re-send it once.
    ///   - replayable: its body can be sent again.
    ///   - deadline: when the caller stops waiting (its timeout); not-processed re-sends go on until
    ///     then, under the retry budget. `nil`: `retry.maxAttempts` bounds them.
    ///   - now: the current time.
    public mutating func requestArrived(_ id: RequestID, idempotent: Bool, replayable: Bool, deadline: Instant? = nil, now: Instant) -> [Action] {
        guard !shuttingDown else { return [.fail(id, .shutdown)] }
        clock = max(clock, now)
        if isUnreachable {
            // Fail fast with the cause; keep probing (one attempt per endpoint, backed off).
            var actions: [Action] = [.fail(id, .connectionFailed)]
            for s in services.indices { requestResolve(s, &actions) }
            for e in endpoints.indices where !endpoints[e].retired
                && !connections.values.contains(where: { $0.endpoint == e && $0.state == .connecting })
            {
                actions.append(openConnection(endpoint: e))
            }
            return actions
        }
        requests[id] = Request(idempotent: idempotent, replayable: replayable, deadline: deadline)
        if let deadline {
            let requests = self.requests  // a reference, not a copy: nothing mutates it meanwhile
            deadlines.trim(liveCount: requests.count) { Self.awaitingHead($0, requests) }
            deadlines.append(id, deadline: deadline)
        }
        queue.append(id)
        var actions: [Action] = []
        dispatch(&actions)
        return actions
    }

    /// The caller gave up on the request (task cancelled, its timeout): it leaves the queue or
    /// the re-send wait, or its stream is reset (`.cancelStream`) and its slot freed. Unknown ids
    /// (already finished) are ignored, so a late cancellation leaves nothing behind.
    public mutating func requestCancelled(_ id: RequestID) -> [Action] {
        guard let cid = requests[id]?.connection else { return requestFinished(id) }
        return [.cancelStream(id, on: cid)] + requestFinished(id)
    }

    /// The request finished (response received, or the caller cancelled it): its stream slot is free.
    public mutating func requestFinished(_ id: RequestID) -> [Action] {
        guard let r = requests.removeValue(forKey: id) else { return [] }
        waiting.remove(id)
        var actions: [Action] = []
        if let cid = r.connection {
            connections[cid]?.inFlight.remove(id)
            closeIfDrained(cid, &actions)
        } else {
            queue.remove(id)
        }
        dispatch(&actions)
        return actions
    }

    /// The request's stream failed before a response: the shell says what it knows, the pool
    /// applies `RetryDecision` and either re-queues or fails it.
    ///
    /// - Parameters:
    ///   - id: the request.
    ///   - streamID: `nil` if the request never reached the wire.
    ///   - lastStreamID: the last-stream-id the connection received, if any (the pool also keeps
    ///     the lowest one it was told about, and uses the lower of both).
    ///   - resetCode: the peer's RST_STREAM code, if it reset the stream.
    ///   - now: the current time (for back-off).
    public mutating func requestFailed(
        _ id: RequestID,
        streamID: StreamID?,
        lastStreamID: StreamID?,
        resetCode: HTTP2ErrorCode?,
        now: Instant
    ) -> [Action] {
        guard var r = requests[id] else { return [] }
        clock = max(clock, now)
        var actions: [Action] = []
        var last = lastStreamID
        var draining = lastStreamID != nil
        if let cid = r.connection {
            if let known = connections[cid]?.lastStreamID {
                last = min(last ?? known, known)
                draining = true
            }
            connections[cid]?.inFlight.remove(id)
            closeIfDrained(cid, &actions)
        }
        r.connection = nil
        // A bounce off a connection that was going away (never sent; above last-id; refused while
        // draining — swift-nio-http2 servers refuse every new stream once they sent even the
        // 2^31-1 notice) is not an attempt the server judged: it spends the `unsent` cap instead.
        let bounced = streamID == nil
            || (draining && (resetCode == .refusedStream
                || RetryDecision.notProcessedReason(streamID: streamID, lastStreamID: last, resetCode: resetCode) != nil))
        if bounced {
            r.attempt.sends -= 1
            r.attempt.unsent += 1
        }
        let decision = RetryDecision.decide(
            streamID: streamID,
            lastStreamID: last,
            resetCode: resetCode,
            idempotent: r.idempotent,
            bodyReplayable: r.replayable,
            attempt: r.attempt,
            policy: configuration.retry,
            deadlineBound: r.deadline != nil
        )
        switch decision {
        case .resend(.idempotentAfterConnectionLoss) where !shuttingDown:
            // May have been processed: once (the decision's cap), at once, outside the budget.
            r.attempt.possiblyProcessedResends += 1
            requests[id] = r
            queue.prepend(id)  // it waited already: first in line
            actions.append(.requeued(id, .idempotentAfterConnectionLoss))
        case .resend(let reason) where !shuttingDown:
            r.lastReason = reason
            requests[id] = r
            // The first bounce off a connection going away goes at once (its replacement is
            // on the way); refusals and repeated bounces back off, jittered.
            let failures = bounced ? r.attempt.unsent - 1 : r.attempt.sends
            let delay = configuration.retry.backoff.delay(afterFailures: max(0, failures), random: rng.nextUnit())
            scheduleResend(id, reason: reason, delay: delay, &actions)
        case .resend(let reason):
            requests[id] = nil
            actions.append(.fail(id, .notProcessed(reason)))
        case .fail(let failure):
            requests[id] = nil
            actions.append(.fail(id, failure))
        }
        dispatch(&actions)
        return actions
    }

    /// The request body turned out not to be replayable (a one-shot stream outgrew its replay buffer).
    public mutating func bodyNoLongerReplayable(_ id: RequestID) {
        requests[id]?.replayable = false
    }

    /// A `.retryAfter` delay is over: the request is re-sent if the retry budget has a token,
    /// waits for one otherwise, and fails `notProcessed` once its deadline cannot be met.
    public mutating func retryDue(_ id: RequestID, now: Instant) -> [Action] {
        guard waiting.remove(id) != nil, let r = requests[id], let reason = r.lastReason else { return [] }
        clock = max(clock, now)
        var actions: [Action] = []
        scheduleResend(id, reason: reason, delay: .zero, &actions)
        dispatch(&actions)
        return actions
    }

    mutating func scheduleResend(_ id: RequestID, reason: ResendReason, delay: Duration, _ actions: inout [Action]) {
        let deadline = requests[id]?.deadline
        if let deadline, clock + delay + Self.minimumTimeLeft >= deadline {
            requests[id] = nil
            actions.append(.fail(id, .notProcessed(reason)))
            return
        }
        if delay == .zero, budget.tryWithdraw(now: clock) {
            queue.prepend(id)  // it waited already: first in line
            actions.append(.requeued(id, reason))
            return
        }
        let wait = delay == .zero ? max(budget.timeUntilToken(), .milliseconds(1)) : delay
        if let deadline, clock + wait + Self.minimumTimeLeft >= deadline {
            requests[id] = nil
            actions.append(.fail(id, .notProcessed(reason)))
            return
        }
        if deadline == nil, delay == .zero {
            // No deadline to wait against: the budget's refusal is final.
            requests[id] = nil
            actions.append(.fail(id, .notProcessed(reason)))
            return
        }
        waiting.insert(id)
        actions.append(.retryAfter(id, wait))
    }
}
