/// Request deadlines: the pool keeps one `DeadlineQueue`, the shell one timer at `nextDeadline`.
extension ClientPoolStateMachine {
    /// The request's response head arrived: its deadline no longer applies (the body has the
    /// connection's response-idle timeout).
    public mutating func responseHeadReceived(_ id: RequestID) {
        requests.modify(id) { $0.answered = true }
    }

    /// The earliest deadline of a request still waiting for its head, or of one that ended since
    /// (an early wake-up costs nothing): when the shell's one timer should fire.
    public var nextDeadline: Instant? { deadlines.next }

    /// The deadlines passed by `now` end their requests: one not on the wire and sent back for a
    /// provable reason fails `notProcessed` (`deadlinePassed`); any other fails `requestTimeout`,
    /// its stream reset if it has one (`.cancelStream`), its slot freed.
    public mutating func deadlinesDue(now: Instant) -> [Action] {
        clock = max(clock, now)
        var actions: [Action] = []
        let due: [RequestID]
        do {  // the table's reference ends here, before the loop changes the table (no copy)
            let requests = self.requests
            due = deadlines.due(now: now, isLive: { Self.awaitingHead($0, requests) })
        }
        for id in due {
            let provable = deadlinePassed(id, now: now)
            if !provable.isEmpty {
                actions += provable
                continue
            }
            if let cid = requests[id]?.connection { actions.append(.cancelStream(id, on: cid)) }
            actions.append(.fail(id, .requestTimeout))
            actions += requestFinished(id)
        }
        return actions
    }

    static func awaitingHead(_ id: RequestID, _ requests: RequestTable<Request>) -> Bool {
        requests[id].map { !$0.answered } ?? false
    }

    /// The caller's deadline passed. A request that is not on the wire (queued, or waiting for a
    /// re-send) and was sent back for a provable reason fails `notProcessed` — the truth the caller
    /// can act on; for anything else it returns `[]` and `deadlinesDue` fails it `requestTimeout`.
    public mutating func deadlinePassed(_ id: RequestID, now: Instant) -> [Action] {
        guard let r = requests[id], r.connection == nil, let reason = r.lastReason else { return [] }
        clock = max(clock, now)
        requests[id] = nil
        waiting.remove(id)
        queue.remove(id)
        return [.fail(id, .notProcessed(reason))]
    }
}
