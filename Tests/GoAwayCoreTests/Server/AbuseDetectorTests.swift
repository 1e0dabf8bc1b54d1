import Testing

@testable import GoAwayCore

private func t(_ seconds: Double) -> Instant { Instant(nanoseconds: Int64(seconds * 1e9)) }

@Suite("Protections: AbuseDetector")
struct AbuseDetectorTests {
    static let policy = ServerProtectionPolicy(
        windowUpdateAllowance: 10, windowUpdatesPerDataFrame: 3, headerTimeout: .seconds(5), sendStallTimeout: .seconds(30)
    )

    @Test(arguments: [
        // (limit, counts, reason)
        (LibraryLimit.resetFrames, PeerFrameCounts(), ShutdownReason.rapidReset),
        (.streamErrors, PeerFrameCounts(), .rapidReset),
        (.glitches, PeerFrameCounts(), .rapidReset),
        (.continuationFrames, PeerFrameCounts(), .continuationFlood),
        (.emptyDataFrames, PeerFrameCounts(), .emptyFrames),
        (.headerBlockTooLarge, PeerFrameCounts(), .headerListSize),
        (.controlFrames, PeerFrameCounts(pings: 200, settings: 1), .pingFlood),
        (.controlFrames, PeerFrameCounts(pings: 1, settings: 200), .settingsFlood),
        (.controlFrames, PeerFrameCounts(pings: 1, settings: 1, priorities: 200), .priorityFlood),
        (.controlFrames, PeerFrameCounts(pings: 0, settings: 0), .pingFlood),
        (.outboundBuffering, PeerFrameCounts(pings: 10_000, settings: 1), .pingFlood),
        (.outboundBuffering, PeerFrameCounts(pings: 3, settings: 10_000), .settingsFlood),
    ])
    func libraryLimitsBecomeTheirToken(limit: LibraryLimit, counts: PeerFrameCounts, reason: ShutdownReason) {
        #expect(AbuseDetector.reason(for: limit, counts: counts) == reason)
    }

    /// Every reason, both ways of ending: the single reason → GOAWAY code table.
    static let codeTable: [(ShutdownReason, abort: HTTP2ErrorCode, drain: HTTP2ErrorCode)] = [
        (.shutdown, .noError, .noError), (.maxAge, .noError, .noError), (.maxRequests, .noError, .noError),
        (.idle, .noError, .noError), (.keepaliveTimeout, .noError, .noError), (.peerGoAway, .noError, .noError),
        (.tooManyPings, .enhanceYourCalm, .enhanceYourCalm), (.error, .internalError, .internalError),
        (.rapidReset, .enhanceYourCalm, .noError), (.continuationFlood, .enhanceYourCalm, .noError),
        (.pingFlood, .enhanceYourCalm, .noError), (.settingsFlood, .enhanceYourCalm, .noError),
        (.priorityFlood, .enhanceYourCalm, .noError), (.emptyFrames, .enhanceYourCalm, .noError),
        (.windowUpdateAbuse, .enhanceYourCalm, .noError), (.headerTimeout, .enhanceYourCalm, .noError),
        (.maxConnections, .enhanceYourCalm, .noError),
        (.headerListSize, .protocolError, .protocolError), (.sendTimeout, .noError, .noError),
    ]

    @Test func codeTableCoversEveryReason() {
        #expect(Set(Self.codeTable.map(\.0)) == Set(ShutdownReason.allCases))
        #expect(Self.codeTable.count == ShutdownReason.allCases.count)
    }

    @Test(arguments: codeTable)
    func codes(reason: ShutdownReason, abort: HTTP2ErrorCode, drain: HTTP2ErrorCode) {
        #expect(reason.goAwayCode(graceful: false) == abort)
        #expect(reason.goAwayCode(graceful: true) == drain)
        #expect(GoAwayDebugData(reason.rawValue).bytes == Array(reason.rawValue.utf8))
        // The state machine sends what the table says, whichever way the connection ends.
        var sm = ServerConnectionStateMachine(policy: .init(), now: t(0))
        var actions: [ServerConnectionStateMachine.Action] = []
        sm.abortForAbuse(reason, now: t(1), into: &actions)
        #expect(actions == [.protectionTriggered(reason), .sendGoAway(lastStreamID: .root, code: abort, debugData: reason.rawValue, reason: reason), .close])
        var drained = ServerConnectionStateMachine(policy: .init(), now: t(0))
        _ = drained.handle(.started(jitter: 0, refuse: false), now: t(0))
        _ = drained.handle(.headers(1, endStream: true, valid: true), now: t(0))
        _ = drained.handle(.shutdownRequested(reason), now: t(1))
        _ = drained.handle(.responseEnded(1), now: t(1))
        _ = drained.handle(.streamClosed(1, code: nil), now: t(1))
        let final = drained.handle(.timersDue, now: t(10))
        #expect(final.first == .sendGoAway(lastStreamID: 1, code: drain, debugData: reason.rawValue, reason: reason))
    }

    @Test func everyLibraryLimitHasAReason() {
        for limit in LibraryLimit.allCases {
            #expect(AbuseDetector.reason(for: limit, counts: .init()).isProtection)
        }
    }

    /// Budget = allowance + 2 × streams + perDataFrame × (writes + bytes / 16 KiB).
    @Test(arguments: [
        // (streams, writes, bytesPerWrite, windowUpdates, abuse)
        (0, 0, 0, 10, false),
        (0, 0, 0, 11, true),
        (5, 0, 0, 20, false),
        (5, 0, 0, 21, true),
        (1, 2, 16384, 10 + 2 + 3 * 4, false),
        (1, 2, 16384, 10 + 2 + 3 * 4 + 1, true),
    ])
    func windowUpdateBudget(streams: Int, writes: Int, bytesPerWrite: Int, windowUpdates: Int, abuse: Bool) {
        var d = AbuseDetector(policy: Self.policy, now: t(0))
        for _ in 0..<streams { _ = d.streamOpened(now: t(0)) }
        for _ in 0..<writes { d.dataSent(bytes: bytesPerWrite) }
        let outcome = d.readBatchEnded(counts: .init(windowUpdates: windowUpdates), waitingForFrame: false, framesCompleted: 1, now: t(1))
        #expect(outcome == (abuse ? .abuse(.windowUpdateAbuse) : .none))
    }

    @Test func windowUpdatesUnlimitedWhenDisabled() {
        var policy = Self.policy
        policy.windowUpdateAllowance = nil
        var d = AbuseDetector(policy: policy, now: t(0))
        #expect(d.windowUpdateBudget == nil)
        #expect(d.readBatchEnded(counts: .init(windowUpdates: 1_000_000), waitingForFrame: false, framesCompleted: 1, now: t(1)) == .none)
    }

    @Test func prefaceNeverArrivesTimesOut() {
        var d = AbuseDetector(policy: Self.policy, now: t(0))
        #expect(d.started(now: t(0)) == .schedule(t(5)))
        #expect(d.headerTimerFired(waitingForFrame: true, now: t(5)) == .abuse(.headerTimeout))
    }

    @Test func prefaceInTimeDisarms() {
        var d = AbuseDetector(policy: Self.policy, now: t(0))
        _ = d.started(now: t(0))
        #expect(d.readBatchEnded(counts: .init(), waitingForFrame: false, framesCompleted: 1, now: t(1)) == .none)
        #expect(d.headerTimerFired(waitingForFrame: false, now: t(5)) == .none)
        #expect(!d.headerTimerArmed)
    }

    @Test func headerBlockLeftOpenTimesOutFromTheLastCompletedFrame() {
        var d = AbuseDetector(policy: Self.policy, now: t(0))
        _ = d.started(now: t(0))
        _ = d.readBatchEnded(counts: .init(), waitingForFrame: false, framesCompleted: 1, now: t(1))
        #expect(d.headerTimerFired(waitingForFrame: false, now: t(5)) == .none)
        // HEADERS without END_HEADERS arrives at t=20 and nothing more.
        #expect(d.readBatchEnded(counts: .init(), waitingForFrame: true, framesCompleted: 2, now: t(20)) == .scheduleHeaderTimer(at: t(25)))
        // Still armed: later batches in the wait do not touch the timer.
        #expect(d.readBatchEnded(counts: .init(), waitingForFrame: true, framesCompleted: 2, now: t(21)) == .none)
        #expect(d.headerTimerFired(waitingForFrame: true, now: t(25)) == .abuse(.headerTimeout))
    }

    @Test func aSlowButProgressingUploadIsNotATimeout() {
        var d = AbuseDetector(policy: Self.policy, now: t(0))
        _ = d.started(now: t(0))
        // Every batch ends mid-frame, but frames keep completing.
        #expect(d.readBatchEnded(counts: .init(), waitingForFrame: true, framesCompleted: 1, now: t(1)) == .none)
        _ = d.readBatchEnded(counts: .init(), waitingForFrame: true, framesCompleted: 5, now: t(4))
        #expect(d.headerTimerFired(waitingForFrame: true, now: t(5)) == .schedule(t(9)))
        _ = d.readBatchEnded(counts: .init(), waitingForFrame: true, framesCompleted: 9, now: t(8))
        #expect(d.headerTimerFired(waitingForFrame: true, now: t(9)) == .schedule(t(13)))
        #expect(d.headerTimerFired(waitingForFrame: true, now: t(13)) == .abuse(.headerTimeout))
    }

    @Test func headerTimeoutDisabled() {
        var policy = Self.policy
        policy.headerTimeout = nil
        var d = AbuseDetector(policy: policy, now: t(0))
        #expect(d.started(now: t(0)) == .none)
        #expect(d.readBatchEnded(counts: .init(), waitingForFrame: true, framesCompleted: 0, now: t(1)) == .none)
    }

    @Test func stallNeedsTwoBlockedChecksWithoutProgress() {
        var d = AbuseDetector(policy: Self.policy, now: t(0))
        #expect(d.streamOpened(now: t(0)) == .schedule(t(30)))
        #expect(d.streamOpened(now: t(1)) == .none, "one stall timer per connection")
        // First check: blocked, but it may have blocked a moment ago.
        #expect(d.stallTimerFired(blocked: 1, progress: 0, openStreams: 1, now: t(30)) == .schedule(t(60)))
        #expect(d.stallTimerFired(blocked: 1, progress: 0, openStreams: 1, now: t(60)) == .abuse(.sendTimeout))
    }

    @Test func progressBetweenChecksIsNotAStall() {
        var d = AbuseDetector(policy: Self.policy, now: t(0))
        _ = d.streamOpened(now: t(0))
        #expect(d.stallTimerFired(blocked: 1, progress: 4, openStreams: 1, now: t(30)) == .schedule(t(60)))
        #expect(d.stallTimerFired(blocked: 1, progress: 9, openStreams: 1, now: t(60)) == .schedule(t(90)))
        // A handler thinking for a long time is not blocked on the peer.
        #expect(d.stallTimerFired(blocked: 0, progress: 9, openStreams: 1, now: t(90)) == .schedule(t(120)))
        #expect(d.stallTimerFired(blocked: 1, progress: 9, openStreams: 1, now: t(120)) == .schedule(t(150)))
        // No open stream: the timer stops until the next stream opens.
        #expect(d.stallTimerFired(blocked: 0, progress: 10, openStreams: 0, now: t(150)) == .none)
        #expect(d.streamOpened(now: t(200)) == .schedule(t(230)))
    }
}

@Suite("Protections: FrameBoundaryScanner")
struct FrameBoundaryScannerTests {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, length: Int) -> [UInt8] {
        [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags]
            + [UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)]
            + [UInt8](repeating: 0, count: length)
    }

    @Test func waitsForThePreface() {
        var s = FrameBoundaryScanner()
        #expect(s.isWaiting)
        s.scan(Array(Self.preface.prefix(10)))
        #expect(s.isWaiting)
        s.scan(Array(Self.preface.dropFirst(10)) + Self.frame(type: 4, length: 6))
        #expect(!s.isWaiting)
        #expect(s.framesCompleted == 1)
    }

    @Test func framesSplitAtEveryByteBoundary() {
        let bytes = Self.preface + Self.frame(type: 4, length: 0) + Self.frame(type: 1, flags: 0x5, stream: 1, length: 20)
            + Self.frame(type: 0, flags: 1, stream: 1, length: 100)
        for cut in 0...bytes.count {
            var s = FrameBoundaryScanner()
            s.scan(Array(bytes[..<cut]))
            s.scan(Array(bytes[cut...]))
            #expect(!s.isWaiting, "cut at \(cut)")
            #expect(s.framesCompleted == 3)
        }
        // Byte by byte: waiting until the very last byte.
        var s = FrameBoundaryScanner()
        let boundaries: Set<Int> = [24 + 9 - 1, 24 + 9 + 29 - 1, bytes.count - 1]
        for (i, b) in bytes.enumerated() {
            s.scan([b])
            #expect(s.isWaiting == !boundaries.contains(i), "byte \(i)")
        }
        #expect(!s.isWaiting)
    }

    @Test func headerBlockOpenUntilContinuationEndsIt() {
        var s = FrameBoundaryScanner()
        s.scan(Self.preface + Self.frame(type: 4, length: 0))
        s.scan(Self.frame(type: 1, flags: 0x1, stream: 1, length: 10))  // HEADERS, END_STREAM, no END_HEADERS
        #expect(s.headerBlockOpen && s.isWaiting)
        s.scan(Self.frame(type: 9, flags: 0, stream: 1, length: 10))
        #expect(s.headerBlockOpen)
        s.scan(Self.frame(type: 9, flags: 0x4, stream: 1, length: 10))
        #expect(!s.headerBlockOpen && !s.isWaiting)
        #expect(s.framesCompleted == 4)
    }

    @Test func largeLengthsAreSkippedNotRead() {
        var s = FrameBoundaryScanner()
        s.scan(Self.preface + [0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1])
        #expect(s.isWaiting)
        s.scan([UInt8](repeating: 0, count: 0xff_ffff - 1))
        #expect(s.isWaiting)
        s.scan([0])
        #expect(!s.isWaiting)
    }
}

@Suite("Protections: ConnectionLimiter")
struct ConnectionLimiterTests {
    typealias C = ConnectionLimiter.Connection

    @Test(arguments: [
        // (open, max, decision)
        ([C](), Optional(1), ConnectionLimiter.Decision.accept),
        ([C(id: 1, idle: true, leaving: false)], nil, .accept),
        ([C(id: 1, idle: true, leaving: false)], 2, .accept),
        ([C(id: 1, idle: true, leaving: false), C(id: 2, idle: true, leaving: false)], 2, .shed(id: 1)),
        ([C(id: 2, idle: true, leaving: false), C(id: 1, idle: false, leaving: false)], 2, .shed(id: 2)),
        ([C(id: 5, idle: true, leaving: false), C(id: 3, idle: true, leaving: false), C(id: 4, idle: true, leaving: false)], 2, .shed(id: 3)),
        ([C(id: 1, idle: false, leaving: false), C(id: 2, idle: false, leaving: false)], 2, .refuse),
        // A connection already shed is leaving: it frees its slot, so the new one fits.
        ([C(id: 1, idle: true, leaving: true), C(id: 2, idle: false, leaving: false)], 2, .accept),
        ([C(id: 1, idle: true, leaving: true), C(id: 2, idle: false, leaving: false)], 1, .refuse),
    ])
    func decisions(open: [C], max: Int?, decision: ConnectionLimiter.Decision) {
        #expect(ConnectionLimiter.connectionAccepted(newID: 99, open: open, maxConnections: max) == decision)
    }
}

@Suite("Protections: abort in the connection state machine")
struct ServerAbortTests {
    private typealias SM = ServerConnectionStateMachine

    @Test func aLibraryLimitSendsOneGoAwayWithTheHighestStreamAndCloses() {
        var sm = SM(policy: .init(), now: t(0))
        _ = sm.handle(.headers(1, endStream: true, valid: true), now: t(0))
        _ = sm.handle(.headers(5, endStream: true, valid: true), now: t(0))
        #expect(sm.handle(.libraryLimit(.resetFrames), now: t(1)) == [
            .protectionTriggered(.rapidReset),
            .sendGoAway(lastStreamID: 5, code: .enhanceYourCalm, debugData: "rapid_reset", reason: .rapidReset),
            .close,
        ])
        #expect(sm.state == .closed)
        #expect(sm.handle(.libraryLimit(.controlFrames), now: t(2)).isEmpty, "once")
        #expect(sm.connectionClosed()?.reason == .rapidReset)
    }

    @Test func theFloodIsNamedAfterTheFramesCounted() {
        var sm = SM(policy: .init(), now: t(0))
        for _ in 0..<3 { _ = sm.handle(.settings([]), now: t(0)) }
        _ = sm.handle(.ping(payload: 0, ack: false), now: t(0))
        #expect(sm.handle(.libraryLimit(.controlFrames), now: t(1)).first == .protectionTriggered(.settingsFlood))
    }

    @Test func abortWhileDrainingNeverRaisesTheLastStreamID() {
        var sm = SM(policy: .init(), now: t(0))
        _ = sm.handle(.headers(3, endStream: true, valid: true), now: t(0))
        _ = sm.handle(.shutdownRequested(.shutdown), now: t(0))
        _ = sm.handle(.started(jitter: 0, refuse: false), now: t(1))
        _ = sm.handle(.timersDue, now: t(6))  // the final GOAWAY(3): no round trip, the 5 s cap
        #expect(sm.handle(.headers(7, endStream: true, valid: true), now: t(6.5)) == [.refuseStream(7)])
        #expect(sm.handle(.libraryLimit(.headerBlockTooLarge), now: t(7)) == [
            .protectionTriggered(.headerListSize),
            .sendGoAway(lastStreamID: 3, code: .protocolError, debugData: "header_list_size", reason: .headerListSize),
            .close,
        ])
        #expect(sm.connectionClosed()?.drainStarted == t(1))
    }

    @Test func refusingANewConnectionSaysNothingWasProcessed() {
        var sm = SM(policy: .init(), now: t(0))
        let actions = sm.handle(.started(jitter: 0, refuse: true), now: t(0))
        #expect(actions.contains(.sendGoAway(lastStreamID: 0, code: .enhanceYourCalm, debugData: "max_connections", reason: .maxConnections)))
        #expect(actions.last == .close)
    }

    @Test func streamErrorsAreASlidingWindowCount() {
        var detector = AbuseDetector(policy: ServerProtectionPolicy(streamErrorRateLimit: .init(maximumCount: 100, window: .seconds(1)), maximumConnectionGlitches: 10_000), now: t(0))
        // One every 10.1 ms for 10 s: never more than 100 within a second (the oldest fall out).
        let every: Int64 = 10_100_000
        for i in 0..<1000 { #expect(detector.streamError(now: Instant(nanoseconds: Int64(i) * every)) == nil) }
        #expect(detector.streamError(now: Instant(nanoseconds: 999 * every + 50_000)) == .rapidReset, "the 101st within one second")
    }
}
