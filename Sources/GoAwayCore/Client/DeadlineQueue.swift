/// The requests' timeouts, one timer for the whole client instead of one per request.
///
/// Every request gets the same timeout from its arrival, so deadlines arrive in order: a FIFO
/// whose front is the next one due. `ClientPoolStateMachine` holds it (`nextDeadline`,
/// `deadlinesDue(now:)`); the shell keeps one timer at `next`; when it fires, `due` hands back the
/// requests still waiting for their head, and drops the ones that ended in the meantime (ending a
/// request touches nothing here: no cancel, no search). A scheduled task per request and its
/// cancellation cost about 7,000 instructions of a 140,000-instruction request under callgrind.
///
/// Memory: finished entries are dropped from the front as requests arrive (`trim`), and the
/// whole queue is compacted when it holds more than twice the live requests (plus a slack), so
/// it stays within about twice the requests in flight, never what a peer makes it.
public struct DeadlineQueue: Sendable {
    private var entries: [Entry] = []
    private var head = 0

    struct Entry: Sendable {
        var id: RequestID
        var deadline: Instant
    }

    /// Entries above twice the live count before a compaction.
    public static let slack = 1024

    /// An empty queue.
    public init() {}

    /// Entries held (live or not yet dropped).
    public var count: Int { entries.count - head }

    /// The front's deadline: when the timer should fire.
    public var next: Instant? { head < entries.count ? entries[head].deadline : nil }

    /// A request's deadline. Never earlier than the one before (a clock that stepped back would
    /// otherwise reorder the queue): at worst it fires that much late.
    public mutating func append(_ id: RequestID, deadline: Instant) {
        let last = entries.last?.deadline ?? deadline
        entries.append(Entry(id: id, deadline: max(deadline, last)))
    }

    /// The live requests whose deadline passed at `now`, in order; finished ones at the front go too.
    public mutating func due(now: Instant, isLive: (RequestID) -> Bool) -> [RequestID] {
        var expired: [RequestID] = []
        while head < entries.count, entries[head].deadline <= now {
            if isLive(entries[head].id) { expired.append(entries[head].id) }
            head += 1
        }
        dropFinishedFront(limit: .max, isLive: isLive)
        return expired
    }

    /// On each arrival: drops up to two finished entries from the front (so a steady flow holds
    /// about what is in flight), and compacts when more than `2 * liveCount + slack` are held.
    public mutating func trim(liveCount: Int, isLive: (RequestID) -> Bool) {
        dropFinishedFront(limit: 2, isLive: isLive)
        if count > 2 * liveCount + Self.slack {
            entries = entries[head...].filter { isLive($0.id) }
            head = 0
        }
    }

    private mutating func dropFinishedFront(limit: Int, isLive: (RequestID) -> Bool) {
        var dropped = 0
        while dropped < limit, head < entries.count, !isLive(entries[head].id) {
            head += 1
            dropped += 1
        }
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
