import Testing

@testable import GoAwayCore

/// Virtual time: `t(s)` is s seconds after the origin; nothing sleeps.
struct ClientConnectionStateMachineTests {
    typealias SM = ClientConnectionStateMachine
    static func t(_ seconds: Double) -> Instant { Instant(nanoseconds: Int64(seconds * 1e9)) }
    func t(_ seconds: Double) -> Instant { Self.t(seconds) }

    static func config(
        window: Int = 1000, keepalive: Duration? = nil, readIdle: Duration? = .seconds(30), ping: Duration = .seconds(20),
        idle: Duration? = nil, maxBody: Int? = nil
    ) -> SM.Configuration {
        SM.Configuration(
            receiveWindow: window, settingsAckTimeout: .seconds(10), keepaliveInterval: keepalive, readIdleTimeout: readIdle,
            pingTimeout: ping, responseIdleTimeout: idle, maxResponseBodySize: maxBody)
    }

    /// Active, SETTINGS received and acked at t=0.
    static func ready(_ c: SM.Configuration = config()) -> SM {
        var sm = SM(configuration: c)
        _ = sm.activated(now: t(0))
        _ = sm.settingsReceived(maxConcurrentStreams: 100)
        sm.settingsAckReceived()
        return sm
    }

    /// Every deadline result from `now` on, until `.none`.
    static func drain(_ sm: inout SM, at now: Instant) -> [SM.OnDeadline] {
        var out: [SM.OnDeadline] = []
        while true {
            let r = sm.deadlinesPassed(now: now)
            if r == .none { return out }
            out.append(r)
        }
    }

    @Test func lifecycleConnectingReadyClosingClosed() {
        var sm = SM(configuration: Self.config(window: 1 << 20))
        #expect(sm.phase == .idle)
        #expect(sm.activated(now: t(0)) == (1 << 20) - 65_535)
        #expect(sm.activated(now: t(0)) == nil)
        #expect(sm.phase == .connecting)
        #expect(sm.settingsReceived(maxConcurrentStreams: 10) == .ready(maxConcurrentStreams: 10))
        #expect(sm.phase == .ready)
        #expect(sm.settingsReceived(maxConcurrentStreams: 10) == .none)
        #expect(sm.settingsReceived(maxConcurrentStreams: nil) == .none)
        #expect(sm.settingsReceived(maxConcurrentStreams: 20) == .maxConcurrentStreamsChanged(20))
        #expect(sm.openStream(now: t(1)) == .open(1))
        #expect(sm.openStream(now: t(1)) == .open(3))
        sm.goAwayReceived(lastStreamID: 3)
        sm.goAwayReceived(lastStreamID: 5)  // a raised last-id is ignored
        #expect(sm.lastStreamID == 3)
        #expect(sm.phase == .closing)
        #expect(sm.openStream(now: t(2)) == .refuse)
        #expect(sm.closeRequested() == .sendGoAwayAndClose(.noError))
        #expect(sm.closeRequested() == .none)
        sm.channelInactive()
        #expect(sm.phase == .closed)
        #expect(sm.openStream(now: t(3)) == .refuse)
        #expect(sm.nextDeadline == nil)
    }

    @Test func settingsAckDeadline() {
        var sm = SM(configuration: Self.config())
        _ = sm.activated(now: t(0))
        #expect(sm.nextDeadline == t(10))
        #expect(sm.deadlinesPassed(now: t(9.9)) == .none)
        #expect(sm.deadlinesPassed(now: t(10)) == .failConnection(code: .settingsTimeout, reason: "no SETTINGS ack within 10 s"))
        #expect(sm.failure == "no SETTINGS ack within 10 s")
        #expect(sm.phase == .closing)
        #expect(sm.nextDeadline == nil)
        #expect(sm.deadlinesPassed(now: t(20)) == .none)
    }

    @Test func settingsAckClearsTheDeadline() {
        var sm = SM(configuration: Self.config(readIdle: nil))
        _ = sm.activated(now: t(0))
        sm.settingsAckReceived()
        #expect(sm.nextDeadline == nil)
        #expect(sm.deadlinesPassed(now: t(100)) == .none)
    }

    /// The connect timeout covers the server's first SETTINGS, from `activated` (TCP up): close
    /// without GOAWAY, and say so as a timeout.
    @Test func firstSettingsDeadline() {
        var c = Self.config(readIdle: nil)
        c.settingsTimeout = .seconds(2)
        var sm = SM(configuration: c)
        #expect(sm.nextDeadline == nil, "not before the connection is up")
        _ = sm.activated(now: t(5))
        #expect(sm.nextDeadline == t(7))
        #expect(sm.deadlinesPassed(now: t(6.9)) == .none)
        #expect(sm.deadlinesPassed(now: t(7)) == .connectTimedOut(after: .seconds(2)))
        #expect(sm.failure == "no SETTINGS from the server within 2 s")
        #expect(sm.phase == .closing)
        #expect(sm.nextDeadline == nil)
        #expect(sm.deadlinesPassed(now: t(20)) == .none)
    }

    /// The server's first SETTINGS clears it, also when a GOAWAY came first; the ack's deadline stays.
    @Test(arguments: [false, true])
    func firstSettingsClearTheDeadline(goAwayFirst: Bool) {
        var c = Self.config(readIdle: nil)
        c.settingsTimeout = .seconds(2)
        var sm = SM(configuration: c)
        _ = sm.activated(now: t(0))
        if goAwayFirst { sm.goAwayReceived(lastStreamID: 0) }
        _ = sm.settingsReceived(maxConcurrentStreams: 10)
        #expect(sm.nextDeadline == t(10))
        #expect(Self.drain(&sm, at: t(5)) == [])
        sm.settingsAckReceived()
        #expect(sm.nextDeadline == nil)
    }

    /// Neither the server's SETTINGS nor the ack of ours by the same instant: the connect timed
    /// out (the missing ack says nothing more), and the connection fails once.
    @Test func missingSettingsWinOverTheMissingAck() {
        var c = Self.config()
        c.settingsTimeout = c.settingsAckTimeout
        var sm = SM(configuration: c)
        _ = sm.activated(now: t(0))
        #expect(Self.drain(&sm, at: t(10)) == [.connectTimedOut(after: .seconds(10))])
        #expect(sm.failure == "no SETTINGS from the server within 10 s")
    }

    @Test func firstErrorIsKept() {
        var sm = Self.ready()
        #expect(sm.connectionFailed("connection error: A") == .close)
        #expect(sm.connectionFailed("connection error: B") == .none)
        #expect(sm.failure == "connection error: A")
        sm.channelInactive()
        #expect(sm.failure == "connection error: A")
    }

    /// The health check: silence with a stream open -> PING; no ack -> dead.
    @Test func silentPeerWithOpenStreamIsDeclaredDead() {
        var sm = Self.ready()
        // No streams: no health check.
        #expect(sm.nextDeadline == nil)
        #expect(sm.openStream(now: t(5)) == .open(1))
        // Silence counts from when streams became open.
        #expect(sm.nextDeadline == t(35))
        sm.frameReceived(now: t(10))
        #expect(sm.nextDeadline == t(40))
        #expect(sm.deadlinesPassed(now: t(39)) == .none)
        #expect(sm.deadlinesPassed(now: t(40)) == .sendPing(payload: SM.pingPayloadBase + 1))
        #expect(sm.nextDeadline == t(60))
        // A frame does not clear the PING; an ack with another payload does not either.
        sm.frameReceived(now: t(45))
        sm.pingAckReceived(payload: 42)
        #expect(sm.nextDeadline == t(60))
        #expect(Self.drain(&sm, at: t(60)) == [
            .failConnection(code: nil, reason: "no PING ack within 20 s (the peer went silent)"),
        ])
        #expect(sm.failure == "no PING ack within 20 s (the peer went silent)")
        #expect(sm.phase == .closing)
    }

    @Test func matchingAckClearsThePingAndSilenceStartsAgain() {
        var sm = Self.ready()
        _ = sm.openStream(now: t(0))
        #expect(sm.deadlinesPassed(now: t(30)) == .sendPing(payload: SM.pingPayloadBase + 1))
        sm.frameReceived(now: t(31))
        sm.pingAckReceived(payload: SM.pingPayloadBase + 1)
        #expect(sm.nextDeadline == t(61))
        #expect(sm.deadlinesPassed(now: t(61)) == .sendPing(payload: SM.pingPayloadBase + 2))
        // The timeout runs from that PING, not from the first.
        #expect(sm.nextDeadline == t(81))
    }

    @Test func healthCheckStopsWhenStreamsEndAndKeepaliveGoesOn() {
        var sm = Self.ready(Self.config(readIdle: .seconds(5)))
        _ = sm.openStream(now: t(0))
        #expect(sm.nextDeadline == t(5))
        sm.streamClosed(1)
        #expect(sm.nextDeadline == nil)
        // Keepalive pings idle connections too; the shorter interval wins while streams are open.
        sm.keepaliveIntervalChanged(.seconds(60))
        #expect(sm.nextDeadline == t(60))
        _ = sm.openStream(now: t(10))
        #expect(sm.nextDeadline == t(15))
    }

    @Test func healthCheckOffMeansNoPing() {
        var sm = Self.ready(Self.config(readIdle: nil))
        _ = sm.openStream(now: t(0))
        #expect(sm.nextDeadline == nil)
        #expect(sm.deadlinesPassed(now: t(1000)) == .none)
    }

    @Test func healthCheckGoesOnWhileDraining() {
        var sm = Self.ready()
        _ = sm.openStream(now: t(0))
        sm.goAwayReceived(lastStreamID: 1)
        #expect(sm.deadlinesPassed(now: t(30)) == .sendPing(payload: SM.pingPayloadBase + 1))
        #expect(sm.deadlinesPassed(now: t(50)) == .failConnection(code: nil, reason: "no PING ack within 20 s (the peer went silent)"))
    }

    @Test func streamIDsAreSpentInOrderAndRunOut() {
        var sm = Self.ready()
        var ids: [StreamID] = []
        for _ in 0..<3 { if case .open(let id) = sm.openStream(now: t(0)) { ids.append(id) } }
        #expect(ids == [1, 3, 5])
    }

    /// Back-pressure: the connection window returns on arrival, the stream's only as it is read.
    @Test func streamWindowReturnsAsTheReaderConsumes() {
        var sm = Self.ready(Self.config(window: 1000))
        _ = sm.openStream(now: t(0))
        #expect(sm.responseHead(1, contentLength: nil, now: t(0)) == .deliver)
        #expect(sm.dataReceived(1, dataBytes: 499, paddingBytes: nil, endStream: false, now: t(1))
            == SM.OnData(delivery: .deliver))
        #expect(sm.dataReceived(1, dataBytes: 1, paddingBytes: nil, endStream: false, now: t(1))
            == SM.OnData(delivery: .deliver, connectionWindowUpdate: 500))
        #expect(sm.dataReceived(1, dataBytes: 500, paddingBytes: nil, endStream: false, now: t(1))
            == SM.OnData(delivery: .deliver, connectionWindowUpdate: 500))
        // The reader stalled: it holds the whole window, and no stream update went out.
        #expect(sm.heldBytes(1) == 1000)
        #expect(sm.bodyConsumed(1, bytes: 400, now: t(2)) == nil)
        #expect(sm.bodyConsumed(1, bytes: 100, now: t(2)) == 500)
        #expect(sm.heldBytes(1) == 500)
    }

    @Test func paddingGoesBackAtOnceAndCountsOnce() {
        var sm = Self.ready(Self.config(window: 1000))
        _ = sm.openStream(now: t(0))
        _ = sm.responseHead(1, contentLength: nil, now: t(0))
        // 0 data, 499 padding + the length octet = 500: credit for both windows at once.
        #expect(sm.dataReceived(1, dataBytes: 0, paddingBytes: 499, endStream: false, now: t(1))
            == SM.OnData(delivery: .deliver, streamWindowUpdate: 500, connectionWindowUpdate: 500))
    }

    @Test func endStreamSendsNoStreamUpdateAndUnknownStreamsOnlyCountForTheConnection() {
        var sm = Self.ready(Self.config(window: 1000))
        _ = sm.openStream(now: t(0))
        _ = sm.responseHead(1, contentLength: nil, now: t(0))
        #expect(sm.dataReceived(1, dataBytes: 600, paddingBytes: nil, endStream: true, now: t(1))
            == SM.OnData(delivery: .deliverAndEnd, connectionWindowUpdate: 600))
        #expect(sm.bodyConsumed(1, bytes: 600, now: t(1)) == nil)
        sm.streamClosed(1)
        #expect(sm.dataReceived(1, dataBytes: 500, paddingBytes: nil, endStream: false, now: t(1))
            == SM.OnData(delivery: .ignore, connectionWindowUpdate: 500))
    }

    @Test func bodySizeLimit() {
        var sm = Self.ready(Self.config(window: 1000, maxBody: 100))
        _ = sm.openStream(now: t(0))
        #expect(sm.responseHead(1, contentLength: 101, now: t(0)) == .tooLarge(detail: "content-length 101 exceeds 100 bytes (maxResponseBodySize)"))
        _ = sm.openStream(now: t(0))
        #expect(sm.responseHead(3, contentLength: nil, now: t(0)) == .deliver)
        #expect(sm.dataReceived(3, dataBytes: 100, paddingBytes: nil, endStream: false, now: t(0)).delivery == .deliver)
        #expect(sm.dataReceived(3, dataBytes: 1, paddingBytes: nil, endStream: false, now: t(0)).delivery
            == .tooLarge(detail: "response body exceeds 100 bytes (maxResponseBodySize)"))
    }

    /// A quiet server fails the stream; a slow reader never does (the window is closed by us).
    @Test func responseIdleTimeoutSparesSlowReaders() {
        var sm = Self.ready(Self.config(window: 1000, readIdle: nil, idle: .seconds(4)))
        _ = sm.openStream(now: t(0))
        _ = sm.openStream(now: t(0))
        _ = sm.responseHead(1, contentLength: nil, now: t(0))
        _ = sm.responseHead(3, contentLength: nil, now: t(0))
        // Stream 3's reader holds more than a report's worth (a quarter window) it has not taken.
        _ = sm.dataReceived(3, dataBytes: 300, paddingBytes: nil, endStream: false, now: t(0))
        #expect(sm.nextDeadline == t(1))
        #expect(Self.drain(&sm, at: t(1)) == [])
        #expect(Self.drain(&sm, at: t(4)) == [])
        #expect(Self.drain(&sm, at: t(5)) == [.failStreams([1], reason: "no response data within 4 s (responseIdleTimeout)")])
        sm.streamClosed(1)
        // Once stream 3's reader has taken everything, the wait on the server starts.
        _ = sm.bodyConsumed(3, bytes: 100, now: t(6))
        #expect(Self.drain(&sm, at: t(10)) == [])
        #expect(Self.drain(&sm, at: t(11)) == [.failStreams([3], reason: "no response data within 4 s (responseIdleTimeout)")])
        sm.streamClosed(3)
        #expect(sm.nextDeadline == nil)
    }

    /// §6.9 / §6.9.1 on streams swift-nio-http2 no longer checks (our side ended).
    @Test func windowUpdateStreamErrors() {
        var sm = Self.ready()
        #expect(sm.settingsReceived(maxConcurrentStreams: nil, initialWindowSize: 100) == .none)
        _ = sm.openStream(now: t(0))
        #expect(sm.windowUpdateReceived(1, increment: 0) == .resetStream(.protocolError))
        #expect(sm.windowUpdateReceived(1, increment: Int(Int32.max) - 100) == .none)
        #expect(sm.windowUpdateReceived(1, increment: 1) == .resetStream(.flowControlError))
        // Data we sent makes room; a SETTINGS change moves every stream's window.
        _ = sm.openStream(now: t(0))
        sm.dataSent(3, bytes: 50)
        #expect(sm.windowUpdateReceived(3, increment: Int(Int32.max) - 50) == .none)
        _ = sm.openStream(now: t(0))
        _ = sm.settingsReceived(maxConcurrentStreams: nil, initialWindowSize: 200)
        #expect(sm.windowUpdateReceived(5, increment: Int(Int32.max) - 200) == .none)
        #expect(sm.windowUpdateReceived(5, increment: 1) == .resetStream(.flowControlError))
        // Unknown streams: nothing.
        #expect(sm.windowUpdateReceived(99, increment: 0) == .none)
    }

    @Test func earlyCallsAreHarmless() {
        var sm = Self.ready()
        _ = sm.openStream(now: t(0))
        for s in stride(from: 0.0, to: 30.0, by: 0.5) { #expect(sm.deadlinesPassed(now: t(s)) == .none) }
        #expect(sm.deadlinesPassed(now: t(30)) == .sendPing(payload: SM.pingPayloadBase + 1))
    }
}
