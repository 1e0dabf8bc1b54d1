import Testing

@testable import GoAwayCore

struct ClientPoolStateMachineTests {
    typealias Pool = ClientPoolStateMachine
    let t0 = Instant.zero
    func r(_ n: Int) -> RequestID { RequestID(n) }
    func c(_ n: Int) -> ConnectionID { ConnectionID(n) }

    @Test func firstRequestOpensAConnectionAndRunsWhenReady() {
        var pool = Pool(endpointCount: 1)
        #expect(pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0) == [.connect(c(0), endpoint: 0, delay: .zero)])
        // A burst below the assumed capacity does not open more connections.
        #expect(pool.requestArrived(r(2), idempotent: true, replayable: true, now: t0) == [])
        #expect(pool.queuedRequests == [r(1), r(2)])
        #expect(pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0) == [.execute(r(1), on: c(0)), .execute(r(2), on: c(0))])
        #expect(pool.connections[c(0)]?.state == .active)
        #expect(pool.requestFinished(r(1)) == [])
        #expect(pool.connections[c(0)]?.inFlight == [r(2)])
    }

    /// A channel that comes up after the pool gave its connection up is closed; one still wanted is not.
    @Test func connectionActiveClosesWhatThePoolGaveUp() {
        var pool = Pool(endpointCount: 1)
        #expect(pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0) == [.connect(c(0), endpoint: 0, delay: .zero)])
        #expect(pool.connectionActive(c(0)) == [])
        #expect(pool.shutdown() == [.fail(r(1), .shutdown), .close(c(0))])
        #expect(pool.connections[c(0)]?.state == .closed)
        #expect(pool.connectionActive(c(0)) == [.close(c(0))])
        #expect(pool.connectionActive(c(9)) == [.close(c(9))], "unknown to the pool")
    }

    @Test func fullConnectionsQueueAndOpenAnotherUpToTheMaximum() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(maxConnectionsPerEndpoint: 2))
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        #expect(pool.connectionReady(c(0), maxConcurrentStreams: 1, now: t0) == [.execute(r(1), on: c(0))])
        // Stream limit 1 reached: queue, open a second connection (we never raise our own limit).
        #expect(pool.requestArrived(r(2), idempotent: true, replayable: true, now: t0) == [.connect(c(1), endpoint: 0, delay: .zero)])
        // The second connection is expected to take 1 stream (last known limit): r3 needs... no room left.
        #expect(pool.requestArrived(r(3), idempotent: true, replayable: true, now: t0) == [])
        #expect(pool.connectionReady(c(1), maxConcurrentStreams: 1, now: t0) == [.execute(r(2), on: c(1))])
        #expect(pool.queuedRequests == [r(3)])
        #expect(pool.requestFinished(r(1)) == [.execute(r(3), on: c(0))])
    }

    @Test func leastLoadedWithinAnEndpoint() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(maxConnectionsPerEndpoint: 2))
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 2, now: t0)
        _ = pool.requestArrived(r(2), idempotent: true, replayable: true, now: t0)
        #expect(pool.requestArrived(r(3), idempotent: true, replayable: true, now: t0) == [.connect(c(1), endpoint: 0, delay: .zero)])
        #expect(pool.connectionReady(c(1), maxConcurrentStreams: 2, now: t0) == [.execute(r(3), on: c(1))])
        _ = pool.requestFinished(r(1))
        _ = pool.requestFinished(r(2))
        // c0 has 0, c1 has 1 in flight: the next goes to c0.
        #expect(pool.requestArrived(r(4), idempotent: true, replayable: true, now: t0) == [.execute(r(4), on: c(0))])
        #expect(pool.requestArrived(r(5), idempotent: true, replayable: true, now: t0) == [.execute(r(5), on: c(0))])
    }

    @Test func roundRobinAcrossEndpoints() {
        var pool = Pool(endpointCount: 2, configuration: PoolConfiguration(minConnectionsPerEndpoint: 1))
        #expect(pool.start(now: t0) == [.connect(c(0), endpoint: 0, delay: .zero), .connect(c(1), endpoint: 1, delay: .zero)])
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 10, now: t0)
        _ = pool.connectionReady(c(1), maxConcurrentStreams: 10, now: t0)
        var used: [ConnectionID] = []
        for i in 1...4 {
            let a = pool.requestArrived(r(i), idempotent: true, replayable: true, now: t0)
            if case .execute(_, let on) = a.first { used.append(on) }
        }
        #expect(used == [c(0), c(1), c(0), c(1)])
    }

    @Test func goAwayDrainsRequeuesAboveLastIDAndMakesBeforeBreak() {
        var pool = Pool(endpointCount: 1)
        for i in 1...3 { _ = pool.requestArrived(r(i), idempotent: false, replayable: true, now: t0) }
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        // Streams 1, 3, 5; the server processed up to 3.
        #expect(pool.goAwayReceived(c(0), lastStreamID: 3, code: .noError, now: t0) == [.connect(c(1), endpoint: 0, delay: .zero)])
        #expect(pool.connections[c(0)]?.state == .draining)
        // No new streams on the draining connection.
        #expect(pool.requestArrived(r(4), idempotent: true, replayable: true, now: t0) == [])
        // Stream 5 (r3) comes back, a POST: re-queued first in line.
        #expect(pool.requestFailed(r(3), streamID: 5, lastStreamID: 3, resetCode: .cancel, now: t0) == [.requeued(r(3), .aboveLastStreamID)])
        #expect(pool.queuedRequests == [r(3), r(4)])
        #expect(pool.connectionReady(c(1), maxConcurrentStreams: 100, now: t0) == [.execute(r(3), on: c(1)), .execute(r(4), on: c(1))])
        // A bounce off a draining connection is not an attempt the server judged.
        #expect(pool.attempt(of: r(3)) == Attempt(sends: 1, unsent: 1))
        // Streams <= last-id run to their end; then the drained connection closes.
        #expect(pool.requestFinished(r(1)) == [])
        #expect(pool.requestFinished(r(2)) == [.close(c(0))])
        #expect(pool.connectionClosed(c(0), now: t0) == [])
        #expect(pool.connections[c(0)] == nil)
    }

    @Test func shutdownNoticeOpensReplacementButKeepsAllStreams() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: false, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        #expect(pool.goAwayReceived(c(0), lastStreamID: .max, code: .noError, now: t0) == [.connect(c(1), endpoint: 0, delay: .zero)])
        // Second GOAWAY with the real id: no second replacement.
        #expect(pool.goAwayReceived(c(0), lastStreamID: 1, code: .noError, now: t0) == [])
        #expect(pool.connections[c(0)]?.lastStreamID == 1)
        #expect(pool.requestFinished(r(1)) == [.close(c(0))])
    }

    @Test func raisedLastStreamIDKeepsTheLowerOne() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: false, replayable: true, now: t0)
        _ = pool.requestArrived(r(2), idempotent: false, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        _ = pool.goAwayReceived(c(0), lastStreamID: 1, code: .noError, now: t0)
        _ = pool.goAwayReceived(c(0), lastStreamID: 101, code: .noError, now: t0)  // peer violation
        #expect(pool.connections[c(0)]?.lastStreamID == 1)
        // Even if the shell reports the raised id, the pool uses the lower one: stream 3 was not processed.
        #expect(pool.requestFailed(r(2), streamID: 3, lastStreamID: 101, resetCode: nil, now: t0) == [.requeued(r(2), .aboveLastStreamID)])
    }

    @Test func goAwayWhileConnectingAndBeforeSettings() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: false, replayable: true, now: t0)
        // GOAWAY(last-id 0) before SETTINGS: the connection never serves; a replacement opens.
        // Nothing runs on it, so it is closed at once.
        #expect(pool.goAwayReceived(c(0), lastStreamID: 0, code: .noError, now: t0) == [.connect(c(1), endpoint: 0, delay: .zero), .close(c(0))])
        // A late SETTINGS does not revive it.
        #expect(pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0) == [])
        #expect(pool.connections[c(0)]?.state == .closed)
        #expect(pool.connectionReady(c(1), maxConcurrentStreams: 100, now: t0) == [.execute(r(1), on: c(1))])
        #expect(pool.connectionClosed(c(0), now: t0) == [])
    }

    @Test func refusedStreamIsRequeuedAnyMethod() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: false, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        // Refused by a live server: a jittered back-off (10 ms ±50%) first, then the re-send.
        let first = pool.requestFailed(r(1), streamID: 1, lastStreamID: nil, resetCode: .refusedStream, now: t0)
        guard case .retryAfter(r(1), let delay) = first.first, first.count == 1 else { Issue.record("\(first)"); return }
        #expect(delay >= .milliseconds(5) && delay <= .milliseconds(15))
        #expect(pool.retryDue(r(1), now: t0 + delay) == [.requeued(r(1), .refusedStream), .execute(r(1), on: c(0))])
    }

    @Test func connectionLostGetResentOncePostPossiblyProcessed() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        _ = pool.requestArrived(r(2), idempotent: false, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        _ = pool.goAwayReceived(c(0), lastStreamID: 3, code: .noError, now: t0)  // opens c1
        #expect(pool.connectionClosed(c(0), now: t0) == [])
        #expect(pool.requestFailed(r(1), streamID: 1, lastStreamID: 3, resetCode: nil, now: t0) == [.requeued(r(1), .idempotentAfterConnectionLoss)])
        #expect(pool.requestFailed(r(2), streamID: 3, lastStreamID: 3, resetCode: nil, now: t0) == [.fail(r(2), .possiblyProcessed)])
        #expect(pool.connections[c(0)] == nil)
        #expect(pool.connectionReady(c(1), maxConcurrentStreams: 100, now: t0) == [.execute(r(1), on: c(1))])
        // The re-send fails the same way: no second possibly-processed re-send.
        _ = pool.connectionClosed(c(1), now: t0)
        let a = pool.requestFailed(r(1), streamID: 1, lastStreamID: nil, resetCode: nil, now: t0)
        #expect(a == [.fail(r(1), .possiblyProcessed)])
        #expect(pool.requestCount == 0)
    }

    @Test func notReplayableBodyFailsNotProcessed() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: false, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        pool.bodyNoLongerReplayable(r(1))
        _ = pool.goAwayReceived(c(0), lastStreamID: 0, code: .noError, now: t0)
        #expect(pool.requestFailed(r(1), streamID: 1, lastStreamID: 0, resetCode: nil, now: t0).contains(.fail(r(1), .notProcessed(.aboveLastStreamID))))
    }

    @Test func drainBouncesSpendTheUnsentCapNotTheAttemptBudget() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(retry: RetryPolicy(maxAttempts: 2, maxUnsentRequeues: 3)))
        _ = pool.requestArrived(r(1), idempotent: false, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        var cid = 0
        var last: [Pool.Action] = []
        for round in 1...4 {
            // The connection sends the 2^31-1 notice, then refuses the racing stream.
            _ = pool.goAwayReceived(c(cid), lastStreamID: .max, code: .noError, now: t0)
            last = pool.requestFailed(r(1), streamID: 1, lastStreamID: .max, resetCode: .refusedStream, now: t0)
            cid += 1
            if round < 4 { _ = pool.connectionReady(c(cid), maxConcurrentStreams: 100, now: t0) }
        }
        #expect(last.contains(.fail(r(1), .notProcessed(.refusedStream))))
    }

    @Test func budgetLimitsNotProcessedResends() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(retry: RetryPolicy(maxAttempts: 3)))
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        // No deadline: `maxAttempts` sends at most.
        var last: [Pool.Action] = []
        for _ in 0..<3 {
            last = pool.requestFailed(r(1), streamID: 1, lastStreamID: nil, resetCode: .refusedStream, now: t0)
            if case .retryAfter(let id, _) = last.first { _ = pool.retryDue(id, now: t0) }
        }
        #expect(last == [.fail(r(1), .notProcessed(.refusedStream))])
        #expect(pool.requestCount == 0)
    }

    /// A small discrete-event run: every stream the pool sends is refused with probability
    /// `refuse` (at once, same instant), else answered; `.retryAfter` fires at its time.
    struct Run {
        var succeeded = 0
        var failed: [RequestFailure] = []
        var sends = 0
        var resends = 0
        var end = Instant.zero
    }

    func simulate(requests n: Int, refuse: Double, deadline: Duration?, seed: UInt64) -> Run {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(maxConnectionsPerEndpoint: 1, seed: seed))
        var rng = JitterRandom(seed: seed)
        var run = Run()
        var now = t0
        var timers: [(Instant, RequestID)] = []
        var work: [Pool.Action] = []
        var stream: Int32 = 1
        for i in 1...n { work += pool.requestArrived(r(i), idempotent: false, replayable: true, deadline: deadline.map { now + $0 }, now: now) }
        work += pool.connectionReady(c(0), maxConcurrentStreams: 100, now: now)
        while true {
            while !work.isEmpty {
                switch work.removeFirst() {
                case .execute(let id, _):
                    run.sends += 1
                    stream += 2
                    if rng.nextUnit() < refuse {
                        work += pool.requestFailed(id, streamID: StreamID(stream), lastStreamID: nil, resetCode: .refusedStream, now: now)
                    } else {
                        run.succeeded += 1
                        work += pool.requestFinished(id)
                    }
                case .retryAfter(let id, let delay): timers.append((now + delay, id))
                case .fail(_, let why): run.failed.append(why)
                case .requeued: run.resends += 1
                default: break
                }
            }
            guard let next = timers.indices.min(by: { timers[$0].0 < timers[$1].0 }) else { break }
            let (at, id) = timers.remove(at: next)
            now = max(now, at)
            if let d = deadline, now >= t0 + d {
                // The shell's timeout: what waits for a re-send fails notProcessed.
                work += pool.deadlinePassed(id, now: now)
            }
            work += pool.retryDue(id, now: now)
        }
        run.end = now
        return run
    }

    /// 20% of streams refused at random: with a deadline, every request completes; the budget
    /// (20% of streams + 10/s) pays for the re-sends.
    @Test(arguments: [1, 2, 3] as [UInt64])
    func twentyPercentRefusedLosesNothing(seed: UInt64) {
        let run = simulate(requests: 5000, refuse: 0.2, deadline: .seconds(30), seed: seed)
        #expect(run.failed.isEmpty, "\(run.failed.count) failed")
        #expect(run.succeeded == 5000)
        #expect(run.resends == run.sends - 5000)
    }

    /// Everything refused: 200 requests with a 5 s deadline end by it as notProcessed, and the
    /// budget bounds the streams: 200 + the reserve (100) + 10/s × 5 s + 20% of the streams.
    @Test func everythingRefusedEndsByTheDeadlineWithBoundedStreams() {
        let run = simulate(requests: 200, refuse: 1, deadline: .seconds(5), seed: 7)
        #expect(run.succeeded == 0)
        #expect(run.failed.count == 200)
        #expect(run.failed.allSatisfy { $0 == .notProcessed(.refusedStream) })
        #expect(run.end <= t0 + .seconds(5))
        #expect(run.sends <= 200 + Int((100 + 50 + 0.2 * 200) / 0.8) + 1, "\(run.sends) streams")
        #expect(run.sends > 300, "the budget was used: \(run.sends)")
    }

    /// Without a budget the same run would send thousands: check the budget is what bounds it.
    @Test func aLargerBudgetSendsMore() {
        var config = PoolConfiguration(maxConnectionsPerEndpoint: 1)
        config.retry.budget = RetryBudget.Configuration(ratio: 0.2, minPerSecond: 1000)
        var pool = Pool(endpointCount: 1, configuration: config)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, deadline: t0 + .seconds(5), now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        #expect(pool.budget.tokens >= 1000)
    }

    @Test func connectFailuresBackOffThenFailTheQueue() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(retry: RetryPolicy(maxAttempts: 3),
            backoff: Backoff(initial: .milliseconds(100), jitter: 0)))
        _ = pool.requestArrived(r(1), idempotent: false, replayable: true, now: t0)
        #expect(pool.connectFailed(c(0), now: t0) == [.connect(c(1), endpoint: 0, delay: .milliseconds(100))])
        #expect(pool.connectFailed(c(1), now: t0) == [.connect(c(2), endpoint: 0, delay: .milliseconds(200))])
        #expect(pool.connectFailed(c(2), now: t0) == [.fail(r(1), .connectionFailed)])
        #expect(pool.connections.isEmpty)
        #expect(pool.isCircuitOpen(endpoint: 0) && pool.isUnreachable)
        // The circuit is open: later demand fails at once and starts one backed-off probe attempt.
        #expect(pool.requestArrived(r(2), idempotent: false, replayable: true, now: t0)
            == [.fail(r(2), .connectionFailed), .connect(c(3), endpoint: 0, delay: .milliseconds(400))])
        // While the probe is on its way, arrivals fail without another attempt.
        #expect(pool.requestArrived(r(3), idempotent: false, replayable: true, now: t0) == [.fail(r(3), .connectionFailed)])
        // The probe connects: the circuit closes and requests run again.
        #expect(pool.connectionReady(c(3), maxConcurrentStreams: 10, now: t0) == [])
        #expect(!pool.isCircuitOpen(endpoint: 0))
        #expect(pool.requestArrived(r(4), idempotent: false, replayable: true, now: t0) == [.execute(r(4), on: c(3))])
    }

    /// A back-off ends in a pool event: the pool says whether to dial (`connectDue`), once.
    @Test func connectDueDialsWhatThePoolStillWants() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(backoff: Backoff(initial: .milliseconds(100), jitter: 0)))
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        #expect(pool.connections[c(0)]?.backingOff == false, "no delay: dialed at once")
        #expect(pool.connectFailed(c(0), now: t0) == [.connect(c(1), endpoint: 0, delay: .milliseconds(100))])
        #expect(pool.connections[c(1)]?.backingOff == true)
        let due = t0 + .milliseconds(100)
        #expect(pool.connectDue(c(1), now: due) == [.connect(c(1), endpoint: 0, delay: .zero)])
        #expect(pool.connectDue(c(1), now: due) == [], "dialed already")
        #expect(pool.connectionReady(c(1), maxConcurrentStreams: 10, now: due) == [.execute(r(1), on: c(1))])
        #expect(pool.connectDue(c(1), now: due) == [], "a late call leaves an active connection alone")
        #expect(pool.connections[c(1)]?.state == .active)
    }

    /// Shutdown during a back-off: the connection was never dialed, so it is dropped at once
    /// (no `.close`, no wait for the back-off) and `connectDue` dials nothing.
    @Test func shutdownDuringABackOffDropsTheConnection() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(backoff: Backoff(initial: .seconds(3), jitter: 0)))
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        #expect(pool.connectFailed(c(0), now: t0) == [.connect(c(1), endpoint: 0, delay: .seconds(3))])
        #expect(pool.shutdown() == [.fail(r(1), .shutdown), .shutdownComplete])
        #expect(pool.connections.isEmpty)
        #expect(pool.connectDue(c(1), now: t0 + .seconds(3)) == [])
    }

    /// Its address leaves the DNS answer during the back-off: dropped (no `.close`), the slot
    /// serves the new address, and `connectDue` dials nothing for it.
    @Test func addressGoneDuringABackOffDropsTheConnection() {
        var pool = Pool(services: [.resolved], configuration: PoolConfiguration(backoff: Backoff(initial: .milliseconds(100), jitter: 0)))
        _ = pool.start(now: t0)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        #expect(pool.addressesResolved(service: 0, addresses: ["10.0.0.1"], now: t0) == [.connect(c(0), endpoint: 0, delay: .zero)])
        #expect(pool.connectFailed(c(0), now: t0).contains(.connect(c(1), endpoint: 0, delay: .milliseconds(100))))
        #expect(pool.addressesResolved(service: 0, addresses: ["10.0.0.2"], now: t0) == [.connect(c(2), endpoint: 0, delay: .zero)])
        #expect(pool.address(ofEndpoint: 0) == "10.0.0.2")
        #expect(pool.connections[c(1)] == nil)
        #expect(pool.connectDue(c(1), now: t0 + .milliseconds(100)) == [])
        #expect(pool.connectionReady(c(2), maxConcurrentStreams: 10, now: t0) == [.execute(r(1), on: c(2))])
    }

    /// A host name: no endpoint until the first answer, re-resolved when a connection is replaced
    /// after a GOAWAY or a failure; new addresses join, gone ones leave (their connections drain).
    @Test func resolvedServiceFollowsTheAnswer() {
        var pool = Pool(services: [.resolved])
        #expect(pool.start(now: t0) == [.resolve(service: 0)])
        #expect(pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0) == [], "waits for the answer")
        #expect(pool.addressesResolved(service: 0, addresses: ["10.0.0.1"], now: t0) == [.connect(c(0), endpoint: 0, delay: .zero)])
        #expect(pool.address(ofEndpoint: 0) == "10.0.0.1")
        #expect(pool.connectionReady(c(0), maxConcurrentStreams: 10, now: t0) == [.execute(r(1), on: c(0))])
        // GOAWAY: replacement wanted (r1 still runs), and the name is asked again; the replacement
        // waits for the answer (bounded), so it goes where the name points now.
        let actions = pool.goAwayReceived(c(0), lastStreamID: 1, code: .noError, now: t0)
        #expect(actions == [.resolve(service: 0), .replacementDue(service: 0, after: Pool.replacementResolveBound)], "\(actions)")
        // A request meanwhile waits too: no connection to the old address.
        #expect(pool.requestArrived(r(2), idempotent: true, replayable: true, now: t0) == [])
        // The answer moved: 10.0.0.1 leaves (its draining connection stays until r1 ends), 10.0.0.2
        // joins, and the replacement (which takes r2) goes there.
        let moved = pool.addressesResolved(service: 0, addresses: ["10.0.0.2"], now: t0)
        #expect(moved == [.connect(c(1), endpoint: 1, delay: .zero)], "\(moved)")
        #expect(pool.replacementDue(service: 0, now: t0) == [], "the bound passing later changes nothing")
        #expect(pool.liveEndpoints.map { pool.address(ofEndpoint: $0) } == ["10.0.0.2"])
        #expect(pool.requestFinished(r(1)) == [.close(c(0))])
        // Both again: 10.0.0.1 rejoins in the retired slot nothing uses any more.
        _ = pool.addressesResolved(service: 0, addresses: ["10.0.0.2", "10.0.0.1"], now: t0)
        #expect(Set(pool.liveEndpoints.map { pool.address(ofEndpoint: $0) }) == ["10.0.0.1", "10.0.0.2"])
        #expect(pool.liveEndpoints.count == 2)
    }

    /// The re-resolution after a GOAWAY is slow or fails: the replacement opens with the last
    /// known address once the bound passed, or at once on the failure; once only.
    @Test func replacementWaitsForTheAnswerBounded() {
        for failing in [false, true] {
            var pool = Pool(services: [.resolved])
            _ = pool.start(now: t0)
            _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
            _ = pool.addressesResolved(service: 0, addresses: ["10.0.0.1"], now: t0)
            _ = pool.connectionReady(c(0), maxConcurrentStreams: 10, now: t0)
            #expect(pool.goAwayReceived(c(0), lastStreamID: 1, code: .noError, now: t0)
                == [.resolve(service: 0), .replacementDue(service: 0, after: Pool.replacementResolveBound)])
            let opened = failing ? pool.resolveFailed(service: 0, now: t0) : pool.replacementDue(service: 0, now: t0)
            #expect(opened == [.connect(c(1), endpoint: 0, delay: .zero)], "failing \(failing): \(opened)")
            // The late answer keeps the address: nothing more opens.
            #expect(pool.addressesResolved(service: 0, addresses: ["10.0.0.1"], now: t0) == [])
            #expect(pool.replacementDue(service: 0, now: t0) == [])
        }
    }

    /// A name that does not resolve: the queue fails (the shell names the DNS cause), later
    /// requests fail at once and ask again; a later answer heals it.
    @Test func unresolvableNameFailsFastAndRetries() {
        var pool = Pool(services: [.resolved])
        _ = pool.start(now: t0)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        #expect(pool.resolveFailed(service: 0, now: t0) == [.fail(r(1), .connectionFailed)])
        #expect(pool.isUnreachable)
        #expect(pool.requestArrived(r(2), idempotent: true, replayable: true, now: t0) == [.fail(r(2), .connectionFailed), .resolve(service: 0)])
        #expect(pool.requestArrived(r(3), idempotent: true, replayable: true, now: t0) == [.fail(r(3), .connectionFailed)])
        #expect(pool.addressesResolved(service: 0, addresses: ["10.0.0.9"], now: t0) == [])
        #expect(!pool.isUnreachable)
        #expect(pool.requestArrived(r(4), idempotent: true, replayable: true, now: t0) == [.connect(c(0), endpoint: 0, delay: .zero)])
    }

    /// Cancellation is a pool event: a queued request leaves the queue, a running one gets its
    /// stream reset, a waiting re-send is dropped, and a late one (already finished) changes nothing.
    @Test func cancellationIsAPoolEvent() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        _ = pool.requestArrived(r(2), idempotent: true, replayable: true, now: t0)
        #expect(pool.requestCancelled(r(2)) == [])
        #expect(pool.queuedRequests == [r(1)])
        #expect(pool.connectionReady(c(0), maxConcurrentStreams: 10, now: t0) == [.execute(r(1), on: c(0))])
        #expect(pool.requestCancelled(r(1)) == [.cancelStream(r(1), on: c(0))])
        #expect(pool.connections[c(0)]?.inFlight == [])
        #expect(pool.requestCancelled(r(1)) == [], "late: nothing left behind")
        _ = pool.requestArrived(r(3), idempotent: true, replayable: true, deadline: t0 + .seconds(5), now: t0)
        guard case .retryAfter = pool.requestFailed(r(3), streamID: 3, lastStreamID: nil, resetCode: .refusedStream, now: t0).first else {
            Issue.record("expected a backed-off re-send"); return
        }
        #expect(pool.requestCancelled(r(3)) == [])
        #expect(pool.retryDue(r(3), now: t0 + .seconds(1)) == [], "the wait ended with the request")
        #expect(pool.requestCount == 0)
    }

    /// Shutdown completes on a pool action, once, when the last connection is gone.
    @Test func shutdownCompletesWhenTheLastConnectionCloses() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 10, now: t0)
        #expect(pool.shutdown() == [], "r1 still runs")
        #expect(pool.requestFinished(r(1)) == [.close(c(0))])
        #expect(pool.connectionClosed(c(0), now: t0) == [.shutdownComplete])
        #expect(pool.connectionClosed(c(0), now: t0) == [])
        var idle = Pool(endpointCount: 1)
        #expect(idle.shutdown() == [.shutdownComplete])
    }

    /// A failing endpoint gets one attempt at a time, however many requests wait.
    @Test func failingEndpointGetsOneAttemptAtATime() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(
            maxConnectionsPerEndpoint: 8, backoff: Backoff(initial: .milliseconds(50), jitter: 0)))
        var opened: [Pool.Action] = []
        for i in 1...300 { opened += pool.requestArrived(r(i), idempotent: true, replayable: true, now: t0) }
        // A healthy endpoint: as many connections as the burst needs (100 streams assumed each).
        #expect(opened == [0, 1, 2].map { .connect(c($0), endpoint: 0, delay: .zero) })
        #expect(pool.connectFailed(c(0), now: t0) == [], "c1 and c2 are still connecting")
        #expect(pool.connectFailed(c(1), now: t0) == [])
        #expect(pool.connectFailed(c(2), now: t0) == [.connect(c(3), endpoint: 0, delay: .milliseconds(200))])
        #expect(pool.connectFailed(c(3), now: t0) == [.connect(c(4), endpoint: 0, delay: .milliseconds(400))])
        #expect(pool.queuedRequests.count == 300)
        // Fifth failure in a row (retry.maxAttempts): the circuit opens, all 300 fail with the cause.
        let failed = pool.connectFailed(c(4), now: t0)
        #expect(failed.count == 300 && failed.allSatisfy { if case .fail(_, .connectionFailed) = $0 { true } else { false } })
        #expect(pool.requestCount == 0)
    }

    /// The connect budget runs from the start of the first failed attempt: one slow failure (a
    /// connect timeout) is enough to open the circuit.
    @Test func circuitOpensWhenTheConnectBudgetIsSpent() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(connectBudget: .seconds(2)))
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        #expect(pool.connectFailed(c(0), now: t0 + .seconds(1)).count == 1, "within the budget: another attempt")
        #expect(!pool.isCircuitOpen(endpoint: 0))
        #expect(pool.connectFailed(c(1), now: t0 + .seconds(2)) == [.fail(r(1), .connectionFailed)])
        #expect(pool.isCircuitOpen(endpoint: 0))
    }

    /// One endpoint's open circuit does not fail requests another endpoint can serve.
    @Test func openCircuitOnOneEndpointLeavesTheOthers() {
        var pool = Pool(endpointCount: 2, configuration: PoolConfiguration(retry: RetryPolicy(maxAttempts: 1)))
        #expect(pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0) == [.connect(c(0), endpoint: 0, delay: .zero)])
        #expect(pool.connectFailed(c(0), now: t0) == [.connect(c(1), endpoint: 1, delay: .zero)])
        #expect(pool.isCircuitOpen(endpoint: 0) && !pool.isUnreachable)
        #expect(pool.connectionReady(c(1), maxConcurrentStreams: 10, now: t0) == [.execute(r(1), on: c(1))])
        #expect(pool.requestArrived(r(2), idempotent: true, replayable: true, now: t0) == [.execute(r(2), on: c(1))])
    }

    @Test func learnsStreamsPerConnectionAndSpreadsInsteadOfBouncing() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(maxConnectionsPerEndpoint: 4))
        for i in 1...3 { _ = pool.requestArrived(r(i), idempotent: true, replayable: true, now: t0) }
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        // The server processed 2 streams (1, 3) and GOAWAYs: budget 2 per connection learned.
        #expect(pool.goAwayReceived(c(0), lastStreamID: 3, code: .noError, now: t0) == [.connect(c(1), endpoint: 0, delay: .zero)])
        _ = pool.requestFailed(r(3), streamID: 5, lastStreamID: 3, resetCode: nil, now: t0)
        for i in 4...6 { _ = pool.requestArrived(r(i), idempotent: true, replayable: true, now: t0) }
        // 4 queued, each new connection is expected to take 2: a second one opens.
        #expect(pool.connections(in: .connecting) == [c(1), c(2)])
        #expect(pool.connectionReady(c(1), maxConcurrentStreams: 100, now: t0) == [.execute(r(3), on: c(1)), .execute(r(4), on: c(1))])
        #expect(pool.connectionReady(c(2), maxConcurrentStreams: 100, now: t0) == [.execute(r(5), on: c(2)), .execute(r(6), on: c(2))])
        // At the connection maximum, connections over budget are used rather than waiting.
        var p2 = Pool(endpointCount: 1, configuration: PoolConfiguration(maxConnectionsPerEndpoint: 1))
        _ = p2.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        _ = p2.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        _ = p2.goAwayReceived(c(0), lastStreamID: 1, code: .noError, now: t0)  // budget 1
        _ = p2.requestFinished(r(1))
        _ = p2.connectionClosed(c(0), now: t0)
        _ = p2.requestArrived(r(2), idempotent: true, replayable: true, now: t0)
        _ = p2.requestArrived(r(3), idempotent: true, replayable: true, now: t0)
        #expect(p2.connectionReady(c(1), maxConcurrentStreams: 100, now: t0) == [.execute(r(2), on: c(1)), .execute(r(3), on: c(1))])
    }

    @Test func tooManyPingsDoublesKeepalive() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(keepaliveInterval: .seconds(10)))
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        let a = pool.goAwayReceived(c(0), lastStreamID: 1, code: .enhanceYourCalm, debugData: GoAwayDebugData("too_many_pings"), now: t0)
        #expect(a.first == .keepaliveChanged(.seconds(20)))
        #expect(pool.keepaliveInterval == .seconds(20))
    }

    @Test func minimumPoolIsReplacedWithoutDemand() {
        var pool = Pool(endpointCount: 1, configuration: PoolConfiguration(minConnectionsPerEndpoint: 1))
        _ = pool.start(now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        #expect(pool.goAwayReceived(c(0), lastStreamID: 0, code: .noError, now: t0) == [.connect(c(1), endpoint: 0, delay: .zero), .close(c(0))])
    }

    @Test func idleGoAwayWithoutDemandJustCloses() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0)
        _ = pool.requestFinished(r(1))
        #expect(pool.goAwayReceived(c(0), lastStreamID: 1, code: .noError, now: t0) == [.close(c(0))])
    }

    @Test func lateEventsAreIgnored() {
        var pool = Pool(endpointCount: 1)
        #expect(pool.connectionReady(c(9), maxConcurrentStreams: 1, now: t0) == [])
        #expect(pool.goAwayReceived(c(9), lastStreamID: 0, code: .noError, now: t0) == [])
        #expect(pool.requestFailed(r(9), streamID: 1, lastStreamID: nil, resetCode: nil, now: t0) == [])
        #expect(pool.requestFinished(r(9)) == [])
        #expect(pool.connectionClosed(c(9), now: t0) == [])
    }

    @Test func cancelledQueuedRequestLeavesTheQueue() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        _ = pool.requestFinished(r(1))
        #expect(pool.queuedRequests.isEmpty)
        #expect(pool.connectionReady(c(0), maxConcurrentStreams: 100, now: t0) == [])
    }

    @Test func shutdownFailsQueuedAndClosesIdle() {
        var pool = Pool(endpointCount: 1)
        _ = pool.requestArrived(r(1), idempotent: true, replayable: true, now: t0)
        _ = pool.connectionReady(c(0), maxConcurrentStreams: 1, now: t0)
        _ = pool.requestArrived(r(2), idempotent: true, replayable: true, now: t0)  // opens c1
        #expect(pool.shutdown() == [.fail(r(2), .shutdown), .close(c(1))])
        #expect(pool.requestArrived(r(3), idempotent: true, replayable: true, now: t0) == [.fail(r(3), .shutdown)])
        #expect(pool.requestFinished(r(1)) == [.close(c(0))])
    }

    /// Drives the pool against a simulated server that GOAWAYs after N streams per connection, with
    /// random completion order: every request ends exactly once, none fails.
    @Test(arguments: [1, 3, 10])
    func simulatedGoAwayEveryN(n: Int) {
        var pool = Pool(endpointCount: 2, configuration: PoolConfiguration(maxConnectionsPerEndpoint: 4))
        var rng = JitterRandom(seed: UInt64(n))
        var nextStream: [ConnectionID: Int32] = [:]
        var streamOf: [RequestID: (ConnectionID, Int32)] = [:]
        var accepted: [ConnectionID: Int] = [:]
        var pendingConnects: [ConnectionID] = []
        var succeeded = Set<RequestID>(), failed = Set<RequestID>(), requeues = 0
        var failures: [RequestFailure] = []
        var work: [Pool.Action] = []
        let total = 300
        var arrived = 0
        var steps = 0
        func apply(_ actions: [Pool.Action]) { work.append(contentsOf: actions) }
        while (succeeded.count + failed.count < total) && steps < 100_000 {
            steps += 1
            if arrived < total && rng.nextUnit() < 0.3 {
                arrived += 1
                apply(pool.requestArrived(r(arrived), idempotent: arrived % 2 == 0, replayable: true, now: t0))
            }
            while !work.isEmpty {
                switch work.removeFirst() {
                case .connect(let id, _, _): pendingConnects.append(id)
                case .execute(let req, let cid):
                    let s = nextStream[cid, default: 1]
                    nextStream[cid] = s + 2
                    streamOf[req] = (cid, s)
                    accepted[cid, default: 0] += 1
                    if accepted[cid]! == n {
                        apply(pool.goAwayReceived(cid, lastStreamID: StreamID(s), code: .noError, now: t0))
                    } else if accepted[cid]! > n {
                        streamOf[req] = nil
                        apply(pool.requestFailed(req, streamID: StreamID(s), lastStreamID: StreamID(s - 2), resetCode: .cancel, now: t0))
                    }
                case .fail(let req, let why):
                    failed.insert(req)
                    failures.append(why)
                case .requeued: requeues += 1
                case .close(let cid): apply(pool.connectionClosed(cid, now: t0))
                case .keepaliveChanged, .resolve, .replacementDue, .cancelStream, .shutdownComplete: break
                case .retryAfter(let req, _): apply(pool.retryDue(req, now: t0))
                }
            }
            if !pendingConnects.isEmpty && rng.nextUnit() < 0.5 {
                apply(pool.connectionReady(pendingConnects.removeFirst(), maxConcurrentStreams: 5, now: t0))
            }
            if let (req, _) = streamOf.first, rng.nextUnit() < 0.6 {
                streamOf[req] = nil
                succeeded.insert(req)
                apply(pool.requestFinished(req))
            }
        }
        // Every request ends exactly once.
        #expect(succeeded.count + failed.count == total)
        #expect(succeeded.isDisjoint(with: failed))
        #expect(pool.requestCount == 0)
        if n == 1 {
            // One request per connection: an unlucky request can spend its whole budget; it then
            // fails typed and provably unprocessed.
            #expect(failures.allSatisfy { if case .notProcessed = $0 { true } else { false } })
        } else {
            #expect(failed.isEmpty)
        }
        // The learned per-connection budget keeps bounces rare.
        #expect(requeues < total / 2)
    }
}
