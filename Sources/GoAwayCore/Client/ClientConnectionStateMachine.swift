/// One client HTTP/2 connection as a value: frames and loop time in, one small result per event
/// out. It owns every timer and deadline of the connection (the server's first SETTINGS, the ack of
/// ours, keepalive and the dead-peer health check, response idle) and the per-stream decisions (stream ids, receive
/// windows, body size); the NIO handler translates frames into events and runs the results.
///
/// ```
///  idle ──activated──▶ connecting ──SETTINGS──▶ ready ──GOAWAY received / close requested──▶ closing
///                          │                      │                                          │
///                          └──────────────── failure (first error kept) ─────────────────────┤
///                                                                                             ▼
///                                               channel inactive (from any state) ───────▶ closed
/// ```
/// - First-SETTINGS deadline: armed at `activated` (the TCP connection is up) when `settingsTimeout`
///   is set, cleared by the server's first SETTINGS; missing it is `connectTimedOut` (close, no
///   GOAWAY: the connect failed, as a timeout). It wins over the SETTINGS-ack deadline: without the
///   server's SETTINGS, the missing ack says nothing more.
/// - SETTINGS-ack deadline: armed at `activated`, cleared by the ack; missing it is
///   `failConnection(GOAWAY(SETTINGS_TIMEOUT))` (RFC 9113 §6.5.3).
/// - PING (keepalive and health check): after `keepaliveInterval` of silence (no frame received),
///   and after `readIdleTimeout` of silence while streams are open (Go's `ReadIdleTimeout`). One
///   PING at a time, each with its own payload; only the ack with that payload clears it, and the
///   timeout runs from that PING. No ack within `pingTimeout`: the connection is dead —
///   `failConnection` without GOAWAY; the pool then re-sends what may be re-sent.
/// - Response idle: a stream whose reader has taken what it was given and that got no DATA for
///   `responseIdleTimeout` fails (checked by a sweep every quarter of it). A stream whose reader is
///   slow is never idle: its window is closed by us, not by the server.
/// - Windows: the connection's is returned on arrival, a stream's as its reader consumes, so one
///   stalled reader holds at most one stream window and never starves the other streams.
///
/// Timers: `nextDeadline` is the earliest instant the shell must call `deadlinesPassed(now:)`;
/// calling it early is harmless (`.none`), so the shell re-arms only when the deadline moves
/// earlier. Call `deadlinesPassed` until it returns `.none`.
public struct ClientConnectionStateMachine: Sendable {
    /// The limits and timers it applies (the keepalive interval may change: `keepaliveIntervalChanged`).
    public private(set) var configuration: Configuration
    var state: State = .idle
    /// The live payload (`Live.none` while idle and once closed).
    var body = Live.none
    /// The lowest last-stream-id of the GOAWAYs received.
    public private(set) var lastStreamID: StreamID?
    /// Why the connection failed, the first reason kept; named in the errors it causes.
    public private(set) var failure: String?

    /// Payloads are `pingPayloadBase + n`: the n-th PING of this connection.
    public static let pingPayloadBase: UInt64 = 0x676F_6177_6179_0000

    /// A machine for a connection not yet started.
    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The connection's phase.
    public var phase: Phase {
        switch state {
        case .idle: .idle
        case .connecting: .connecting
        case .ready: .ready
        case .closing: .closing
        case .closed: .closed
        }
    }

    /// Streams the core tracks (opened, not yet closed).
    public var openStreams: [StreamID] { live?.streams.keys.sorted() ?? [] }
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS, once known; `nil`: no limit or not yet.
    public var maxConcurrentStreams: Int? { live?.maxConcurrentStreams }
    /// The window a stream's reader holds (tests: never above the receive window).
    public func heldBytes(_ stream: StreamID) -> Int? { live?.streams[stream]?.window.held }

    /// A copy of the live payload; `nil` when idle or closed.
    var live: Live? { state.isLive ? body : nil }

    /// Runs `change` on the live payload in place; `nil` when idle or closed.
    mutating func modify<R>(_ change: (inout Live) -> R) -> R? {
        guard state.isLive else { return nil }
        return change(&body)
    }

    // MARK: lifecycle

    /// The channel is active: our preface and SETTINGS are on their way. Returns the connection
    /// window's raise from 65,535 to ours, if any.
    public mutating func activated(now: Instant) -> Int? {
        guard case .idle = state else { return nil }
        body = Live(
            connectionWindow: InboundWindow(target: configuration.receiveWindow, advertised: InboundWindow.protocolDefault),
            lastRead: now, streamsOpenSince: now)
        body.settingsAckDeadline = now + configuration.settingsAckTimeout
        body.settingsDeadline = configuration.settingsTimeout.map { now + $0 }
        state = .connecting
        return body.connectionWindow.openingIncrement()
    }

    /// What the server's SETTINGS change.
    public enum OnSettings: Hashable, Sendable {
        /// The first SETTINGS: the connection is ready.
        case ready(maxConcurrentStreams: Int?)
        case maxConcurrentStreamsChanged(Int)
        case none
    }

    /// `initialWindowSize`: the SETTINGS_INITIAL_WINDOW_SIZE in this frame, if any; it moves every
    /// stream's send window by the difference (§6.9.2).
    public mutating func settingsReceived(maxConcurrentStreams limit: Int?, initialWindowSize: Int? = nil) -> OnSettings {
        // The first SETTINGS came (also after a GOAWAY): the connect did not time out.
        modify { $0.settingsDeadline = nil }
        if let initialWindowSize {
            modify { l in
                let delta = initialWindowSize - l.peerInitialWindow
                l.peerInitialWindow = initialWindowSize
                for id in l.streams.keys { l.streams.modify(id) { $0.sendWindow += delta } }
            }
        }
        switch state {
        case .connecting:
            body.maxConcurrentStreams = limit
            state = .ready
            return .ready(maxConcurrentStreams: limit)
        case .ready, .closing:
            return modify { l in
                guard let limit, limit != l.maxConcurrentStreams else { return OnSettings.none }
                l.maxConcurrentStreams = limit
                return .maxConcurrentStreamsChanged(limit)
            } ?? .none
        case .idle, .closed:
            return .none
        }
    }

    /// The server acknowledged our SETTINGS: the ack deadline is gone.
    public mutating func settingsAckReceived() {
        modify { $0.settingsAckDeadline = nil }
    }

    /// Any frame arrived: the peer is alive.
    public mutating func frameReceived(now: Instant) {
        modify { $0.lastRead = now }
    }

    /// Only the ack of the PING we wait for clears it (RFC 9113 §6.7: the payload is echoed).
    public mutating func pingAckReceived(payload: UInt64) {
        modify { l in
            if l.ping?.payload == payload { l.ping = nil }
        }
    }

    /// A GOAWAY: no new streams; streams at or below `lastStreamID` run to their end.
    public mutating func goAwayReceived(lastStreamID last: StreamID) {
        lastStreamID = min(lastStreamID ?? last, last)
        switch state {
        case .connecting, .ready:
            state = .closing
        default:
            break
        }
    }

    /// How the connection ends.
    public enum OnClose: Hashable, Sendable {
        /// Send GOAWAY(code) (last-id 0: we accept no pushes), then close the channel.
        case sendGoAwayAndClose(HTTP2ErrorCode)
        /// Close the channel (the peer is dead or broke the protocol: say nothing).
        case close
        case none
    }

    /// We are done with the connection (drained, shutting down).
    public mutating func closeRequested() -> OnClose {
        guard state.isLive, !body.closeInitiated else { return .none }
        body.closeInitiated = true
        state = .closing
        return .sendGoAwayAndClose(.noError)
    }

    /// A connection error (swift-nio-http2 caught one, or ours): the first reason is kept.
    public mutating func connectionFailed(_ reason: String, code: HTTP2ErrorCode? = nil) -> OnClose {
        failure = failure ?? reason
        guard state.isLive, !body.closeInitiated else { return .none }
        body.closeInitiated = true
        state = .closing
        return code.map { .sendGoAwayAndClose($0) } ?? .close
    }

    /// The channel is gone (the shell ends the streams still open).
    public mutating func channelInactive() {
        state = .closed
        body = .none
    }

    // MARK: streams

    /// Whether a new request may have a stream here.
    public enum OnOpenStream: Hashable, Sendable {
        case open(StreamID)
        /// This connection takes no new streams (GOAWAY, closing, closed, ids spent): never sent.
        case refuse
    }

    /// The next client stream id, or `.refuse` when this connection takes no new streams.
    public mutating func openStream(now: Instant) -> OnOpenStream {
        guard state.isLive, state != .closing, !body.closeInitiated, lastStreamID == nil, body.nextStreamID < Int32.max - 2 else {
            return .refuse
        }
        let window = configuration.receiveWindow
        return modify { l in
            let id = StreamID(l.nextStreamID)
            l.nextStreamID += 2
            if l.streams.isEmpty { l.streamsOpenSince = now }
            l.streams[id] = Stream(window: InboundWindow(target: window), lastProgress: now, sendWindow: l.peerInitialWindow)
            return OnOpenStream.open(id)
        } ?? .refuse
    }

    /// What to do with a response head.
    public enum OnResponseHead: Hashable, Sendable {
        case deliver
        /// content-length beyond `maxResponseBodySize`.
        case tooLarge(detail: String)
        /// Not a stream we track (already ended).
        case ignore
    }

    /// A final (non-1xx) response head for `stream`.
    public mutating func responseHead(_ stream: StreamID, contentLength: Int?, now: Instant) -> OnResponseHead {
        let limit = configuration.maxResponseBodySize
        let idle = configuration.responseIdleTimeout
        return modify { l in
            guard l.streams.modify(stream, { (s: inout Stream) -> Void in s.responded = true; s.lastProgress = now }) != nil else { return OnResponseHead.ignore }
            if let idle, l.nextSweep == nil { l.nextSweep = now + Self.sweepEvery(idle) }
            if let limit, let contentLength, contentLength > limit {
                return .tooLarge(detail: "content-length \(contentLength) exceeds \(limit) bytes (maxResponseBodySize)")
            }
            return .deliver
        } ?? .ignore
    }

    /// What to do with a DATA frame: hand it on or not, and what credit to send back.
    public struct OnData: Hashable, Sendable {
        /// Where the data goes.
        public enum Delivery: Hashable, Sendable {
            /// Hand the data to the reader.
            case deliver
            /// Hand the data to the reader, then end the body.
            case deliverAndEnd
            /// The body outgrew `maxResponseBodySize`: fail it, reset the stream.
            case tooLarge(detail: String)
            /// Nobody reads this stream (unknown, ended, or no head yet).
            case ignore
        }
        /// Where the data goes.
        public var delivery: Delivery
        /// WINDOW_UPDATE for the stream (padding goes back at once), then for the connection.
        public var streamWindowUpdate: Int?
        /// WINDOW_UPDATE for the connection (credit on arrival).
        public var connectionWindowUpdate: Int?
        /// A result; no window updates by default.
        public init(delivery: Delivery, streamWindowUpdate: Int? = nil, connectionWindowUpdate: Int? = nil) {
            self.delivery = delivery
            self.streamWindowUpdate = streamWindowUpdate
            self.connectionWindowUpdate = connectionWindowUpdate
        }
    }

    /// A DATA frame arrived on `stream`: flow control (padding counted once), the body limit, the response idle timer.
    public mutating func dataReceived(_ stream: StreamID, dataBytes: Int, paddingBytes: Int?, endStream: Bool, now: Instant) -> OnData {
        let limit = configuration.maxResponseBodySize
        return modify { l in
            let connection = l.connectionWindow.received(dataBytes: dataBytes, paddingBytes: paddingBytes, delivered: false)
            guard var s = l.streams[stream], s.responded else { return OnData(delivery: .ignore, connectionWindowUpdate: connection) }
            s.received += dataBytes
            s.lastProgress = now
            if let limit, s.received > limit {
                l.streams[stream] = s
                return OnData(delivery: .tooLarge(detail: "response body exceeds \(limit) bytes (maxResponseBodySize)"), connectionWindowUpdate: connection)
            }
            if endStream { s.window.close() }
            let update = s.window.received(dataBytes: dataBytes, paddingBytes: paddingBytes, delivered: true)
            l.streams[stream] = s
            return OnData(delivery: endStream ? .deliverAndEnd : .deliver, streamWindowUpdate: update, connectionWindowUpdate: connection)
        } ?? OnData(delivery: .ignore)
    }

    /// The reader took `bytes` of the body. Returns the stream's WINDOW_UPDATE increment, if due.
    public mutating func bodyConsumed(_ stream: StreamID, bytes: Int, now: Instant) -> Int? {
        modify { l in
            l.streams.modify(stream) { s -> Int? in
                s.lastProgress = now
                return s.window.consumed(bytes)
            } ?? nil
        } ?? nil
    }

    /// We wrote `bytes` of request body DATA on the stream.
    public mutating func dataSent(_ stream: StreamID, bytes: Int) {
        modify { l in l.streams.modify(stream) { $0.sendWindow -= bytes } }
    }

    /// What a WINDOW_UPDATE from the server leads to.
    public enum OnWindowUpdate: Hashable, Sendable {
        case none
        /// A stream error (RFC 9113 §6.9, §6.9.1): RST_STREAM(code), the stream is over.
        case resetStream(HTTP2ErrorCode)
    }

    /// A WINDOW_UPDATE for a stream that swift-nio-http2 let through. It checks the streams it
    /// still sends on; once our request has ended (half-closed local, every GET) it checks nothing,
    /// so the two stream errors of §6.9 and §6.9.1 are ours to find: increment 0 is PROTOCOL_ERROR,
    /// a window beyond 2^31-1 is FLOW_CONTROL_ERROR.
    public mutating func windowUpdateReceived(_ stream: StreamID, increment: Int) -> OnWindowUpdate {
        modify { l in
            l.streams.modify(stream) { s -> OnWindowUpdate in
                if increment == 0 { return .resetStream(.protocolError) }
                s.sendWindow += increment
                return s.sendWindow > InboundWindow.maximum ? .resetStream(.flowControlError) : .none
            } ?? OnWindowUpdate.none
        } ?? .none
    }

    /// The stream is over (complete, reset, failed): forget it.
    public mutating func streamClosed(_ stream: StreamID) {
        modify { l in
            l.streams.removeValue(forKey: stream)
            if l.streams.values.allSatisfy({ !$0.responded }) { l.nextSweep = nil }
        }
    }

    /// The pool changed the keepalive interval (doubled on GOAWAY "too_many_pings").
    public mutating func keepaliveIntervalChanged(_ interval: Duration?) {
        configuration.keepaliveInterval = interval
    }
}
