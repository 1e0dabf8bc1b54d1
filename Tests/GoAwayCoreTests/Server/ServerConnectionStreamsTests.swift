import Testing

@testable import GoAwayCore

private typealias SM = ServerConnectionStateMachine

private func t(_ seconds: Double) -> Instant { Instant(nanoseconds: Int64(seconds * 1e9)) }

private let policy = ServerConnectionPolicy(idleTimeout: nil)

/// Requests, bodies and inbound flow control, through the one event type.
@Suite("Server connection: streams and flow control")
struct ServerConnectionStreamsTests {
    @Test func theConnectionWindowIsRaisedOnceAtStart() {
        var sm = SM(policy, window: 1 << 20, started: false)
        #expect(sm.on(.started(jitter: 0, refuse: false), 0) == [.windowUpdate(.root, increment: (1 << 20) - 65_535)])
        var small = SM(policy, window: 65_535, started: false)
        #expect(small.on(.started(jitter: 0, refuse: false), 0).isEmpty, "already the protocol's 65,535")
    }

    @Test func aRequestIsDeliveredAndTheIdleFlagFollowsTheStreams() {
        var sm = SM(policy)
        #expect(sm.on(.headers(1, endStream: false, valid: true), 0) == [.idle(false), .deliverRequest(1, endStream: false)])
        #expect(sm.on(.headers(3, endStream: true, valid: true), 0) == [.deliverRequest(3, endStream: true)])
        #expect(sm.streamIsOpen(1) && sm.responseOpen(1))
        #expect(sm.on(.responseEnded(3), 0).isEmpty)
        #expect(!sm.responseOpen(3))
        #expect(sm.on(.streamClosed(3, code: nil), 0).isEmpty)
        // Stream 1 goes away before its response: its handler is told, and the connection is idle.
        #expect(sm.on(.streamClosed(1, code: .cancel), 1) == [.idle(true), .failRequest(1, code: .cancel)])
        #expect(!sm.streamIsOpen(1))
    }

    @Test func malformedHeadersResetTheStreamWithProtocolError() {
        var sm = SM(policy)
        #expect(sm.on(.headers(1, endStream: true, valid: false), 0) == [.idle(false), .resetStream(1, code: .protocolError)])
        #expect(sm.requestCount == 1)
        #expect(sm.highestPeerStreamID == 1)
        #expect(sm.on(.streamClosed(1, code: .protocolError), 0) == [.idle(true)], "no handler to fail")
    }

    @Test func malformedTrailersResetTheStreamAndTheCloseFailsTheRequest() {
        var sm = SM(policy)
        _ = sm.on(.headers(1, endStream: false, valid: true), 0)
        #expect(sm.on(.headers(1, endStream: true, valid: false), 0) == [.resetStream(1, code: .protocolError)])
        #expect(sm.protection.streamErrors == 1)
        #expect(sm.on(.streamClosed(1, code: .protocolError), 0) == [.idle(true), .failRequest(1, code: .protocolError)])
    }

    /// Malformed blocks are stream errors (MadeYouReset): over `streamErrorRateLimit` within its
    /// window the connection ends instead, with no RST_STREAM for the one over; swift-nio-http2's
    /// stream errors count with ours.
    @Test func malformedRequestsOverTheStreamErrorLimitEndTheConnection() {
        let protection = ServerProtectionPolicy(streamErrorRateLimit: .init(maximumCount: 3, window: .seconds(10)), windowUpdateAllowance: nil, headerTimeout: nil, sendStallTimeout: nil)
        var sm = SM(policy, protection: protection)
        #expect(sm.on(.headers(1, endStream: true, valid: false), 0) == [.idle(false), .resetStream(1, code: .protocolError)])
        #expect(sm.on(.libraryStreamError, 1).isEmpty)
        #expect(sm.on(.headers(3, endStream: true, valid: false), 2) == [.resetStream(3, code: .protocolError)])
        // At 10.5 s the first error is out of the window: three in it, still allowed; at 11 s the
        // second is exactly 10 s old, still in: four.
        #expect(sm.on(.headers(5, endStream: true, valid: false), 10.5) == [.resetStream(5, code: .protocolError)])
        #expect(sm.on(.headers(7, endStream: true, valid: false), 11) == [
            .protectionTriggered(.rapidReset),
            .sendGoAway(lastStreamID: 5, code: .enhanceYourCalm, debugData: "rapid_reset", reason: .rapidReset), .close,
        ])
        #expect(sm.isClosed && sm.highestPeerStreamID == 5)
    }

    @Test func streamErrorsOverTheConnectionsGlitchesEndIt() {
        let protection = ServerProtectionPolicy(maximumConnectionGlitches: 2, windowUpdateAllowance: nil, headerTimeout: nil, sendStallTimeout: nil)
        var sm = SM(policy, protection: protection)
        #expect(sm.on(.libraryStreamError, 0).isEmpty)
        #expect(sm.on(.libraryStreamError, 100).isEmpty)
        #expect(sm.on(.libraryStreamError, 200) == [
            .protectionTriggered(.rapidReset),
            .sendGoAway(lastStreamID: .root, code: .enhanceYourCalm, debugData: "rapid_reset", reason: .rapidReset), .close,
        ])
    }

    @Test func bodyBytesGoToTheHandlerAndTheWindowReturnsAsItReads() {
        var sm = SM(policy, window: 1000)
        _ = sm.on(.headers(1, endStream: false, valid: true), 0)
        // Delivered, not consumed: no stream WINDOW_UPDATE; the connection's comes on arrival.
        #expect(sm.on(.data(1, bytes: 400, paddingBytes: nil, endStream: false), 0) == [.deliverData(1, endStream: false)])
        #expect(sm.on(.data(1, bytes: 200, paddingBytes: nil, endStream: false), 0) == [.windowUpdate(.root, increment: 600), .deliverData(1, endStream: false)])
        #expect(sm.on(.bodyConsumed(1, bytes: 300), 0).isEmpty, "below half the window")
        #expect(sm.on(.bodyConsumed(1, bytes: 300), 0) == [.windowUpdate(1, increment: 600)])
        // END_STREAM: the body ends, and no update follows for that stream.
        #expect(sm.on(.data(1, bytes: 100, paddingBytes: nil, endStream: true), 0) == [.deliverData(1, endStream: true)])
        #expect(sm.on(.bodyConsumed(1, bytes: 100), 0).isEmpty)
    }

    @Test(arguments: [
        // (data bytes, pad length) → flow-controlled bytes: the pad length octet and the pad, once
        (0, 0, 1), (0, 255, 256), (10, 0, 11), (100, 9, 110),
    ])
    func paddingIsCountedOnceAndReturnedAtOnce(bytes: Int, pad: Int, controlled: Int) {
        var sm = SM(policy, window: 2)
        _ = sm.on(.headers(1, endStream: false, valid: true), 0)
        let actions = sm.on(.data(1, bytes: bytes, paddingBytes: pad, endStream: false), 0)
        #expect(actions.contains(.windowUpdate(.root, increment: controlled)))
        // The stream gets the padding back at once; the data only when read.
        #expect(actions.contains(.windowUpdate(1, increment: pad + 1)))
        #expect(sm.on(.bodyConsumed(1, bytes: bytes), 0) == (bytes >= 1 ? [.windowUpdate(1, increment: bytes)] : []))
    }

    @Test func trailersEndTheBody() {
        var sm = SM(policy)
        _ = sm.on(.headers(1, endStream: false, valid: true), 0)
        #expect(sm.on(.headers(1, endStream: true, valid: true), 0) == [.endRequestBody(1)])
        #expect(sm.requestCount == 1, "trailers are not a request")
    }

    @Test func aPeerResetFailsTheHandlerOnceAndIsCounted() {
        var sm = SM(policy)
        _ = sm.on(.headers(1, endStream: false, valid: true), 0)
        #expect(sm.on(.streamReset(1, code: .cancel), 0) == [.failRequest(1, code: .cancel)])
        #expect(sm.frameCounts.resets == 1)
        #expect(sm.on(.streamReset(9, code: .cancel), 0).isEmpty, "unknown stream: only counted")
        #expect(sm.frameCounts.resets == 2)
    }

    @Test func anAnswerBeforeTheUploadEndsLingersThenResetsAfterHalfAWindow() {
        var sm = SM(policy, window: 1000)
        _ = sm.on(.headers(1, endStream: false, valid: true), 0)
        // The handler answers without reading: its body ends, the stream stays open.
        #expect(sm.on(.dataSent(1, bytes: 5, endStream: true, awaited: false), 0) == [.endRequestBody(1)])
        #expect(sm.streamIsOpen(1) && !sm.responseOpen(1))
        // Later bytes are discarded and the window stays closed…
        #expect(sm.on(.data(1, bytes: 300, paddingBytes: nil, endStream: false), 0).isEmpty)
        // …until they cost half a window: RST_STREAM(NO_ERROR) ends the upload (RFC 9113 §8.1).
        #expect(sm.on(.data(1, bytes: 200, paddingBytes: nil, endStream: false), 0) == [.windowUpdate(.root, increment: 500), .resetStream(1, code: .noError)])
    }

    @Test func aLingeringUploadIsEndedAtTheSecondStallCheck() {
        let protection = ServerProtectionPolicy(windowUpdateAllowance: nil, headerTimeout: nil, sendStallTimeout: .seconds(30), maxConnections: nil)
        var sm = SM(policy, protection: protection)
        _ = sm.on(.headers(1, endStream: false, valid: true), 0)
        #expect(sm.deadline(.stall) == t(30))
        _ = sm.on(.responseEnded(1), 1)
        #expect(sm.due(30).isEmpty, "first sighting")
        #expect(sm.due(60) == [.resetStream(1, code: .noError)])
        // The request ends normally after all: nothing more.
        _ = sm.on(.data(1, bytes: 0, paddingBytes: nil, endStream: true), 61)
        #expect(sm.on(.streamClosed(1, code: nil), 61) == [.idle(true)])
    }

    @Test func aResponseBlockedAtTwoStallChecksEndsTheConnection() {
        let protection = ServerProtectionPolicy(windowUpdateAllowance: nil, headerTimeout: nil, sendStallTimeout: .seconds(30), maxConnections: nil)
        var sm = SM(policy, protection: protection)
        _ = sm.on(.headers(1, endStream: true, valid: true), 0)
        _ = sm.on(.dataSent(1, bytes: 16384, endStream: false, awaited: true), 1)
        #expect(sm.due(30).isEmpty)
        #expect(sm.due(60) == [.protectionTriggered(.sendTimeout), .sendGoAway(lastStreamID: 1, code: .noError, debugData: "send_timeout", reason: .sendTimeout), .close])
    }

    @Test func progressBetweenStallChecksKeepsTheConnection() {
        let protection = ServerProtectionPolicy(windowUpdateAllowance: nil, headerTimeout: nil, sendStallTimeout: .seconds(30), maxConnections: nil)
        var sm = SM(policy, protection: protection)
        _ = sm.on(.headers(1, endStream: true, valid: true), 0)
        _ = sm.on(.dataSent(1, bytes: 100, endStream: false, awaited: true), 1)
        #expect(sm.due(30).isEmpty)
        _ = sm.on(.writeSettled(1), 31)
        _ = sm.on(.dataSent(1, bytes: 100, endStream: false, awaited: true), 32)
        #expect(sm.due(60).isEmpty)
        #expect(sm.deadline(.stall) == t(90))
    }

    @Test func aSilentPrefaceIsAHeaderTimeout() {
        let protection = ServerProtectionPolicy(windowUpdateAllowance: nil, headerTimeout: .seconds(10), sendStallTimeout: nil, maxConnections: nil)
        var sm = SM(policy, protection: protection, started: false)
        _ = sm.on(.started(jitter: 0, refuse: false), 0)
        #expect(sm.deadline(.header) == t(10))
        #expect(sm.due(10) == [.protectionTriggered(.headerTimeout), .sendGoAway(lastStreamID: 0, code: .enhanceYourCalm, debugData: "header_timeout", reason: .headerTimeout), .close])
    }

    @Test func aFrameInProgressMustBeCompletedInTime() {
        let protection = ServerProtectionPolicy(windowUpdateAllowance: nil, headerTimeout: .seconds(10), sendStallTimeout: nil, maxConnections: nil)
        var sm = SM(policy, protection: protection, started: false)
        _ = sm.on(.started(jitter: 0, refuse: false), 0)
        _ = sm.on(.readBatchEnded(waitingForFrame: false, framesCompleted: 2), 1)
        #expect(sm.due(10).isEmpty, "the preface arrived")
        #expect(sm.deadline(.header) == nil)
        // A frame begun at t=12 and never finished.
        _ = sm.on(.readBatchEnded(waitingForFrame: true, framesCompleted: 3), 12)
        #expect(sm.deadline(.header) == t(22))
        #expect(sm.due(22).first == .protectionTriggered(.headerTimeout))
    }

    @Test func windowUpdatesBeyondTheBudgetAreAbuse() {
        let protection = ServerProtectionPolicy(windowUpdateAllowance: 3, headerTimeout: nil, sendStallTimeout: nil, maxConnections: nil)
        var sm = SM(policy, protection: protection)
        for _ in 0..<3 { _ = sm.on(.windowUpdate, 0) }
        #expect(sm.on(.readBatchEnded(waitingForFrame: false, framesCompleted: 3), 0).isEmpty)
        _ = sm.on(.windowUpdate, 0)
        #expect(sm.on(.readBatchEnded(waitingForFrame: false, framesCompleted: 4), 0).first == .protectionTriggered(.windowUpdateAbuse))
    }

    @Test func answersCompletedDuringADrainAreCounted() {
        var sm = SM(policy)
        _ = sm.open(1, 0)
        _ = sm.open(3, 0)
        _ = sm.finish(1, 0.5)
        _ = sm.on(.shutdownRequested(.shutdown), 1)
        _ = sm.finish(3, 1.5)
        #expect(sm.connectionClosed()?.requestsCompletedDuringDrain == 1)
    }
}
