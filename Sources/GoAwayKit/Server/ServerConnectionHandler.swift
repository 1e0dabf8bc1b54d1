import GoAwayCore
import HTTPTypes
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The NIO shell of one server connection. It sits right after `NIOHTTP2Handler` (used without a
/// stream multiplexer), so it sees every frame of the connection, and decides nothing:
/// `ServerConnectionStateMachine` (GoAwayCore) holds the drain, the protections, the timers and
/// the inbound flow control. Frames, handler callbacks and the loop timer become one
/// `ServerConnectionStateMachine.Event` each; the handler runs the actions that come back (write
/// a frame, hand a request or its bytes to the user's handler, close) and arms one loop timer at
/// the machine's next deadline, in loop time (`context.eventLoop.now`), so tests drive it.
///
/// Why no multiplexer: a child channel per stream, or an `NIOAsyncChannel` per stream, costs most
/// of the request rate (13.8k req/s against 44k inline on the reference machine). Here a request is
/// a dictionary entry and a `Task.immediate`: a handler that answers without suspending runs to
/// completion on the event loop inside the read, and its response goes out in the same flush.
typealias CoreErrorCode = GoAwayCore.HTTP2ErrorCode

final class ServerConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = Never
    typealias OutboundIn = Never
    typealias OutboundOut = HTTP2Frame

    /// The I/O side of a request stream (the machine has the rest).
    struct StreamIO {
        var body: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
        var task: Task<Void, Never>?
    }

    let runtime: ServerRuntime
    let goAwayWriter: RawGoAwayWriter
    let frameScanner: InboundFrameScanner
    let connectionID: Int
    var core: ServerConnectionStateMachine
    /// Whether this connection has no open stream, for the server's connection limit (read off-loop).
    let activity = ConnectionActivity()
    /// Over the connection limit with nothing idle to shed: refuse once started.
    var refuseOnStart = false
    var streams = StreamTable<HTTP2StreamID, StreamIO>()
    var context: ChannelHandlerContext?
    private var eventLoop: (any EventLoop)?
    var inReadLoop = false
    var flushPending = false
    /// One loop timer, at the machine's next deadline.
    var timer: Scheduled<Void>?
    private var timerAt: Instant?
    /// A spare action buffer: handling an event allocates nothing in the common case.
    private var spareActions: [ServerConnectionStateMachine.Action] = []
    /// Handlers of this connection still running (cancelled once it closed, but owned: awaited).
    var runningResponders = 0
    private var closeReport: (summary: ServerConnectionStateMachine.CloseSummary, at: Instant)?
    let logger: Logger

    init(runtime: ServerRuntime, connectionID: Int, now: NIODeadline, goAwayWriter: RawGoAwayWriter, frameScanner: InboundFrameScanner) {
        self.runtime = runtime
        self.goAwayWriter = goAwayWriter
        self.frameScanner = frameScanner
        self.connectionID = connectionID
        let configuration = runtime.configuration
        self.core = ServerConnectionStateMachine(
            policy: configuration.connection, protection: configuration.protection,
            initialWindowSize: configuration.initialWindowSize, now: Self.instant(now))
        var logger = configuration.logger
        logger[metadataKey: "goaway.connection"] = "\(connectionID)"
        self.logger = logger
    }

    static func instant(_ deadline: NIODeadline) -> Instant {
        Instant(nanoseconds: Int64(clamping: deadline.uptimeNanoseconds))
    }

    /// The loop's time (virtual under NIOAsyncTestingEventLoop).
    private var now: Instant { Self.instant(eventLoop?.now ?? .uptimeNanoseconds(0)) }

    /// Hands one event to the machine and runs what it returns. `frameData`: the DATA frame the
    /// event came from (for `.deliverData`).
    func handle(_ event: ServerConnectionStateMachine.Event, frameData: HTTP2Frame.FramePayload.Data? = nil) {
        var actions = spareActions
        spareActions = []
        core.handle(event, now: now, into: &actions)
        if !actions.isEmpty { run(actions, frameData: frameData) }
        actions.removeAll(keepingCapacity: true)
        spareActions = actions
        rearm()
    }

    // MARK: Channel lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.eventLoop = context.eventLoop
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        // A peer that sent everything and left before we were active is already done.
        guard !core.hasStarted, !core.isClosed else { return }
        logger.debug("connection started", metadata: ["goaway.remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
        handle(.started(jitter: runtime.jitter(), refuse: refuseOnStart))
    }

    func channelInactive(context: ChannelHandlerContext) {
        finishConnection()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// The channel closed (channelInactive, or the closeFuture for a channel never active): stop
    /// every stream, then report the connection closed once its last responder has returned.
    func finishConnection() {
        guard let summary = core.connectionClosed() else { return }
        timer?.cancel()
        for id in summary.unfinishedStreams {
            streams[HTTP2StreamID(id.rawValue)]?.task?.cancel()
        }
        for stream in streams.values {
            stream.body?.finish(throwing: StreamResetError(code: Int(CoreErrorCode.cancel.rawValue)))
        }
        streams.removeAll()
        closeReport = (summary, now)
        reportClosedOnceRespondersReturned()
    }

    private func reportClosedOnceRespondersReturned() {
        guard runningResponders == 0, let report = closeReport else { return }
        closeReport = nil
        let s = report.summary
        runtime.connectionClosed(id: connectionID, reason: s.reason, drainStarted: s.drainStarted, now: report.at, completedDuringDrain: s.requestsCompletedDuringDrain)
        logger.debug("connection closed", metadata: ["goaway.reason": "\(s.reason?.rawValue ?? "peer")"])
    }

    /// A stream's responder returned (its handler with it).
    func responderFinished(streamID: HTTP2StreamID) {
        runningResponders -= 1
        reportClosedOnceRespondersReturned()
    }

    // MARK: Inbound frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inReadLoop = true
        let frame = unwrapInboundIn(data)
        let id = StreamID(Int32(frame.streamID))
        switch frame.payload {
        case .headers(let headers): receivedHeaders(headers, streamID: frame.streamID)
        case .data(let data): handle(.data(id, bytes: data.data.readableBytes, paddingBytes: data.paddingBytes, endStream: data.endStream), frameData: data)
        case .rstStream(let code): handle(.streamReset(id, code: CoreErrorCode(nio: code)))
        case .ping(let data, let ack): handle(.ping(payload: data.integer, ack: ack))
        case .goAway(let last, let code, _): handle(.peerGoAway(lastStreamID: StreamID(Int32(last)), code: CoreErrorCode(nio: code)))
        case .settings(.ack): handle(.settingsAck)
        case .settings(.settings(let settings)): handle(.settings(settings.map { PeerSetting(id: Self.settingID($0.parameter), value: UInt32(clamping: $0.value)) }))
        case .windowUpdate: handle(.windowUpdate)
        case .priority, .alternativeService, .origin: handle(.priority)
        case .pushPromise: break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadLoop = false
        let scanner = frameScanner.scanner
        handle(.readBatchEnded(waitingForFrame: scanner.isWaiting, framesCompleted: scanner.framesCompleted))
        if flushPending {
            flushPending = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    private func receivedHeaders(_ payload: HTTP2Frame.FramePayload.Headers, streamID: HTTP2StreamID) {
        let id = StreamID(Int32(streamID))
        // Checked here, once (`RequestHeaders`): swift-nio-http2's header validation is off.
        guard !core.streamIsOpen(id) else {
            let malformed = ResponseHeaders.checkTrailers(payload.headers)
            if let malformed { logger.debug("malformed trailers", metadata: ["goaway.stream": "\(streamID)", "goaway.error": "\(malformed.reason)"]) }
            return handle(.headers(id, endStream: payload.endStream, valid: malformed == nil))
        }
        do {
            pendingRequest = try RequestHeaders.request(payload.headers)
        } catch {
            logger.debug("malformed request headers", metadata: ["goaway.stream": "\(streamID)", "goaway.error": "\(error)"])
        }
        handle(.headers(id, endStream: payload.endStream, valid: pendingRequest != nil))
        pendingRequest = nil
    }

    /// The request of the HEADERS being handled, for `.deliverRequest`.
    var pendingRequest: HTTPRequest?

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A metatype compare before any cast: swift-nio-http2 sends three events per stream, and
        // each failing `as?` from `Any` is a runtime cast.
        let type = ObjectIdentifier(Swift.type(of: event))
        if type == ObjectIdentifier(StreamClosedEvent.self), let closed = event as? StreamClosedEvent {
            handle(.streamClosed(StreamID(Int32(closed.streamID)), code: closed.reason.map { CoreErrorCode(nio: $0) }))
            streams.removeValue(forKey: closed.streamID)
        } else if type == ObjectIdentifier(ChannelShouldQuiesceEvent.self) {
            shutdown(reason: .shutdown)
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// swift-nio-http2 reports both kinds of protocol error here, and only its GOAWAY tells them
    /// apart: a connection error comes right after the GOAWAY it wrote (held by `RawGoAwayWriter`),
    /// a stream error after its RST_STREAM, and the connection goes on. Stream errors arrive wrapped
    /// in `StreamError` or bare (header validation, content-length), so the type cannot decide.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let code = goAwayWriter.heldGoAwayCode {
            logger.debug("connection error", metadata: ["goaway.error": "\(error)"])
            // A limit swift-nio-http2 enforces gets our GOAWAY naming it; any other keeps its code.
            return handle(Self.libraryLimit(for: error).map { .libraryLimit($0) } ?? .connectionError(code: CoreErrorCode(nio: code)))
        }
        if let streamError = error as? NIOHTTP2Errors.StreamError,
            streamError.baseError is NIOHTTP2Errors.CreatedStreamAfterGoaway || streamError.baseError is NIOHTTP2Errors.MaxStreamsViolation
        {
            runtime.streamRefused()  // above our last-stream-id, or over the concurrency limit
        }
        if error is NIOHTTP2Errors.StreamError || error is any NIOHTTP2Error {
            // RST_STREAM is out; StreamClosedEvent cleans up. Counted with ours.
            logger.debug("stream error", metadata: ["goaway.error": "\(error)"])
            return handle(.libraryStreamError)
        }
        logger.debug("connection failed", metadata: ["goaway.error": "\(error)"])
        handle(.transportError)
    }

    /// A SETTINGS parameter's number (swift-nio-http2 keeps it internal).
    static func settingID(_ parameter: HTTP2SettingsParameter) -> UInt16 {
        let known: [HTTP2SettingsParameter] = [.headerTableSize, .enablePush, .maxConcurrentStreams, .initialWindowSize, .maxFrameSize, .maxHeaderListSize]
        return known.firstIndex(of: parameter).map { UInt16($0 + 1) } ?? (parameter == .enableConnectProtocol ? 8 : 0)
    }

    static func libraryLimit(for error: any Error) -> LibraryLimit? {
        switch error {
        case is NIOHTTP2Errors.ExcessiveRSTFrames: .resetFrames
        case is NIOHTTP2Errors.ExcessiveStreamErrors: .streamErrors
        case is NIOHTTP2Errors.ExcessiveNumberOfGlitches: .glitches
        case is NIOHTTP2Errors.ExcessiveControlFrames: .controlFrames
        case is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering: .outboundBuffering
        case is NIOHTTP2Errors.ExcessiveContinuationFrames: .continuationFrames
        case is NIOHTTP2Errors.ExcessiveEmptyDataFrames: .emptyDataFrames
        case is NIOHTTP2Errors.ExcessivelyLargeHeaderBlock: .headerBlockTooLarge
        default: nil
        }
    }

    /// Ends the connection gracefully (a no-op when already draining); before the channel is
    /// active, once it is.
    func shutdown(reason: ShutdownReason) {
        handle(.shutdownRequested(reason))
    }

    /// The timer at the machine's next deadline. An early wake-up is harmless, so only an earlier
    /// deadline re-arms.
    private func rearm() {
        guard let eventLoop, let next = core.nextDeadline else { return }
        if let timerAt, timerAt <= next { return }
        timer?.cancel()
        timerAt = next
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        timer = eventLoop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, next.nanoseconds)))) {
            loopBound.value.timerFired()
        }
    }

    private func timerFired() {
        timer = nil
        timerAt = nil
        handle(.timersDue)
    }
}
