import GoAwayCore
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The NIO shell of one server connection. It sits right after `NIOHTTP2Handler` (used without a
/// stream multiplexer), so it sees every frame of the connection:
/// - lifecycle frames and timers become calls on `ServerConnectionStateMachine`, whose actions it
///   runs (GOAWAY, PING, timers, close);
/// - each request stream becomes one call of the user's async handler.
///
/// Why no multiplexer: a child channel per stream, or an `NIOAsyncChannel` per stream, costs most
/// of the request rate (13.8k req/s against 44k inline on the reference machine). Here a request is
/// a dictionary entry and a `Task.immediate`: a handler that answers without suspending runs to
/// completion on the event loop inside the read, and its response goes out in the same flush.
/// Without the multiplexer we own inbound flow control: stream windows are replenished as the
/// handler consumes the body, the connection window as bytes arrive (stream windows bound it).
typealias CoreErrorCode = GoAwayCore.HTTP2ErrorCode

final class ServerConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = Never
    typealias OutboundIn = Never
    typealias OutboundOut = HTTP2Frame

    private struct StreamState {
        var body: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
        var task: Task<Void, Never>?
        var requestEnded: Bool
        var responseEnded = false
        /// Body bytes the handler consumed that we have not yet returned with WINDOW_UPDATE.
        var consumedNotAcked = 0
        /// A streamed body write waits on the peer (flow-control window or socket).
        var writePending = false
        /// Request bytes that arrived after the response was complete (discarded, window kept).
        var discardedAfterResponse = 0
        /// The response is complete, the request is not, and a stall check has seen it so.
        var lingerSeen = false
        /// The response is complete but the request is still open: its bytes are discarded.
        var lingering: Bool { responseEnded && !requestEnded }
    }

    private let runtime: ServerRuntime
    private let goAwayWriter: RawGoAwayWriter
    private let frameScanner: InboundFrameScanner
    let connectionID: Int
    private var core: ServerConnectionStateMachine
    /// Protections: counts in, verdicts out (`AbuseDetector`); verdicts end the connection via `core.abort`.
    private var protection: AbuseDetector
    private var frameCounts = PeerFrameCounts()
    /// Streams closed and blocked writes completed: the stall check's progress counter.
    private var sendProgress = 0
    /// Whether this connection has no open stream, for the server's connection limit (read off-loop).
    let activity = ConnectionActivity()
    /// Over the connection limit with nothing idle to shed: refuse once started.
    var refuseOnStart = false
    private var streams: [HTTP2StreamID: StreamState] = [:]
    private var timers: [ServerConnectionTimer: Scheduled<Void>] = [:]
    private var context: ChannelHandlerContext?
    private var inReadLoop = false
    private var flushPending = false
    private var connectionWindowUnacked = 0
    private var closed = false
    private var completedDuringDrain = 0
    /// Set by the core's `.close` action: why, and when the drain began, for the closed event.
    private var closing: (reason: ShutdownReason?, drainStarted: Instant?)?
    private var logger: Logger

    init(runtime: ServerRuntime, connectionID: Int, now: NIODeadline, goAwayWriter: RawGoAwayWriter, frameScanner: InboundFrameScanner) {
        self.runtime = runtime
        self.goAwayWriter = goAwayWriter
        self.frameScanner = frameScanner
        self.connectionID = connectionID
        self.core = ServerConnectionStateMachine(policy: runtime.configuration.connection, now: Self.instant(now))
        self.protection = AbuseDetector(policy: runtime.configuration.protection, now: Self.instant(now))
        var logger = runtime.configuration.logger
        logger[metadataKey: "goaway.connection"] = "\(connectionID)"
        self.logger = logger
    }

    static func instant(_ deadline: NIODeadline) -> Instant {
        Instant(nanoseconds: Int64(clamping: deadline.uptimeNanoseconds))
    }

    private var now: Instant { Self.instant(context?.eventLoop.now ?? .now()) }

    // MARK: Channel lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private var started = false
    private func start(context: ChannelHandlerContext) {
        // `closed`: a peer that sent everything and left before we were active is already done.
        guard !started, !closed else { return }
        started = true
        // Raise the connection window to the configured size (SETTINGS only covers streams).
        let extra = runtime.configuration.initialWindowSize - 65535
        if extra > 0 {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: extra))), promise: nil)
            context.flush()
        }
        let now = self.now
        run(core.started(now: now, jitter: runtime.jitter()))
        if case .schedule(let at) = protection.started(now: now) { run([.schedule(.header, at: at)]) }
        if let reason = pendingShutdown {
            pendingShutdown = nil
            run(core.shutdownRequested(reason, now: now))
        }
        logger.debug("connection started", metadata: ["goaway.remote": "\(context.remoteAddress.map { "\($0)" } ?? "?")"])
        if refuseOnStart { abortForAbuse(.maxConnections) }
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
        guard !closed else { return }
        closed = true
        var drainStart: Instant?
        var reason: ShutdownReason?
        switch core.state {
        case .notified(let r, let since), .draining(let r, _, let since), .answering(let r, _, let since):
            drainStart = since
            reason = r
        case .active, .closed:
            (reason, drainStart) = closing ?? (nil, nil)
        }
        run(core.connectionClosed())
        for (_, var stream) in streams {
            stream.body?.finish(throwing: StreamResetError(code: Int(NIOHTTP2.HTTP2ErrorCode.cancel.networkCode)))
            stream.body = nil
            stream.task?.cancel()
        }
        streams.removeAll()
        closeReport = (reason, drainStart, now)
        reportClosedOnceRespondersReturned()
    }

    /// Handlers of this connection still running (cancelled once it closed, but owned: awaited).
    private var runningResponders = 0
    private var closeReport: (reason: ShutdownReason?, drainStarted: Instant?, at: Instant)?

    private func reportClosedOnceRespondersReturned() {
        guard runningResponders == 0, let report = closeReport else { return }
        closeReport = nil
        runtime.connectionClosed(id: connectionID, reason: report.reason, drainStarted: report.drainStarted, now: report.at, completedDuringDrain: completedDuringDrain)
        logger.debug("connection closed", metadata: ["goaway.reason": "\(report.reason?.rawValue ?? "peer")"])
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
        switch frame.payload {
        case .headers(let headers):
            receivedHeaders(headers, streamID: frame.streamID, context: context)
        case .data(let data):
            receivedData(data, streamID: frame.streamID, context: context)
        case .rstStream(let code):
            frameCounts.resets += 1
            // StreamClosedEvent follows and cleans up; failing the body now wakes a reading handler.
            if var stream = streams[frame.streamID] {
                stream.body?.finish(throwing: StreamResetError(code: Int(code.networkCode)))
                stream.body = nil
                stream.task?.cancel()
                streams[frame.streamID] = stream
            }
        case .ping(let data, let ack):
            if !ack { frameCounts.pings += 1 }
            run(ack ? core.pingAckReceived(payload: data.integer, now: now) : core.pingReceived(now: now))
        case .goAway(let lastStreamID, let code, _):
            run(core.peerGoAwayReceived(lastStreamID: StreamID(Int32(lastStreamID)), code: CoreErrorCode(UInt32(code.networkCode)), now: now))
        case .settings(.ack):
            core.settingsAckReceived(now: now)
        case .settings:
            frameCounts.settings += 1
        case .windowUpdate:
            frameCounts.windowUpdates += 1
        case .priority, .alternativeService, .origin:
            frameCounts.priorities += 1
        case .pushPromise:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadLoop = false
        let now = self.now
        core.readActivity(now: now)
        let scanner = frameScanner.scanner
        switch protection.readBatchEnded(counts: frameCounts, waitingForFrame: scanner.isWaiting, framesCompleted: scanner.framesCompleted, now: now) {
        case .none: break
        case .scheduleHeaderTimer(let at): run([.schedule(.header, at: at)])
        case .abuse(let reason): abortForAbuse(reason)
        }
        if flushPending {
            flushPending = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    private func receivedHeaders(_ payload: HTTP2Frame.FramePayload.Headers, streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        if var stream = streams[streamID] {
            // Trailers end the request body.
            stream.requestEnded = true
            stream.body?.finish()
            stream.body = nil
            streams[streamID] = stream
            return
        }
        let actions = core.streamOpened(StreamID(Int32(streamID)), now: now)
        for action in actions {
            switch action {
            case .refuseStream:
                runtime.streamRefused()
                run(actions)
                return
            case .holdStream:
                return  // unprocessed: the GOAWAY that follows puts it above its last-stream-id
            default:
                continue
            }
        }
        let request: HTTPRequest
        do {
            request = try HeaderConversion.request(from: payload.headers)
        } catch {
            logger.debug("malformed request headers", metadata: ["goaway.stream": "\(streamID)", "goaway.error": "\(error)"])
            streams[streamID] = StreamState(body: nil, task: nil, requestEnded: true, responseEnded: true)
            writeFrame(HTTP2Frame(streamID: streamID, payload: .rstStream(.protocolError)), context: context)
            run(actions)
            return
        }
        runtime.requestReceived()
        if case .schedule(let at) = protection.streamOpened(now: now) { run([.schedule(.stall, at: at)]) }

        let body: RequestBody
        var state = StreamState(body: nil, task: nil, requestEnded: payload.endStream)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        if payload.endStream {
            body = .empty
        } else {
            let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            state.body = continuation
            let eventLoop = context.eventLoop
            body = RequestBody(stream: stream) { bytes in
                if eventLoop.inEventLoop {
                    loopBound.value.bodyConsumed(bytes, streamID: streamID)
                } else {
                    eventLoop.execute { loopBound.value.bodyConsumed(bytes, streamID: streamID) }
                }
            }
        }
        streams[streamID] = state
        if streams.count == 1 { activity.idle = false }
        run(actions)

        let requestContext = RequestContext(
            connectionID: connectionID,
            streamID: Int(streamID),
            // The channel's cached addresses: the context's ask the socket (getpeername,
            // getsockname and inet_ntop: ~7,000 instructions and two syscalls a request).
            remoteAddress: context.channel.remoteAddress,
            localAddress: context.channel.localAddress
        )
        let responder = StreamResponder(
            loopBound: loopBound, eventLoop: context.eventLoop, streamID: streamID, logger: logger,
            errorResponse: runtime.configuration.errorResponse
        )
        runningResponders += 1
        let handler = runtime.handler
        // Runs synchronously on this event loop until the handler first suspends (if ever).
        let task = Task.immediate {
            await responder.respond(handler: handler, request: request, body: body, context: requestContext)
        }
        if let stream = streams[streamID], !stream.responseEnded {
            streams[streamID]!.task = task
        }
    }

    private func receivedData(_ payload: HTTP2Frame.FramePayload.Data, streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        let flowControlled = payload.data.readableBytes + (payload.paddingBytes.map { $0 + 1 } ?? 0)
        connectionWindowUnacked += flowControlled
        if connectionWindowUnacked >= runtime.configuration.initialWindowSize / 2 {
            writeFrame(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: connectionWindowUnacked)), context: context)
            connectionWindowUnacked = 0
        }
        guard var stream = streams[streamID] else { return }
        if payload.endStream { stream.requestEnded = true }
        if let body = stream.body {
            if case .byteBuffer(let buffer) = payload.data {
                body.yield(buffer)
            }
            // Padding is never handed to the handler: return its window at once.
            if let padding = payload.paddingBytes { stream.consumedNotAcked += padding + 1 }
            if payload.endStream {
                body.finish()
                stream.body = nil
            }
        } else if stream.lingering {
            // Answered before the request ended: discard, and keep the stream window closed. The
            // stream stays open so swift-nio-http2 still checks what the peer sends on it (a
            // content-length mismatch, a zero WINDOW_UPDATE...); RST_STREAM(NO_ERROR) ends the
            // upload once it costs half a window (or at the next stall check, see timerFired).
            stream.discardedAfterResponse += flowControlled
            if stream.discardedAfterResponse >= runtime.configuration.initialWindowSize / 2 {
                streams[streamID] = stream
                resetUnfinishedRequest(streamID, context: context)
                return
            }
        } else {
            // The handler no longer reads: give the window back at once.
            stream.consumedNotAcked += flowControlled
        }
        streams[streamID] = stream
        maybeUpdateStreamWindow(streamID, context: context)
    }

    private func bodyConsumed(_ bytes: Int, streamID: HTTP2StreamID) {
        guard let context, streams[streamID] != nil else { return }
        streams[streamID]!.consumedNotAcked += bytes
        maybeUpdateStreamWindow(streamID, context: context)
        flushIfOutsideRead(context: context)
    }

    private func maybeUpdateStreamWindow(_ streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        guard let stream = streams[streamID], !stream.requestEnded,
            stream.consumedNotAcked >= runtime.configuration.initialWindowSize / 2
        else { return }
        writeFrame(HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: stream.consumedNotAcked)), context: context)
        streams[streamID]!.consumedNotAcked = 0
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A metatype compare before any cast: swift-nio-http2 sends three events per stream, and
        // each failing `as?` from `Any` is a runtime cast.
        let type = ObjectIdentifier(Swift.type(of: event))
        if type == ObjectIdentifier(StreamClosedEvent.self), let closed = event as? StreamClosedEvent {
            streamClosed(closed.streamID, reason: closed.reason)
        } else if type == ObjectIdentifier(ChannelShouldQuiesceEvent.self) {
            shutdown(reason: .shutdown)
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func streamClosed(_ streamID: HTTP2StreamID, reason: NIOHTTP2.HTTP2ErrorCode?) {
        guard let stream = streams.removeValue(forKey: streamID) else { return }
        sendProgress &+= 1
        if streams.isEmpty { activity.idle = true }
        if !stream.responseEnded {
            stream.body?.finish(throwing: StreamResetError(code: Int(reason?.networkCode ?? 8)))
            stream.task?.cancel()
        } else if core.isDraining {
            completedDuringDrain += 1
        }
        run(core.streamClosed(StreamID(Int32(streamID)), now: now))
    }

    /// swift-nio-http2 reports both kinds of protocol error here, and only its GOAWAY tells them
    /// apart: a connection error comes right after the GOAWAY it wrote (held by `RawGoAwayWriter`),
    /// a stream error after its RST_STREAM, and the connection goes on. Stream errors arrive wrapped
    /// in `StreamError` or bare (header validation, content-length), so the type cannot decide.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let code = goAwayWriter.heldGoAwayCode {
            // A limit swift-nio-http2 enforces: our GOAWAY naming it replaces the one it just wrote.
            if let limit = Self.libraryLimit(for: error) {
                logger.debug("protection limit", metadata: ["goaway.error": "\(error)"])
                abortForAbuse(AbuseDetector.reason(for: limit, counts: frameCounts))
            } else {
                logger.debug("connection error", metadata: ["goaway.error": "\(error)"])
                run(core.connectionError(code: CoreErrorCode(UInt32(code.networkCode)), now: now))
            }
            return
        }
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            // Refusals: above our last-stream-id, or over the concurrency limit.
            if streamError.baseError is NIOHTTP2Errors.CreatedStreamAfterGoaway
                || streamError.baseError is NIOHTTP2Errors.MaxStreamsViolation
            {
                runtime.streamRefused()
            }
        }
        if error is NIOHTTP2Errors.StreamError || error is any NIOHTTP2Error {
            // RST_STREAM is out; StreamClosedEvent cleans up.
            logger.debug("stream error", metadata: ["goaway.error": "\(error)"])
            return
        }
        // Not HTTP/2 (TLS, I/O): nothing more can be said on this connection.
        logger.debug("connection failed", metadata: ["goaway.error": "\(error)"])
        context.close(promise: nil)
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

    /// A protection limit was hit: GOAWAY naming it, counted as an attack, close.
    private func abortForAbuse(_ reason: ShutdownReason) {
        let actions = core.abort(reason, now: now)
        guard !actions.isEmpty else { return }
        runtime.attackDetected(reason)
        logger.debug("protection", metadata: ["goaway.reason": "\(reason.rawValue)"])
        run(actions)
    }

    // MARK: Shutdown and timers

    /// Starts the two-phase drain (no-op when already draining).
    func shutdown(reason: ShutdownReason) {
        guard context != nil, started else {
            // Accepted while the server began shutting down, not yet active: drain once it is.
            pendingShutdown = reason
            return
        }
        run(core.shutdownRequested(reason, now: now))
    }

    private var pendingShutdown: ShutdownReason?

    private func run(_ actions: [ServerConnectionStateMachine.Action]) {
        guard !actions.isEmpty, let context else { return }
        for action in actions {
            switch action {
            case .sendGoAway(let lastStreamID, let code, let debugData, let reason):
                // What NIOHTTP2Handler holds for the wire goes first: the GOAWAY bypasses it.
                context.flush()
                goAwayWriter.writeGoAway(lastStreamID: lastStreamID.rawValue, errorCode: code.rawValue, debugData: Array(debugData.utf8))
                runtime.goAwaySent(connectionID: connectionID, lastStreamID: Int(lastStreamID.rawValue), code: code, reason: reason, debugData: debugData)
                logger.debug("sent GOAWAY", metadata: ["goaway.last_stream_id": "\(lastStreamID)", "goaway.code": "\(code)", "goaway.reason": "\(reason.rawValue)"])
            case .sendPing(let payload):
                writeFrame(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: payload), ack: false)), context: context)
            case .schedule(let timer, let at):
                timers[timer]?.cancel()
                let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
                timers[timer] = context.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, at.nanoseconds)))) {
                    loopBound.value.timerFired(timer)
                }
            case .cancel(let timer):
                timers.removeValue(forKey: timer)?.cancel()
            case .holdStream:
                break
            case .refuseStream(let id):
                writeFrame(HTTP2Frame(streamID: HTTP2StreamID(id.rawValue), payload: .rstStream(.refusedStream)), context: context)
            case .close(let reason, let drainStarted):
                closing = (reason, drainStarted)
                frameScanner.discardInput = true
                for (_, t) in timers { t.cancel() }
                timers.removeAll()
                flushPending = false
                context.flush()
                goAwayWriter.closeAfterPendingWrites(deadline: .seconds(2), halfCloseFirst: true)
            }
        }
        flushIfOutsideRead(context: context)
    }

    private func timerFired(_ timer: ServerConnectionTimer) {
        timers.removeValue(forKey: timer)
        let outcome: AbuseDetector.OnTimer
        switch timer {
        case .header:
            outcome = protection.headerTimerFired(waitingForFrame: frameScanner.scanner.isWaiting, now: now)
        case .stall:
            var blocked = 0
            for (id, stream) in streams {
                if stream.lingering {
                    // Answered, request still open since the last check: end the upload (RFC 9113 §8.1).
                    if stream.lingerSeen { resetUnfinishedRequest(id, context: context!) } else { streams[id]!.lingerSeen = true }
                } else if stream.writePending || stream.responseEnded {
                    blocked += 1
                }
            }
            outcome = protection.stallTimerFired(blocked: blocked, progress: sendProgress, openStreams: streams.count, now: now)
        default:
            run(core.timerFired(timer, now: now))
            return
        }
        switch outcome {
        case .none: break
        case .schedule(let at): run([.schedule(timer, at: at)])
        case .abuse(let reason): abortForAbuse(reason)
        }
    }

    // MARK: Writing responses (called on the event loop by StreamResponder)

    private func writeFrame(_ frame: HTTP2Frame, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        context.write(wrapOutboundOut(frame), promise: promise)
        flushPending = true
    }

    private func flushIfOutsideRead(context: ChannelHandlerContext) {
        if !inReadLoop && flushPending {
            flushPending = false
            context.flush()
        }
    }

    private func writeSettled(_ streamID: HTTP2StreamID) {
        sendProgress &+= 1
        streams[streamID]?.writePending = false
    }

    /// Whether the stream can still take response frames.
    func streamWritable(_ streamID: HTTP2StreamID) -> Bool {
        guard let stream = streams[streamID] else { return false }
        return !stream.responseEnded
    }

    func writeHead(_ head: HTTPResponse, streamID: HTTP2StreamID, contentLength: Int?, endStream: Bool) -> Bool {
        guard let context, streamWritable(streamID) else { return false }
        let headers = HeaderConversion.headers(from: head, contentLength: contentLength)
        if endStream { markResponseEnded(streamID) }
        writeFrame(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: headers, endStream: endStream))), context: context)
        flushIfOutsideRead(context: context)
        return true
    }

    func writeData(_ buffer: ByteBuffer, streamID: HTTP2StreamID, endStream: Bool, promise: EventLoopPromise<Void>?) {
        guard let context, streamWritable(streamID) else {
            promise?.fail(StreamResetError(code: Int(NIOHTTP2.HTTP2ErrorCode.cancel.networkCode)))
            return
        }
        if endStream { markResponseEnded(streamID) }
        protection.dataSent(bytes: buffer.readableBytes)
        if let promise, !endStream {
            // Streamed writes wait on the peer; the stall check watches them settle.
            streams[streamID]?.writePending = true
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            promise.futureResult.whenComplete { _ in loopBound.value.writeSettled(streamID) }
        }
        writeFrame(HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(buffer), endStream: endStream))), context: context, promise: promise)
        flushIfOutsideRead(context: context)
    }

    func writeTrailers(_ trailers: HTTPFields, streamID: HTTP2StreamID) {
        guard let context, streamWritable(streamID) else { return }
        markResponseEnded(streamID)
        writeFrame(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: HeaderConversion.headers(from: trailers), endStream: true))), context: context)
        flushIfOutsideRead(context: context)
    }

    /// The handler failed after its response head went out: reset the stream.
    func resetAfterHandlerError(streamID: HTTP2StreamID) {
        guard let context, streamWritable(streamID) else { return }
        markResponseEnded(streamID)
        writeFrame(HTTP2Frame(streamID: streamID, payload: .rstStream(.internalError)), context: context)
        flushIfOutsideRead(context: context)
    }

    /// Marks the response complete *before* its last frame is written: writing END_STREAM can
    /// close the stream synchronously (StreamClosedEvent), and the close must see it as complete.
    /// A request still open stays open (`lingering`): see `receivedData`.
    private func markResponseEnded(_ streamID: HTTP2StreamID) {
        guard var stream = streams[streamID] else { return }
        stream.responseEnded = true
        stream.task = nil
        if !stream.requestEnded {
            stream.body?.finish()
            stream.body = nil
        }
        streams[streamID] = stream
    }

    /// RFC 9113 §8.1: after a complete response, RST_STREAM(NO_ERROR) ends a request still uploading.
    ///
    /// Not sent with the response: once we reset a stream swift-nio-http2 ignores every later frame
    /// on it (RFC 9113 §5.1 allows that), so a reset at once would hide the peer's stream errors —
    /// DATA after its own RST_STREAM, a zero or overflowing WINDOW_UPDATE, a content-length that
    /// does not match — and the peer would hear nothing.
    private func resetUnfinishedRequest(_ streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        writeFrame(HTTP2Frame(streamID: streamID, payload: .rstStream(.noError)), context: context)
    }
}
