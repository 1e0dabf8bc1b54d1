import Testing

@testable import GoAwayCore

/// Request timeouts decided by the pool: a deadline per request, `nextDeadline` for the shell's one
/// timer, `deadlinesDue(now:)` saying how each request ends. Virtual time, no sockets.
extension ClientPoolStateMachineTests {
    func at(_ s: Int) -> Instant { t0 + .seconds(s) }

    /// One active connection (c0) with r1 on it.
    func ready(deadline: Instant?) -> Pool {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, deadline: deadline, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        return pool
    }

    @Test func aRequestOnTheWireTimesOutAndItsStreamIsReset() {
        var pool = ready(deadline: at(5))
        #expect(pool.nextDeadline == at(5))
        #expect(pool.deadlinesDue(now: at(4)) == [])
        #expect(pool.deadlinesDue(now: at(5)) == [.cancelStream(r(1), on: c(0)), .fail(r(1), .requestTimeout)])
        #expect(pool.connections[c(0)]?.inFlight == [])
        #expect(pool.nextDeadline == nil)
        // Reported once: a late event for it changes nothing.
        #expect(pool.deadlinesDue(now: at(6)) == [])
        #expect(pool.requestFinished(r(1)) == [])
    }

    @Test func aQueuedRequestTimesOutWithoutAStream() {
        var pool = Pool(endpointCount: 1)
        #expect(pool.requestArrived(r(1), idempotent: true, replayable: true, deadline: at(2), now: t0) == [.connect(c(0), endpoint: 0, delay: .zero)])
        #expect(pool.deadlinesDue(now: at(2)) == [.fail(r(1), .requestTimeout)])
        #expect(pool.queuedRequests == [])
        // The connection comes up later: nothing left to run.
        #expect(pool.connectionReady(c(0), maxConcurrentStreams: 100, now: at(3)) == [])
    }

    @Test func aRequestWaitingForAReSendFailsNotProcessed() {
        var pool = ready(deadline: at(5))
        let first = pool.requestFailed(r(1), streamID: 1, lastStreamID: nil, resetCode: .refusedStream, now: t0)
        guard case .retryAfter(r(1), _) = first.first else {
            Issue.record("expected a re-send wait, got \(first)")
            return
        }
        #expect(pool.deadlinesDue(now: at(5)) == [.fail(r(1), .notProcessed(.refusedStream))])
        #expect(pool.retryDue(r(1), now: at(5)) == [])
    }

    @Test func anAnsweredRequestHasNoDeadline() {
        var pool = ready(deadline: at(5))
        pool.responseHeadReceived(r(1))
        #expect(pool.deadlinesDue(now: at(9)) == [])
        #expect(pool.connections[c(0)]?.inFlight == [r(1)])  // its body is still coming
        #expect(pool.requestFinished(r(1)) == [])
    }

    @Test func finishedAndCancelledRequestsAreNotReported() {
        var pool = ready(deadline: at(5))
        _ = pool.requestArrived(r(2), idempotent: true, replayable: true, deadline: at(6), now: t0)
        _ = pool.requestArrived(r(3), idempotent: true, replayable: true, deadline: at(7), now: t0)
        _ = pool.requestFinished(r(1))
        _ = pool.requestCancelled(r(2))
        #expect(pool.deadlinesDue(now: at(6)) == [])
        #expect(pool.nextDeadline == at(7))
        #expect(pool.deadlinesDue(now: at(7)) == [.cancelStream(r(3), on: c(0)), .fail(r(3), .requestTimeout)])
    }

    @Test func deadlinesComeInArrivalOrderAndAFreedSlotRunsTheQueue() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, deadline: at(1), now: t0)
        _ = pool.requestArrived(r(2), idempotent: true, replayable: true, deadline: at(2), now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 1, now: t0)
        #expect(pool.connections[c(0)]?.inFlight == [r(1)])
        // r1 times out: its slot goes to r2.
        #expect(pool.deadlinesDue(now: at(1)) == [.cancelStream(r(1), on: c(0)), .fail(r(1), .requestTimeout), .execute(r(2), on: c(0))])
        #expect(pool.nextDeadline == at(2))
    }

    @Test func withoutADeadlineNothingIsDue() {
        var pool = ready(deadline: nil)
        #expect(pool.nextDeadline == nil)
        #expect(pool.deadlinesDue(now: at(1000)) == [])
    }
}
