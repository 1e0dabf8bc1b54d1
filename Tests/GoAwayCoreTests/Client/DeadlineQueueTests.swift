import GoAwayCore
import Testing

struct DeadlineQueueTests {
    func t(_ ms: Int64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }
    func r(_ n: Int) -> RequestID { RequestID(n) }

    @Test func dueInOrderOnlyTheLiveOnes() {
        var q = DeadlineQueue()
        for i in 1...4 { q.append(r(i), deadline: t(Int64(i) * 10)) }
        #expect(q.next == t(10))
        let live: Set<Int> = [1, 3, 4]
        #expect(q.due(now: t(5), isLive: { live.contains($0.rawValue) }) == [])
        #expect(q.due(now: t(30), isLive: { live.contains($0.rawValue) }) == [r(1), r(3)])
        #expect(q.next == t(40))
        #expect(q.count == 1)
    }

    @Test func finishedFrontEntriesGoWithoutATimer() {
        var q = DeadlineQueue()
        for i in 1...3 { q.append(r(i), deadline: t(100)) }
        // 1 and 2 ended; 3 still waits: the front moves to 3, nothing is due yet.
        #expect(q.due(now: t(50), isLive: { $0 == r(3) }) == [])
        #expect(q.count == 1)
        #expect(q.next == t(100))
    }

    @Test func aDeadlineNeverPrecedesTheOneBefore() {
        var q = DeadlineQueue()
        q.append(r(1), deadline: t(20))
        q.append(r(2), deadline: t(10))  // the clock stepped back
        #expect(q.due(now: t(15), isLive: { _ in true }) == [])
        #expect(q.due(now: t(20), isLive: { _ in true }) == [r(1), r(2)])
        #expect(q.next == nil)
    }

    /// A stuck request at the front does not let finished ones pile up behind it.
    @Test func memoryStaysWithinTwiceTheLive() {
        var q = DeadlineQueue()
        q.append(r(0), deadline: t(1_000_000))  // stuck, live
        var high = 0
        for i in 1...20_000 {
            q.append(r(i), deadline: t(1_000_000))
            // Request i ends at once; only 0 and the latest are live.
            q.trim(liveCount: 2) { $0 == r(0) || $0 == r(i) }
            high = max(high, q.count)
        }
        #expect(high <= 2 * 2 + DeadlineQueue.slack + 1)
        #expect(q.due(now: t(1_000_000), isLive: { $0 == r(0) || $0 == r(20_000) }) == [r(0), r(20_000)])
    }

    @Test func steadyFlowHoldsAboutWhatIsInFlight() {
        var q = DeadlineQueue()
        var live = Set<Int>()
        var high = 0
        for i in 1...10_000 {
            live.insert(i)
            if i > 32 { live.remove(i - 32) }  // 32 in flight, finishing in order
            q.trim(liveCount: live.count) { live.contains($0.rawValue) }
            q.append(r(i), deadline: t(Int64(i)))
            high = max(high, q.count)
        }
        #expect(high <= 40)
    }
}
