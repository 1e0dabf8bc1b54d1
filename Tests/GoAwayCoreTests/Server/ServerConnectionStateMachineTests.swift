import Testing

@testable import GoAwayCore

private typealias SM = ServerConnectionStateMachine

private func t(_ seconds: Double) -> Instant { Instant(nanoseconds: Int64(seconds * 1e9)) }

private let notice = SM.Action.sendGoAway(lastStreamID: .max, code: .noError, debugData: "shutdown", reason: .shutdown)

/// The lifecycle tests run without the protections' timers (they have their own suite).
let noProtections = ServerProtectionPolicy(windowUpdateAllowance: nil, headerTimeout: nil, sendStallTimeout: nil, maxConnections: nil)

private func policy(
    idle: Duration? = nil,
    maxAge: Duration? = nil,
    maxRequests: Int? = nil,
    keepalive: Duration? = nil,
    drain: DrainStyle = .answersFirst
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
        maxPingStrikes: 2,
        maxRequestsDrain: drain
    )
}

extension ServerConnectionStateMachine {
    /// `started`: the channel went active at t=0 (jitter 0).
    init(_ policy: ServerConnectionPolicy, protection: ServerProtectionPolicy = noProtections, window: Int = 65_535, started: Bool = true) {
        self.init(policy: policy, protection: protection, initialWindowSize: window, now: Instant(nanoseconds: 0))
        if started { _ = handle(.started(jitter: 0, refuse: false), now: Instant(nanoseconds: 0)) }
    }

    /// One event at `seconds`.
    mutating func on(_ event: Event, _ seconds: Double) -> [Action] { handle(event, now: Instant(nanoseconds: Int64(seconds * 1e9))) }

    /// A GET arrives on `id`: the actions other than its delivery and the idle flag.
    mutating func open(_ id: StreamID, _ seconds: Double) -> [Action] {
        on(.headers(id, endStream: true, valid: true), seconds).filter {
            if case .deliverRequest(id, endStream: true) = $0 { return false }
            if case .idle = $0 { return false }
            return true
        }
    }

    /// `id` is answered and closes: the actions other than the idle flag.
    mutating func finish(_ id: StreamID, _ seconds: Double) -> [Action] {
        var actions = on(.responseEnded(id), seconds)
        actions += on(.streamClosed(id, code: nil), seconds)
        return actions.filter { if case .idle = $0 { false } else { true } }
    }

    /// The loop timer fires at `seconds`.
    mutating func due(_ seconds: Double) -> [Action] { on(.timersDue, seconds) }
}

@Suite("Server connection: two-phase drain")
struct ServerDrainTests {
    @Test func shutdownSendsTheNoticeThenTheFinalGoAwayTwoRoundTripsLater() {
        var sm = SM(policy())
        #expect(sm.open(1, 0).isEmpty)
        #expect(sm.open(3, 0).isEmpty)

        #expect(sm.on(.shutdownRequested(.shutdown), 1) == [notice])
        #expect(sm.state == .notified(reason: .shutdown, since: t(1)))
        #expect(sm.deadline(.notice) == t(3))
        #expect(sm.nextDeadline == t(3))
        #expect(sm.due(2.9).isEmpty, "an early wake-up does nothing")

        #expect(sm.due(3) == [.sendGoAway(lastStreamID: 3, code: .noError, debugData: "shutdown", reason: .shutdown)])
        #expect(sm.state == .draining(reason: .shutdown, lastStreamID: 3, since: t(1)))
        #expect(sm.deadline(.notice) == nil)
        #expect(sm.deadline(.grace) == t(13))

        #expect(sm.finish(1, 4).isEmpty)
        #expect(sm.finish(3, 4.5) == [.close])
        #expect(sm.state == .closed)
        #expect(sm.nextDeadline == nil)
        #expect(sm.connectionClosed() == .init(reason: .shutdown, drainStarted: t(1), requestsCompletedDuringDrain: 2, unfinishedStreams: []))
        #expect(sm.connectionClosed() == nil, "reported once")
    }

    @Test func graceBoundsTheDrain() {
        var sm = SM(policy())
        _ = sm.open(1, 0)
        _ = sm.on(.shutdownRequested(.shutdown), 5)
        // No round trip measured: the notice phase lasts its cap (pingAckTimeout, 2 s).
        #expect(sm.due(7) == [.sendGoAway(lastStreamID: 1, code: .noError, debugData: "shutdown", reason: .shutdown)])
        // The stream never ends: the grace deadline closes the connection.
        #expect(sm.due(17) == [.close])
        #expect(sm.state == .closed)
        #expect(sm.due(18).isEmpty, "a late wake-up changes nothing")
        let summary = sm.connectionClosed()
        #expect(summary?.reason == .shutdown)
        #expect(summary?.unfinishedStreams == [1])
    }

    @Test func secondShutdownRequestIsANoOp() {
        var sm = SM(policy())
        _ = sm.open(1, 0)
        _ = sm.on(.shutdownRequested(.shutdown), 1)
        #expect(sm.on(.shutdownRequested(.shutdown), 1.5).isEmpty)
        #expect(sm.on(.shutdownRequested(.maxAge), 1.5).isEmpty)
        _ = sm.due(3)
        #expect(sm.on(.shutdownRequested(.shutdown), 3.5).isEmpty)
        #expect(sm.state == .draining(reason: .shutdown, lastStreamID: 1, since: t(1)))
    }

    @Test func shutdownBeforeStartIsAppliedAtStart() {
        var sm = SM(policy(), started: false)
        #expect(sm.on(.shutdownRequested(.shutdown), 0).isEmpty)
        #expect(sm.state == .active)
        #expect(sm.on(.started(jitter: 0, refuse: false), 0.5) == [notice])
        #expect(sm.state == .notified(reason: .shutdown, since: t(0.5)))
        #expect(sm.on(.started(jitter: 0, refuse: false), 0.6).isEmpty, "started once")
    }

    @Test func streamOpenedBetweenTheTwoGoAwaysIsServedAndCounted() {
        var sm = SM(policy())
        _ = sm.open(1, 0)
        _ = sm.on(.shutdownRequested(.shutdown), 1)
        // Races the notice: delivered, it becomes the final last-stream-id, and the notice wait
        // starts again from it (no round trip measured: the cap, from the notice at t=1).
        #expect(sm.on(.headers(5, endStream: true, valid: true), 1.01) == [.deliverRequest(5, endStream: true)])
        #expect(sm.deadline(.notice) == t(3))
        #expect(sm.due(3).contains(.sendGoAway(lastStreamID: 5, code: .noError, debugData: "shutdown", reason: .shutdown)))
        // After the final GOAWAY a new stream above it is refused, never processed.
        #expect(sm.on(.headers(7, endStream: true, valid: true), 3.1) == [.refuseStream(7)])
        #expect(sm.openStreams == 2)
        #expect(sm.requestCount == 2)
    }

    @Test func lastStreamIDIsNeverRaised() {
        // Whatever the order of events, GOAWAY ids sent never increase.
        var sm = SM(policy(keepalive: .seconds(1)), started: false)
        var sent: [StreamID] = []
        func record(_ actions: [SM.Action]) {
            for case .sendGoAway(let id, _, _, _) in actions { sent.append(id) }
        }
        record(sm.on(.started(jitter: 0, refuse: false), 0))
        record(sm.open(1, 0))
        record(sm.on(.shutdownRequested(.shutdown), 0.5))
        record(sm.open(3, 0.6))
        record(sm.due(2.6))
        record(sm.open(9, 3.1))  // refused
        record(sm.due(4))  // draining: no PING after a GOAWAY
        record(sm.due(8))
        record(sm.on(.libraryLimit(.controlFrames), 9))
        #expect(sent == [.max, 3, 3])
        #expect(zip(sent, sent.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test func noOpenStreamsClosesRightAfterTheFinalGoAway() {
        var sm = SM(policy(), started: false)
        _ = sm.on(.shutdownRequested(.shutdown), 0)
        _ = sm.on(.started(jitter: 0, refuse: false), 1)
        #expect(sm.due(3) == [.sendGoAway(lastStreamID: .root, code: .noError, debugData: "shutdown", reason: .shutdown), .close])
        #expect(sm.connectionClosed()?.drainStarted == t(1))
    }

    @Test func unrelatedPingAckIsIgnored() {
        var sm = SM(policy(), started: false)
        _ = sm.on(.shutdownRequested(.shutdown), 0)
        _ = sm.on(.started(jitter: 0, refuse: false), 1)
        #expect(sm.on(.ping(payload: 42, ack: true), 1.1).isEmpty)
        #expect(sm.state == .notified(reason: .shutdown, since: t(1)))
    }

    @Test func peerGoAwayClosesOnceStreamsFinish() {
        var sm = SM(policy())
        _ = sm.open(1, 0)
        #expect(sm.on(.peerGoAway(lastStreamID: 0, code: .noError), 1).isEmpty)
        #expect(sm.finish(1, 2) == [.close])
        #expect(sm.connectionClosed()?.reason == .peerGoAway)

        var idle = SM(policy())
        #expect(idle.on(.peerGoAway(lastStreamID: 0, code: .noError), 1) == [.close])
    }

    @Test func connectionClosedDropsEveryTimerAndReportsThePeerClose() {
        var sm = SM(policy(idle: .seconds(60), keepalive: .seconds(5)), started: false)
        _ = sm.on(.started(jitter: 0, refuse: false), 0)
        _ = sm.open(1, 1)
        #expect(sm.nextDeadline != nil)
        #expect(sm.connectionClosed() == .init(reason: nil, drainStarted: nil, requestsCompletedDuringDrain: 0, unfinishedStreams: [1]))
        #expect(sm.isClosed)
        #expect(sm.nextDeadline == nil)
        #expect(sm.due(100).isEmpty)
        #expect(sm.on(.started(jitter: 0, refuse: false), 101).isEmpty, "a peer that left before we were active")
    }

    @Test func aTransportErrorClosesAtOnceWithoutAGoAway() {
        var sm = SM(policy())
        _ = sm.open(1, 0)
        #expect(sm.on(.transportError, 1) == [.closeNow])
        #expect(sm.on(.transportError, 1.1).isEmpty)
        #expect(sm.on(.connectionError(code: .protocolError), 1.2).isEmpty, "no GOAWAY after the close")
        #expect(sm.connectionClosed()?.reason == nil)

        var draining = SM(policy())
        _ = draining.open(1, 0)
        _ = draining.on(.shutdownRequested(.shutdown), 1)
        #expect(draining.on(.transportError, 1.5) == [.closeNow])
        #expect(draining.connectionClosed()?.reason == .shutdown, "the drain's reason is kept")
    }
}

@Suite("Server connection: limits")
struct ServerLimitTests {
    @Test func maxRequestsAnswersFirstThenOneGoAway() {
        var sm = SM(policy(maxRequests: 3))
        #expect(sm.open(1, 0).isEmpty)
        #expect(sm.open(3, 0).isEmpty)
        // Nothing is sent yet: the GOAWAY waits for the answers (at most answersFirstWait, 1 s).
        #expect(sm.open(5, 1).isEmpty)
        #expect(sm.deadline(.notice) == t(2))
        #expect(sm.state == .answering(reason: .maxRequests, lastStreamID: 5, since: t(1)))
        // A stream opened meanwhile is held unprocessed: it falls above the GOAWAY's last id.
        #expect(sm.on(.headers(7, endStream: true, valid: true), 1.1) == [.holdStream(7)])
        #expect(sm.requestCount == 3)
        #expect(sm.finish(1, 1.2).isEmpty)
        #expect(sm.finish(3, 1.2).isEmpty)
        // The last answer; one notice wait later (no round trip measured: the 2 s cap) one
        // GOAWAY(5), then close.
        #expect(sm.finish(5, 1.3).isEmpty)
        #expect(sm.deadline(.notice) == t(3.3))
        #expect(sm.due(3.3) == [.sendGoAway(lastStreamID: 5, code: .noError, debugData: "max_requests", reason: .maxRequests), .close])
        #expect(sm.connectionClosed() == .init(reason: .maxRequests, drainStarted: t(1), requestsCompletedDuringDrain: 3, unfinishedStreams: []))
    }

    @Test func maxRequestsAnswersFirstIsBounded() {
        var sm = SM(policy(maxRequests: 1))
        #expect(sm.open(1, 0).isEmpty)
        #expect(sm.deadline(.notice) == t(1))
        // The answer takes longer than answersFirstWait: the GOAWAY goes out, the grace follows.
        #expect(sm.due(1) == [.sendGoAway(lastStreamID: 1, code: .noError, debugData: "max_requests", reason: .maxRequests)])
        #expect(sm.deadline(.grace) == t(11))
        #expect(sm.on(.headers(3, endStream: true, valid: true), 1.5) == [.refuseStream(3)])
    }

    @Test func maxRequestsTwoPhaseWhenConfigured() {
        var p = policy(maxRequests: 3)
        p.maxRequestsDrain = .twoPhase
        var sm = SM(p)
        _ = sm.open(1, 0)
        _ = sm.open(3, 0)
        // The notice goes out before the request that reached the limit is handed over.
        #expect(
            sm.on(.headers(5, endStream: true, valid: true), 1) == [
                .sendGoAway(lastStreamID: .max, code: .noError, debugData: "max_requests", reason: .maxRequests),
                .deliverRequest(5, endStream: true),
            ])
        #expect(sm.deadline(.notice) == t(3))
        // Streams racing the notice are served, not counted as a second trigger.
        #expect(sm.open(7, 1.1).isEmpty)
        #expect(sm.deadline(.notice) == t(3))
        #expect(sm.requestCount == 4)
    }

    @Test func byPeerAnswersFirstForPythonH2AndRunsTwoPhaseForTheRest() {
        let h2 = [PeerSetting(id: 1, value: 4096), .init(id: 2, value: 0), .init(id: 4, value: 65_535), .init(id: 5, value: 16_384), .init(id: 3, value: 100), .init(id: 6, value: 65_536)]
        var python = SM(policy(maxRequests: 1, drain: .byPeer))
        _ = python.on(.settings(h2), 0)
        #expect(python.peerIsPythonH2)
        #expect(python.open(1, 0).isEmpty, "answers first: nothing sent yet")
        #expect(python.state == .answering(reason: .maxRequests, lastStreamID: 1, since: t(0)))

        var node = SM(policy(maxRequests: 1, drain: .byPeer))
        _ = node.on(.settings([]), 0)  // Node's http2 client sends an empty SETTINGS
        #expect(!node.peerIsPythonH2)
        #expect(node.open(1, 0) == [.sendGoAway(lastStreamID: .max, code: .noError, debugData: "max_requests", reason: .maxRequests)])
        // Only the first SETTINGS says who the peer is.
        _ = node.on(.settings(h2), 0.1)
        #expect(!node.peerIsPythonH2)
    }

    static let settingsTable: [([(Int, Int)], Bool)] = [
        // httpx 0.28 / h2 4.4 (captured)
        ([(1, 4096), (2, 0), (4, 65_535), (5, 16_384), (3, 100), (6, 65_536)], true),
        // h2 with its defaults only
        ([(1, 4096), (2, 1), (4, 65_535), (5, 16_384)], true),
        // Node (empty), Go, curl / nghttp, Chrome: other stacks send what differs
        ([], false), ([(2, 0), (4, 4_194_304), (6, 10_485_760)], false),
        ([(3, 100), (4, 65_535), (2, 0)], false), ([(1, 65_536), (2, 0), (4, 6_291_456), (6, 262_144)], false),
        ([(1, 4096), (2, 0), (4, 65_535)], false),
    ]

    @Test(arguments: settingsTable)
    func pythonH2IsRecognisedByItsFirstSettings(settings: [(Int, Int)], isH2: Bool) {
        #expect(PeerSetting.isPythonH2(settings.map { PeerSetting(id: UInt16($0.0), value: UInt32($0.1)) }) == isH2)
    }

    @Test func racingStreamsPushTheFinalGoAwayBackUpToTheCap() {
        var sm = SM(policy(), started: false)
        _ = sm.on(.started(jitter: 0, refuse: false), 0)
        _ = sm.on(.settingsAck, 0.1)  // 100 ms round trip: notice wait 200 ms
        _ = sm.on(.shutdownRequested(.shutdown), 10)
        _ = sm.open(1, 10.1)
        #expect(sm.deadline(.notice) == t(10.3))
        _ = sm.open(3, 11.9)
        #expect(sm.deadline(.notice) == t(12), "capped at pingAckTimeout (2 s)")
    }

    @Test(arguments: [
        // round trip (ms) → notice phase (ms): 2 round trips within [50 ms, 2 s]
        (1, 50), (20, 50), (25, 50), (40, 80), (600, 1200), (1000, 2000), (5000, 2000),
    ])
    func noticePhaseIsTwoRoundTripsWithinFloorAndCap(rttMs: Int, waitMs: Int) {
        var sm = SM(policy(), started: false)
        _ = sm.on(.started(jitter: 0, refuse: false), 0)
        _ = sm.on(.settingsAck, Double(rttMs) / 1000)
        #expect(sm.roundTrip == .milliseconds(rttMs))
        #expect(sm.on(.shutdownRequested(.shutdown), 10) == [notice])
        #expect(sm.deadline(.notice) == t(10) + .milliseconds(waitMs))
    }

    @Test func keepaliveAckUpdatesTheRoundTripAndNoPingFollowsTheNotice() {
        var sm = SM(policy(keepalive: .seconds(30)), started: false)
        _ = sm.on(.started(jitter: 0, refuse: false), 0)
        _ = sm.on(.settingsAck, 0.5)
        #expect(sm.due(30) == [.sendPing(payload: SM.keepalivePingPayload)])
        _ = sm.on(.ping(payload: SM.keepalivePingPayload, ack: true), 30.1)
        #expect(sm.roundTrip == .milliseconds(100))
        // A keepalive round in flight when the notice goes out is dropped, and none follows.
        #expect(sm.due(60.1) == [.sendPing(payload: SM.keepalivePingPayload)])
        #expect(sm.on(.shutdownRequested(.shutdown), 61) == [notice])
        #expect(sm.deadline(.notice) == t(61.2))
        #expect(sm.deadline(.keepaliveAck) == nil)
        #expect(sm.deadline(.keepalive) == nil)
        #expect(!sm.due(61.2).contains { if case .sendPing = $0 { true } else { false } })
    }

    @Test func connectionErrorSendsItsCodeWithTheRealLastStreamIDOnce() {
        var sm = SM(policy())
        _ = sm.open(1, 0)
        _ = sm.open(3, 0)
        #expect(sm.on(.connectionError(code: .flowControlError), 1) == [.sendGoAway(lastStreamID: 3, code: .flowControlError, debugData: "", reason: .error), .close])
        #expect(sm.on(.connectionError(code: .protocolError), 2).isEmpty, "no second GOAWAY")
        #expect(sm.connectionClosed()?.reason == .error)
        var fresh = SM(policy())
        #expect(fresh.on(.connectionError(code: .compressionError), 1).first == .sendGoAway(lastStreamID: .root, code: .compressionError, debugData: "", reason: .error))
    }

    @Test func idleTimeoutDrainsOnlyWhenReallyIdle() {
        var sm = SM(policy(idle: .seconds(60)), started: false)
        #expect(sm.on(.started(jitter: 0.5, refuse: false), 0).isEmpty)
        #expect(sm.deadline(.idle) == t(60))
        _ = sm.open(1, 10)
        // Busy at the deadline: look again one timeout later.
        #expect(sm.due(60).isEmpty)
        #expect(sm.deadline(.idle) == t(120))
        _ = sm.finish(1, 100)
        // Idle since t=100: not yet.
        #expect(sm.due(120).isEmpty)
        #expect(sm.deadline(.idle) == t(160))
        #expect(sm.due(160) == [.sendGoAway(lastStreamID: .max, code: .noError, debugData: "idle_timeout", reason: .idle)])
        #expect(sm.deadline(.notice) == t(162))
    }

    @Test(arguments: [0.0, 0.25, 0.5, 0.75, 0.999999, -3, 7])
    func maxAgeJitterStaysWithinTenPercent(jitter: Double) {
        var sm = SM(policy(maxAge: .seconds(100)), started: false)
        _ = sm.on(.started(jitter: jitter, refuse: false), 0)
        let at = sm.deadline(.maxAge)
        #expect(at != nil && at! >= t(90) && at! < t(110))
    }

    @Test func maxAgeJitterSpreadsAcrossTheRange() {
        var generator = SplitMix64(seed: 7)
        let ages = (0..<1000).map { _ in SM.jittered(.seconds(100), Double.random(in: 0..<1, using: &generator)).seconds }
        #expect(ages.min()! >= 90 && ages.max()! < 110)
        #expect(ages.min()! < 91 && ages.max()! > 109)
    }

    @Test func maxAgeUsesItsOwnGrace() {
        var sm = SM(policy(maxAge: .seconds(100)), started: false)
        _ = sm.on(.started(jitter: 0.5, refuse: false), 0)
        _ = sm.open(1, 1)
        #expect(sm.due(100) == [.sendGoAway(lastStreamID: .max, code: .noError, debugData: "max_age", reason: .maxAge)])
        _ = sm.due(102)
        #expect(sm.deadline(.grace) == t(109))
    }

    @Test func keepalivePingsAfterSilenceAndClosesWithoutAck() {
        var sm = SM(policy(keepalive: .seconds(30)), started: false)
        _ = sm.on(.started(jitter: 0, refuse: false), 0)
        #expect(sm.deadline(.keepalive) == t(30))
        _ = sm.on(.readBatchEnded(waitingForFrame: false, framesCompleted: 1), 20)
        #expect(sm.due(30).isEmpty)
        #expect(sm.deadline(.keepalive) == t(50))
        #expect(sm.due(50) == [.sendPing(payload: SM.keepalivePingPayload)])
        #expect(sm.deadline(.keepaliveAck) == t(53))
        #expect(sm.due(53) == [.sendGoAway(lastStreamID: .root, code: .noError, debugData: "keepalive_timeout", reason: .keepaliveTimeout), .close])
        #expect(sm.connectionClosed()?.reason == .keepaliveTimeout)
    }

    @Test func keepaliveAckRearmsTheTimer() {
        var sm = SM(policy(keepalive: .seconds(30)), started: false)
        _ = sm.on(.started(jitter: 0, refuse: false), 0)
        _ = sm.due(30)
        #expect(sm.on(.ping(payload: SM.keepalivePingPayload, ack: true), 30.1).isEmpty)
        #expect(sm.deadline(.keepaliveAck) == nil)
        #expect(sm.deadline(.keepalive) == t(60.1))
    }

    @Test func tooManyPingsWhileIdleEndWithEnhanceYourCalm() {
        var sm = SM(policy())
        #expect(sm.on(.ping(payload: 1, ack: false), 0).isEmpty)
        #expect(sm.on(.ping(payload: 1, ack: false), 1).isEmpty)  // strike 1
        #expect(sm.on(.ping(payload: 1, ack: false), 2).isEmpty)  // strike 2
        #expect(
            sm.on(.ping(payload: 1, ack: false), 3) == [
                .sendGoAway(lastStreamID: .root, code: .enhanceYourCalm, debugData: "too_many_pings", reason: .tooManyPings), .close,
            ])
        #expect(sm.connectionClosed()?.drainStarted == t(3))
    }

    @Test func pingsWithStreamsOpenOrSpacedOutAreFine() {
        var sm = SM(policy())
        _ = sm.open(1, 0)
        for i in 0..<10 { #expect(sm.on(.ping(payload: 1, ack: false), Double(i) * 0.1).isEmpty) }
        _ = sm.finish(1, 1)
        for i in 0..<10 { #expect(sm.on(.ping(payload: 1, ack: false), 100 + Double(i) * 11).isEmpty) }
        #expect(sm.state == .active)
        #expect(sm.frameCounts.pings == 20)
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
