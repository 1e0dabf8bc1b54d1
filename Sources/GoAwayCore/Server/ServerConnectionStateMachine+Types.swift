/// The vocabulary of `ServerConnectionStateMachine`: its states, the events the shell feeds it, the
/// actions it returns, the close summary, and one stream as the machine sees it.
extension ServerConnectionStateMachine {
    /// Where the connection is in its life (see the diagram on `ServerConnectionStateMachine`).
    public enum State: Sendable, Equatable {
        case active
        /// The shutdown notice (GOAWAY 2^31-1) is out; the final GOAWAY follows when the notice timer fires.
        case notified(reason: ShutdownReason, since: Instant)
        /// `.answersFirst`: nothing sent yet; streams up to `lastStreamID` are being answered, later
        /// ones are held unprocessed; the GOAWAY follows the last answer (or the notice timer).
        case answering(reason: ShutdownReason, lastStreamID: StreamID, since: Instant)
        /// The final GOAWAY is out; waiting for open streams to end.
        case draining(reason: ShutdownReason, lastStreamID: StreamID, since: Instant)
        case closed
    }

    /// Everything the shell tells the machine: frames (translated), callbacks of the request
    /// handlers, and the loop timer. One at a time, with the loop's time.
    public enum Event: Sendable, Equatable {
        /// The channel is active. `jitter`: a number in [0, 1) (a random source passed in) that
        /// spreads max age over ±10%. `refuse`: over the connection limit with nothing idle to
        /// shed — the connection is refused (GOAWAY ENHANCE_YOUR_CALM `max_connections`).
        case started(jitter: Double, refuse: Bool)
        /// HEADERS: a new stream's request (`valid`: its headers make a request; if not, the
        /// stream is reset with PROTOCOL_ERROR), or, on a stream already open, its trailers (if
        /// not `valid`, the request fails and the stream is reset with PROTOCOL_ERROR). A
        /// malformed block is a stream error the protections count (`AbuseDetector.streamError`).
        case headers(StreamID, endStream: Bool, valid: Bool)
        /// DATA: `bytes` of data, `paddingBytes` the pad length as swift-nio-http2 reports it (nil
        /// when not PADDED).
        case data(StreamID, bytes: Int, paddingBytes: Int?, endStream: Bool)
        /// The request handler read `bytes` of its body.
        case bodyConsumed(StreamID, bytes: Int)
        /// The peer reset a stream (RST_STREAM).
        case streamReset(StreamID, code: HTTP2ErrorCode)
        /// swift-nio-http2 closed a stream (`StreamClosedEvent`; `code` its reason, if any).
        case streamClosed(StreamID, code: HTTP2ErrorCode?)
        /// PING, or its ack (swift-nio-http2 answers PINGs itself).
        case ping(payload: UInt64, ack: Bool)
        /// SETTINGS from the peer (its parameters, in order).
        case settings([PeerSetting])
        /// The peer acked our SETTINGS.
        case settingsAck
        /// WINDOW_UPDATE (swift-nio-http2 applies it; the protections count it).
        case windowUpdate
        /// PRIORITY, ALTSVC or ORIGIN (counted together by the protections).
        case priority
        /// The peer sent GOAWAY: it opens nothing more.
        case peerGoAway(lastStreamID: StreamID, code: HTTP2ErrorCode)
        /// The end of one read batch. `waitingForFrame`: the bytes so far end inside the preface, a
        /// frame or a header block (`FrameBoundaryScanner.isWaiting`); `framesCompleted` its count.
        case readBatchEnded(waitingForFrame: Bool, framesCompleted: Int)
        /// The response's last frame is about to be written (END_STREAM, trailers, or a reset
        /// after the handler failed). Sent *before* the write: writing END_STREAM can close the
        /// stream synchronously, and the close must see the response as complete.
        case responseEnded(StreamID)
        /// A DATA frame of `bytes` is being written. `awaited`: a streamed write whose completion
        /// the handler waits for (`writeSettled` follows); the stall check watches those.
        case dataSent(StreamID, bytes: Int, endStream: Bool, awaited: Bool)
        /// An awaited write completed (or failed).
        case writeSettled(StreamID)
        /// A limit swift-nio-http2 enforces was hit (it raised the error; its GOAWAY is held).
        case libraryLimit(LibraryLimit)
        /// swift-nio-http2 found a stream error and reset the stream (its RST_STREAM is out):
        /// counted with ours against the stream-error limits.
        case libraryStreamError
        /// swift-nio-http2 found a connection error (RFC 9113 §5.4.1) and chose `code`.
        case connectionError(code: HTTP2ErrorCode)
        /// The transport failed (TLS, I/O): nothing more can be said on this connection.
        case transportError
        /// End the connection gracefully (server shutdown, connection limit shedding). Before
        /// `.started` it is kept and applied then; a no-op unless the connection is active.
        case shutdownRequested(ShutdownReason)
        /// The loop timer fired: run every timer whose deadline has passed.
        case timersDue
    }

    /// What the shell runs, in order.
    public enum Action: Sendable, Equatable {
        /// Write WINDOW_UPDATE (stream `.root`: the connection window).
        case windowUpdate(StreamID, increment: Int)
        /// Run the request handler for this stream; `endStream`: the request has no body.
        case deliverRequest(StreamID, endStream: Bool)
        /// Hand this DATA frame's bytes to the request body (and end it if `endStream`).
        case deliverData(StreamID, endStream: Bool)
        /// End the request body without more bytes (trailers, or the response ended first).
        case endRequestBody(StreamID)
        /// The stream is gone before its response ended: fail the body with
        /// `StreamResetError(code)` and cancel the handler.
        case failRequest(StreamID, code: HTTP2ErrorCode)
        /// Write RST_STREAM with this code.
        case resetStream(StreamID, code: HTTP2ErrorCode)
        /// Reset a stream the peer opened above our final last-stream-id with REFUSED_STREAM: it was
        /// not processed (counted as refused).
        case refuseStream(StreamID)
        /// Leave a stream unprocessed and unanswered: the coming GOAWAY's last-stream-id is below it
        /// (`.answersFirst`; a RST_STREAM would fail the request in clients that do not retry it).
        case holdStream(StreamID)
        /// Write GOAWAY (below swift-nio-http2, replacing its own if it wrote one) and report it.
        /// A shutdown notice (`lastStreamID` 2^31-1) goes ahead of the frames not yet flushed;
        /// every other GOAWAY follows them. Node's client (nghttp2) opens its next request while
        /// it reads a response; one it opened while reading frames that precede a GOAWAY in the
        /// same read is failed locally (REFUSED_STREAM), never sent: with the notice behind this
        /// read batch's answers it lost 43–67 of 5,000 requests per run, with it ahead, 0.
        case sendGoAway(lastStreamID: StreamID, code: HTTP2ErrorCode, debugData: String, reason: ShutdownReason)
        case sendPing(payload: UInt64)
        /// A protection limit ended the connection: count it as an attack (the GOAWAY follows).
        case protectionTriggered(ShutdownReason)
        /// The connection has (`true`) or no longer has (`false`) no open stream: what the server's
        /// connection limit sheds first.
        case idle(Bool)
        /// Close: flush, stop reading, FIN after what was written, full close after a linger or
        /// at most 2 s (a peer that stopped reading must not hold it open).
        case close
        /// Close at once, writing nothing more (the transport failed).
        case closeNow
    }

    /// How the connection ended, for the closed event and the statistics
    /// (`connectionClosed()`).
    public struct CloseSummary: Sendable, Equatable {
        /// Why it ended; `nil` when the peer closed an active connection.
        public var reason: ShutdownReason?
        /// When the drain began (its notice, or the decision), for the drain duration.
        public var drainStarted: Instant?
        /// Requests whose response completed after the drain began.
        public var requestsCompletedDuringDrain: Int
        /// Streams whose response had not ended: fail their bodies, cancel their handlers.
        public var unfinishedStreams: [StreamID]

        /// A summary with these values (the machine makes them; tests compare against them).
        public init(reason: ShutdownReason?, drainStarted: Instant?, requestsCompletedDuringDrain: Int, unfinishedStreams: [StreamID]) {
            self.reason = reason
            self.drainStarted = drainStarted
            self.requestsCompletedDuringDrain = requestsCompletedDuringDrain
            self.unfinishedStreams = unfinishedStreams
        }
    }

    /// One request stream as the machine sees it.
    struct Stream: Sendable {
        /// Our receive window for it (SETTINGS_INITIAL_WINDOW_SIZE).
        var window: InboundWindow
        var requestEnded: Bool
        /// The handler's body is open: DATA goes to it.
        var bodyOpen: Bool
        var responseEnded = false
        /// A streamed write waits on the peer (flow-control window or socket).
        var writePending = false
        /// Request bytes that arrived after the response was complete (discarded, window kept closed).
        var discarded = 0
        /// The response is complete, the request is not, and a stall check has seen it so.
        var lingerSeen = false
        /// The response is complete but the request is still open: its bytes are discarded.
        var lingering: Bool { responseEnded && !requestEnded }
    }
}
