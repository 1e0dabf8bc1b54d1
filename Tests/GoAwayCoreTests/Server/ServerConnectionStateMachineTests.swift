import Testing

@testable import GoAwayCore

private typealias SM = ServerConnectionStateMachine

private func t(_ seconds: Double) -> Instant { Instant(nanoseconds: Int64(seconds * 1e9)) }

private let notice = SM.Action.sendGoAway(lastStreamID: .max, code: .noError, debugData: "shutdown", reason: .shutdown)

private func policy(
    idle: Duration? = nil,
    maxAge: Duration? = nil,
    maxRequests: Int? = nil,
    keepalive: Duration? = nil
) -> ServerConnectionPolicy {
    ServerConnectionPolicy(
        idleTimeout: idle,
        maxAge: maxAge,
        maxAgeGrace: .seconds(7),
        maxRequestsPerConnection: maxRequests,
        pingAckTimeout: .seconds(2),
        drainGrace: .seconds(10),
        keepaliveInterval: keepalive,
        keepaliveTimeout: .seconds(3),
        minimumPeerPingInterval: .seconds(10),
        maxPingStrikes: 2
    )
}

@Suite("Server connection: two-phase drain")
struct ServerDrainTests {
    @Test func shutdownSendsNoticeAndPingThenFinalGoAwayOnAck() {
        var sm = SM(policy: policy(), now: t(0))
        #expect(sm.streamOpened(1, now: t(0)).isEmpty)
        #expect(sm.streamOpened(3, now: t(0)).isEmpty)

        #expect(sm.shutdownRequested(.shutdown, now: t(1)) == [notice, .schedule(.notice, at: t(3))])
        #expect(sm.state == .notified(reason: .shutdown, since: t(1)))

        #expect(
            sm.timerFired(.notice, now: t(1.1)) == [
                .cancel(.notice),
                .sendGoAway(lastStreamID: 3, code: .noError, debugData: "shutdown", reason: .shutdown),
                .schedule(.grace, at: t(11.1)),
            ])
        #expect(sm.state == .draining(reason: .shutdown, lastStreamID: 3, since: t(1)))

        #expect(sm.streamClosed(1, now: t(2)).isEmpty)
        #expect(sm.streamClosed(3, now: t(2.5)) == [.close(reason: .shutdown, drainStarted: t(1))])
        #expect(sm.state == .closed)
    }

    @Test func noticeTimerSendsTheFinalGoAwayThenGraceBoundsTheDrain() {
        var sm = SM(policy: policy(), now: t(0))
        _ = sm.streamOpened(1, now: t(0))
        _ = sm.shutdownRequested(.shutdown, now: t(5))
        // No round trip measured: the notice phase lasts its cap (pingAckTimeout, 2 s).
        #expect(
            sm.timerFired(.notice, now: t(7)) == [
                .cancel(.notice),
                .sendGoAway(lastStreamID: 1, code: .noError, debugData: "shutdown", reason: .shutdown),
                .schedule(.grace, at: t(17)),
            ])
        // The stream never ends either: the grace deadline closes the connection.
        #expect(sm.timerFired(.grace, now: t(17)) == [.close(reason: .shutdown, drainStarted: t(5))])
        #expect(sm.state == .closed)
        // A late timer changes nothing.
        #expect(sm.timerFired(.notice, now: t(18)).isEmpty)
    }

    @Test func secondShutdownRequestIsANoOp() {
        var sm = SM(policy: policy(), now: t(0))
        _ = sm.streamOpened(1, now: t(0))
        _ = sm.shutdownRequested(.shutdown, now: t(1))
        #expect(sm.shutdownRequested(.shutdown, now: t(1.5)).isEmpty)
        #expect(sm.shutdownRequested(.maxAge, now: t(1.5)).isEmpty)
        _ = sm.timerFired(.notice, now: t(2))
        #expect(sm.shutdownRequested(.shutdown, now: t(3)).isEmpty)
        #expect(sm.state == .draining(reason: .shutdown, lastStreamID: 1, since: t(1)))
    }

    @Test func streamOpenedBetweenTheTwoGoAwaysIsServedAndCounted() {
        var sm = SM(policy: policy(), now: t(0))
        _ = sm.streamOpened(1, now: t(0))
        _ = sm.shutdownRequested(.shutdown, now: t(1))
        // Races the notice: accepted, it becomes the final last-stream-id, and the notice wait
        // starts again from it (no round trip measured: the cap, from the notice at t=1).
        #expect(sm.streamOpened(5, now: t(1.01)) == [.schedule(.notice, at: t(3))])
        let final = sm.timerFired(.notice, now: t(1.02))
        #expect(final.contains(.sendGoAway(lastStreamID: 5, code: .noError, debugData: "shutdown", reason: .shutdown)))
        // After the final GOAWAY a new stream above it is refused, never processed.
        #expect(sm.streamOpened(7, now: t(1.03)) == [.refuseStream(7)])
        #expect(sm.openStreams == 2)
    }

    @Test func lastStreamIDIsNeverRaised() {
        // Whatever the order of events, GOAWAY ids sent never increase.
        var sm = SM(policy: policy(keepalive: .seconds(1)), now: t(0))
        var sent: [StreamID] = []
        func record(_ actions: [SM.Action]) {
            for case .sendGoAway(let id, _, _, _) in actions { sent.append(id) }
        }
        record(sm.streamOpened(1, now: t(0)))
        record(sm.shutdownRequested(.shutdown, now: t(1)))
        record(sm.streamOpened(3, now: t(1.1)))
        record(sm.timerFired(.notice, now: t(3)))
        record(sm.streamOpened(9, now: t(3.1)))  // refused
        record(sm.timerFired(.keepalive, now: t(4)))  // draining: no PING after a GOAWAY
        record(sm.timerFired(.keepaliveAck, now: t(8)))
        record(sm.abort(.pingFlood, now: t(9)))
        #expect(sent == [.max, 3, 3])
        #expect(zip(sent, sent.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test func noOpenStreamsClosesRightAfterFinalGoAway() {
        var sm = SM(policy: policy(), now: t(0))
        _ = sm.shutdownRequested(.shutdown, now: t(1))
        #expect(
            sm.timerFired(.notice, now: t(1.001)) == [
                .cancel(.notice),
                .sendGoAway(lastStreamID: .root, code: .noError, debugData: "shutdown", reason: .shutdown),
                .close(reason: .shutdown, drainStarted: t(1)),
            ])
    }

    @Test func unrelatedPingAckIsIgnored() {
        var sm = SM(policy: policy(), now: t(0))
        _ = sm.shutdownRequested(.shutdown, now: t(1))
        #expect(sm.pingAckReceived(payload: 42, now: t(1.1)).isEmpty)
        #expect(sm.state == .notified(reason: .shutdown, since: t(1)))
    }

    @Test func peerGoAwayClosesOnceStreamsFinish() {
        var sm = SM(policy: policy(), now: t(0))
        _ = sm.streamOpened(1, now: t(0))
        #expect(sm.peerGoAwayReceived(lastStreamID: 0, code: .noError, now: t(1)).isEmpty)
        #expect(sm.streamClosed(1, now: t(2)) == [.close(reason: .peerGoAway, drainStarted: nil)])

        var idle = SM(policy: policy(), now: t(0))
        #expect(idle.peerGoAwayReceived(lastStreamID: 0, code: .noError, now: t(1)) == [.close(reason: .peerGoAway, drainStarted: nil)])
    }

    @Test func connectionClosedCancelsEveryTimer() {
        var sm = SM(policy: policy(), now: t(0))
        let actions = sm.connectionClosed()
        #expect(Set(actions.compactMap { if case .cancel(let timer) = $0 { timer } else { nil } }) == Set(ServerConnectionTimer.allCases))
        #expect(sm.isClosed)
        #expect(sm.timerFired(.idle, now: t(1)).isEmpty)
    }
}

@Suite("Server connection: limits")
struct ServerLimitTests {
    @Test func maxRequestsAnswersFirstThenOneGoAway() {
        var sm = SM(policy: policy(maxRequests: 3), now: t(0))
        #expect(sm.streamOpened(1, now: t(0)).isEmpty)
        #expect(sm.streamOpened(3, now: t(0)).isEmpty)
        // Nothing is sent yet: the GOAWAY waits for the answers (at most answersFirstWait, 1 s).
        #expect(sm.streamOpened(5, now: t(1)) == [.schedule(.notice, at: t(2))])
        #expect(sm.state == .answering(reason: .maxRequests, lastStreamID: 5, since: t(1)))
        // A stream opened meanwhile is held unprocessed: it falls above the GOAWAY's last id.
        #expect(sm.streamOpened(7, now: t(1.1)) == [.holdStream(7)])
        #expect(sm.requestCount == 3)
        #expect(sm.streamClosed(1, now: t(1.2)).isEmpty)
        #expect(sm.streamClosed(3, now: t(1.2)).isEmpty)
        // The last answer; one notice wait later (no round trip measured: the 2 s cap) one
        // GOAWAY(5), then close.
        #expect(sm.streamClosed(5, now: t(1.3)) == [.schedule(.notice, at: t(3.3))])
        #expect(
            sm.timerFired(.notice, now: t(3.3)) == [
                .cancel(.notice),
                .sendGoAway(lastStreamID: 5, code: .noError, debugData: "max_requests", reason: .maxRequests),
                .close(reason: .maxRequests, drainStarted: t(1)),
            ])
    }

    @Test func maxRequestsAnswersFirstIsBounded() {
        var sm = SM(policy: policy(maxRequests: 1), now: t(0))
        #expect(sm.streamOpened(1, now: t(0)) == [.schedule(.notice, at: t(1))])
        // The answer takes longer than answersFirstWait: the GOAWAY goes out, the grace follows.
        #expect(
            sm.timerFired(.notice, now: t(1)) == [
                .cancel(.notice),
                .sendGoAway(lastStreamID: 1, code: .noError, debugData: "max_requests", reason: .maxRequests),
                .schedule(.grace, at: t(11)),
            ])
        #expect(sm.streamOpened(3, now: t(1.5)) == [.refuseStream(3)])
    }

    @Test func maxRequestsTwoPhaseWhenConfigured() {
        var p = policy(maxRequests: 3)
        p.maxRequestsDrain = .twoPhase
        var sm = SM(policy: p, now: t(0))
        _ = sm.streamOpened(1, now: t(0))
        _ = sm.streamOpened(3, now: t(0))
        #expect(
            sm.streamOpened(5, now: t(1)) == [
                .sendGoAway(lastStreamID: .max, code: .noError, debugData: "max_requests", reason: .maxRequests),
                .schedule(.notice, at: t(3)),
            ])
        // Streams racing the notice are served, not counted as a second trigger.
        #expect(sm.streamOpened(7, now: t(1.1)) == [.schedule(.notice, at: t(3))])
        #expect(sm.requestCount == 4)
    }

    @Test func racingStreamsPushTheFinalGoAwayBackUpToTheCap() {
        var sm = SM(policy: policy(), now: t(0))
        _ = sm.started(now: t(0), jitter: 0)
        sm.settingsAckReceived(now: t(0.1))  // 100 ms round trip: notice wait 200 ms
        _ = sm.shutdownRequested(.shutdown, now: t(10))
        #expect(sm.streamOpened(1, now: t(10.1)) == [.schedule(.notice, at: t(10.3))])
        #expect(sm.streamOpened(3, now: t(11.9)) == [.schedule(.notice, at: t(12))], "capped at pingAckTimeout (2 s)")
    }

    @Test(arguments: [
        // round trip (ms) → notice phase (ms): 2 round trips within [50 ms, 2 s]
        (1, 50), (20, 50), (25, 50), (40, 80), (600, 1200), (1000, 2000), (5000, 2000),
    ])
    func noticePhaseIsTwoRoundTripsWithinFloorAndCap(rttMs: Int, waitMs: Int) {
        var sm = SM(policy: policy(), now: t(0))
        _ = sm.started(now: t(0), jitter: 0)
        sm.settingsAckReceived(now: t(Double(rttMs) / 1000))
        #expect(sm.roundTrip == .milliseconds(rttMs))
        #expect(sm.shutdownRequested(.shutdown, now: t(10)) == [notice, .schedule(.notice, at: t(10) + .milliseconds(waitMs))])
    }

    @Test func keepaliveAckUpdatesTheRoundTripAndNoPingFollowsTheNotice() {
        var sm = SM(policy: policy(keepalive: .seconds(30)), now: t(0))
        _ = sm.started(now: t(0), jitter: 0)
        sm.settingsAckReceived(now: t(0.5))
        _ = sm.timerFired(.keepalive, now: t(30))
        _ = sm.pingAckReceived(payload: SM.keepalivePingPayload, now: t(30.1))
        #expect(sm.roundTrip == .milliseconds(100))
        // A keepalive round in flight when the notice goes out is dropped, and none follows.
        _ = sm.timerFired(.keepalive, now: t(60))
        let actions = sm.shutdownRequested(.shutdown, now: t(61))
        #expect(actions == [notice, .schedule(.notice, at: t(61.2)), .cancel(.keepaliveAck)])
        #expect(sm.timerFired(.keepalive, now: t(90)).isEmpty)
        #expect(sm.timerFired(.keepaliveAck, now: t(91)).isEmpty)
        #expect(!sm.timerFired(.notice, now: t(61.2)).contains { if case .sendPing = $0 { true } else { false } })
    }

    @Test func connectionErrorSendsItsCodeWithTheRealLastStreamIDOnce() {
        var sm = SM(policy: policy(), now: t(0))
        _ = sm.streamOpened(1, now: t(0))
        _ = sm.streamOpened(3, now: t(0))
        #expect(
            sm.connectionError(code: .flowControlError, now: t(1)) == [
                .sendGoAway(lastStreamID: 3, code: .flowControlError, debugData: "", reason: .error),
                .close(reason: .error, drainStarted: nil),
            ])
        #expect(sm.connectionError(code: .protocolError, now: t(2)).isEmpty, "no second GOAWAY")
        var fresh = SM(policy: policy(), now: t(0))
        #expect(fresh.connectionError(code: .compressionError, now: t(1)).first == .sendGoAway(lastStreamID: .root, code: .compressionError, debugData: "", reason: .error))
    }

    @Test func idleTimeoutDrainsOnlyWhenReallyIdle() {
        var sm = SM(policy: policy(idle: .seconds(60)), now: t(0))
        #expect(sm.started(now: t(0), jitter: 0.5) == [.schedule(.idle, at: t(60))])
        _ = sm.streamOpened(1, now: t(10))
        // Busy at the deadline: look again one timeout later.
        #expect(sm.timerFired(.idle, now: t(60)) == [.schedule(.idle, at: t(120))])
        _ = sm.streamClosed(1, now: t(100))
        // Idle since t=100: not yet.
        #expect(sm.timerFired(.idle, now: t(120)) == [.schedule(.idle, at: t(160))])
        #expect(
            sm.timerFired(.idle, now: t(160)) == [
                .sendGoAway(lastStreamID: .max, code: .noError, debugData: "idle_timeout", reason: .idle),
                .schedule(.notice, at: t(162)),
            ])
    }

    @Test(arguments: [0.0, 0.25, 0.5, 0.75, 0.999999, -3, 7])
    func maxAgeJitterStaysWithinTenPercent(jitter: Double) {
        var sm = SM(policy: policy(maxAge: .seconds(100)), now: t(0))
        let actions = sm.started(now: t(0), jitter: jitter)
        guard case .schedule(.maxAge, let at)? = actions.first else {
            Issue.record("no max-age timer: \(actions)")
            return
        }
        #expect(at >= t(90) && at < t(110))
    }

    @Test func maxAgeJitterSpreadsAcrossTheRange() {
        var generator = SplitMix64(seed: 7)
        let ages = (0..<1000).map { _ in SM.jittered(.seconds(100), Double.random(in: 0..<1, using: &generator)).seconds }
        #expect(ages.min()! >= 90 && ages.max()! < 110)
        #expect(ages.min()! < 91 && ages.max()! > 109)
    }

    @Test func maxAgeUsesItsOwnGrace() {
        var sm = SM(policy: policy(maxAge: .seconds(100)), now: t(0))
        _ = sm.streamOpened(1, now: t(1))
        let notice = sm.timerFired(.maxAge, now: t(100))
        #expect(notice.first == .sendGoAway(lastStreamID: .max, code: .noError, debugData: "max_age", reason: .maxAge))
        #expect(sm.timerFired(.notice, now: t(100.5)).last == .schedule(.grace, at: t(107.5)))
    }

    @Test func keepalivePingsAfterSilenceAndClosesWithoutAck() {
        var sm = SM(policy: policy(keepalive: .seconds(30)), now: t(0))
        #expect(sm.started(now: t(0), jitter: 0) == [.schedule(.keepalive, at: t(30))])
        sm.readActivity(now: t(20))
        #expect(sm.timerFired(.keepalive, now: t(30)) == [.schedule(.keepalive, at: t(50))])
        #expect(
            sm.timerFired(.keepalive, now: t(50)) == [
                .sendPing(payload: SM.keepalivePingPayload), .schedule(.keepaliveAck, at: t(53)),
            ])
        #expect(
            sm.timerFired(.keepaliveAck, now: t(53)) == [
                .sendGoAway(lastStreamID: .root, code: .noError, debugData: "keepalive_timeout", reason: .keepaliveTimeout),
                .close(reason: .keepaliveTimeout, drainStarted: nil),
            ])
    }

    @Test func keepaliveAckRearmsTheTimer() {
        var sm = SM(policy: policy(keepalive: .seconds(30)), now: t(0))
        _ = sm.timerFired(.keepalive, now: t(30))
        #expect(
            sm.pingAckReceived(payload: SM.keepalivePingPayload, now: t(30.1)) == [
                .cancel(.keepaliveAck), .schedule(.keepalive, at: t(60.1)),
            ])
        #expect(sm.timerFired(.keepaliveAck, now: t(33)).isEmpty)
    }

    @Test func tooManyPingsWhileIdleEndWithEnhanceYourCalm() {
        var sm = SM(policy: policy(), now: t(0))
        #expect(sm.pingReceived(now: t(0)).isEmpty)
        #expect(sm.pingReceived(now: t(1)).isEmpty)  // strike 1
        #expect(sm.pingReceived(now: t(2)).isEmpty)  // strike 2
        #expect(
            sm.pingReceived(now: t(3)) == [
                .sendGoAway(lastStreamID: .root, code: .enhanceYourCalm, debugData: "too_many_pings", reason: .tooManyPings),
                .close(reason: .tooManyPings, drainStarted: t(3)),
            ])
    }

    @Test func pingsWithStreamsOpenOrSpacedOutAreFine() {
        var sm = SM(policy: policy(), now: t(0))
        _ = sm.streamOpened(1, now: t(0))
        for i in 0..<10 { #expect(sm.pingReceived(now: t(Double(i) * 0.1)).isEmpty) }
        _ = sm.streamClosed(1, now: t(1))
        for i in 0..<10 { #expect(sm.pingReceived(now: t(100 + Double(i) * 11)).isEmpty) }
        #expect(sm.state == .active)
    }
}

/// A small deterministic generator, so jitter tests are repeatable.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
