import GoAwayCore
import HTTPTypes
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2

/// What a connection tells the client. Called on the connection's event loop.
protocol ClientConnectionDelegate: AnyObject, Sendable {
    func connectionActive(_ id: ConnectionID, handler: NIOLoopBound<ClientConnectionHandler>)
    func connectionReady(_ id: ConnectionID, maxConcurrentStreams: Int?)
    func settingsChanged(_ id: ConnectionID, maxConcurrentStreams: Int)
    func goAwayReceived(_ id: ConnectionID, lastStreamID: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode, debugData: [UInt8])
    /// The request's stream ended before a response head: the pool decides about a re-send.
    /// `cause`: why the connection failed, when it did (for the error's detail).
    func streamFailed(_ request: RequestID, streamID: HTTP2StreamID?, lastStreamID: HTTP2StreamID?, resetCode: NIOHTTP2.HTTP2ErrorCode?, cause: String?)
    /// Returns false when nobody waits for it any more (cancelled, timed out): reset the stream.
    func responseHead(_ request: RequestID, _ response: HTTP2ClientResponse) -> Bool
    /// The stream is over (complete, or cut off after the head): free its slot.
    func streamDone(_ request: RequestID)
    /// `cause`: why it failed, if it did (protocol error, missing ack).
    func connectionClosed(_ id: ConnectionID, cause: String?)
}

/// One HTTP/2 connection of the client: sits right after `NIOHTTP2Handler`, handles every
/// stream's frames itself, and decides nothing: `ClientConnectionStateMachine` holds the timers,
/// deadlines, stream ids and windows; this handler turns frames into its events and runs the
/// results. One timer, armed at the machine's `nextDeadline` (loop time, so tests drive it).
///
/// Why no multiplexer: a stream child channel per request costs a channel, a pipeline and several
/// allocations per request, and `NIOAsyncChannel` per stream was measured 3x slower (ANCHORS.md).
/// GOAWAY/RST/close are seen in one place, in order: nio-http2 forwards the GOAWAY frame before the
/// `StreamClosedEvent`s it causes, so every stream is classified against the last-stream-id it saw.
///
/// Back-pressure: a stream's window goes back as the caller reads the body (`HTTP2ResponseBody`
/// reports each chunk it hands out), the connection's on arrival; a stalled reader holds one
/// stream window at most. swift-nio-http2 enforces header list size, CONTINUATION and control
/// frame floods, and answers stream errors with RST_STREAM (`ClientPipeline` keeps those from
/// closing the connection); why a connection died is kept and named in the errors it causes.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// The I/O side of a stream (the machine has the rest).
    struct StreamIO {
        let request: PendingRequest
        var body: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
        var responded = false
        var uploadTask: Task<Void, Never>?
    }

    let id: ConnectionID
    let delegate: ClientConnectionDelegate
    let logger: Logger
    var core: ClientConnectionStateMachine
    var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: StreamIO] = [:]
    private var byRequest: [RequestID: HTTP2StreamID] = [:]
    private var closed = false
    private var needsFlush = false
    private var flushScheduled = false
    private var timer: Scheduled<Void>?
    private var timerAt: Instant?
    /// The stream of the frame `channelRead` is handling, and whether its `StreamClosedEvent` came
    /// while it did. NIOHTTP2Handler queues that event before it passes the frame on, and delivers
    /// its queue after every frame *we write*: a WINDOW_UPDATE or HEADERS written from `channelRead`
    /// used to close a stream whose last DATA frame we had not handled yet (`responseIncomplete`).
    private var readingStream: HTTP2StreamID?
    private var closedWhileReading = false

    init(id: ConnectionID, delegate: ClientConnectionDelegate, logger: Logger, configuration: HTTP2ClientConfiguration, keepaliveInterval: Duration?) {
        self.id = id
        self.delegate = delegate
        self.logger = logger
        self.core = ClientConnectionStateMachine(configuration: configuration.connectionCore(keepaliveInterval: keepaliveInterval))
    }

    /// Our SETTINGS: no push, our receive window, the largest response header list we accept.
    static func initialSettings(_ configuration: HTTP2ClientConfiguration) -> HTTP2Settings {
        [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 0),
            HTTP2Setting(parameter: .initialWindowSize, value: min(max(configuration.receiveWindow, 0), InboundWindow.maximum)),
            HTTP2Setting(parameter: .maxHeaderListSize, value: min(max(configuration.maxResponseHeaderListSize, 0), Int(UInt32.max))),
        ]
    }

    private var now: Instant { Instant(nanoseconds: Int64(clamping: context?.eventLoop.now.uptimeNanoseconds ?? 0)) }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { becameActive(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        becameActive(context: context)
        context.fireChannelActive()
    }

    private func becameActive(context: ChannelHandlerContext) {
        guard core.phase == .idle else { return }
        if let increment = core.activated(now: now) { write(.rootStream, .windowUpdate(windowSizeIncrement: increment)) }
        flushSoon()
        delegate.connectionActive(id, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
        rearm()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        timer?.cancel()
        core.channelInactive()
        let pending = streams
        streams.removeAll()
        byRequest.removeAll()
        // The pool learns first that this connection is gone, so the re-sends below go elsewhere.
        delegate.connectionClosed(id, cause: core.failure)
        for (sid, st) in pending.sorted(by: { $0.key < $1.key }) {
            finish(st, streamID: sid, resetCode: nil, cutOffDetail: "the connection closed before the response ended")
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let e = error as? PeerStreamError {
            streamError(e.streamID, code: e.code, detail: "\(e.base)")
        } else if let e = error as? NIOHTTP2Errors.StreamError {
            streamError(e.streamID, code: .protocolError, detail: "\(e.baseError)")
        } else {
            logger.debug("connection error", metadata: ["goaway.connection": "\(id)", "goaway.error": "\(error)"])
            run(core.connectionFailed("connection error: \(error)"))
        }
    }

    /// swift-nio-http2 reset the stream (RST_STREAM with `code` is on the wire): its request ends.
    private func streamError(_ sid: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode, detail: String) {
        logger.debug("stream error", metadata: ["goaway.connection": "\(id)", "goaway.stream": "\(sid)", "goaway.error": "\(detail)"])
        if let st = remove(sid) { finish(st, streamID: sid, resetCode: code, cutOffDetail: "protocol error: \(detail)") }
    }

    private func run(_ action: ClientConnectionStateMachine.OnClose) {
        guard let context, !closed else { return }
        switch action {
        case .none: return
        case .close: break
        case .sendGoAwayAndClose(let code):
            write(.rootStream, .goAway(lastStreamID: .rootStream, errorCode: NIOHTTP2.HTTP2ErrorCode(code), opaqueData: nil))
            context.flush()
        }
        if let failure = core.failure { logger.debug("connection failed", metadata: ["goaway.connection": "\(id)", "goaway.error": "\(failure)"]) }
        context.close(promise: nil)
    }

    // MARK: timers (the machine decides; one scheduled task at its next deadline)

    private func rearm() {
        guard let context, !closed, let next = core.nextDeadline else { return }
        // An early wake-up is harmless (`.none`), so only an earlier deadline re-arms.
        if let timerAt, timerAt <= next { return }
        timer?.cancel()
        timerAt = next
        let box = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, next.nanoseconds)))) {
            box.value.timerFired()
        }
    }

    private func timerFired() {
        timerAt = nil
        timer = nil
        while !closed {
            switch core.deadlinesPassed(now: now) {
            case .none:
                flushSoon()
                rearm()
                return
            case .sendPing(let payload):
                write(.rootStream, .ping(HTTP2PingData(withInteger: payload), ack: false))
            case .failConnection(let code, _):
                run(code.map { .sendGoAwayAndClose($0) } ?? .close)
            case .failStreams(let ids, let reason):
                for sid in ids { failBody(HTTP2StreamID(Int(sid.rawValue)), HTTP2ClientError(.requestTimeout, detail: reason)) }
            }
        }
    }

    // MARK: commands from the client (on the event loop)

    /// Opens streams for the requests with a single flush (a pool action often hands several at once).
    func start(_ requests: [PendingRequest]) {
        for request in requests { start(request, flush: false) }
        flushSoon()
        rearm()
    }

    /// Opens a stream for the request, or reports it never sent when this connection cannot.
    func start(_ request: PendingRequest, flush: Bool = true) {
        guard let context, !closed, case .open(let streamID) = core.openStream(now: now) else {
            delegate.streamFailed(request.id, streamID: nil, lastStreamID: lastStreamID, resetCode: nil, cause: core.failure)
            return
        }
        let sid = HTTP2StreamID(Int(streamID.rawValue))
        var state = StreamIO(request: request)
        byRequest[request.id] = sid
        let headersPromise = context.eventLoop.makePromise(of: Void.self)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: sid, payload: .headers(.init(headers: request.headers, endStream: request.body.isEmpty)))), promise: headersPromise)
        let box = NIOLoopBound(self, eventLoop: context.eventLoop)
        headersPromise.futureResult.whenFailure { error in box.value.headersNotSent(sid, error: error) }
        switch request.body.storage {
        case .empty: break
        case .bytes(let buffer):
            core.dataSent(streamID, bytes: buffer.readableBytes)
            write(sid, .data(.init(data: .byteBuffer(buffer), endStream: true)))
        case .factory(let make): state.uploadTask = upload(make(), streamID: sid, loop: context.eventLoop)
        case .stream(let oneShot): state.uploadTask = upload(oneShot.stream, streamID: sid, loop: context.eventLoop)
        }
        streams[sid] = state
        needsFlush = true
        if flush {
            flushSoon()
            rearm()
        }
    }

    func isOpen(_ sid: HTTP2StreamID) -> Bool { !closed && streams[sid] != nil }

    private var lastStreamID: HTTP2StreamID? { core.lastStreamID.map { HTTP2StreamID(Int($0.rawValue)) } }

    /// HEADERS never left (e.g. buffered beyond the peer's stream limit when a GOAWAY came).
    private func headersNotSent(_ sid: HTTP2StreamID, error: any Error) {
        guard streams[sid]?.responded == false, let st = remove(sid) else { return }
        st.uploadTask?.cancel()
        logger.debug("headers not sent", metadata: ["goaway.connection": "\(id)", "goaway.stream": "\(sid)", "goaway.error": "\(error)"])
        delegate.streamFailed(st.request.id, streamID: nil, lastStreamID: lastStreamID, resetCode: nil, cause: core.failure)
    }

    /// The caller gave up (cancelled, timed out): RST_STREAM(CANCEL) this stream only.
    func cancel(_ request: RequestID, error: HTTP2ClientError) {
        guard let sid = byRequest[request], let st = remove(sid) else { return }
        st.uploadTask?.cancel()
        st.body?.finish(throwing: error)
        resetStreamOnly(sid, code: .cancel)
        flushSoon()
    }

    /// The request body failed mid-upload: reset the stream; before a head the pool decides.
    func uploadFailed(_ sid: HTTP2StreamID) {
        guard !closed, let st = remove(sid) else { return }
        st.body?.finish(throwing: HTTP2ClientError(.cancelled, detail: "request body failed"))
        if !st.responded {
            delegate.streamFailed(st.request.id, streamID: sid, lastStreamID: lastStreamID, resetCode: nil, cause: core.failure)
        } else {
            delegate.streamDone(st.request.id)
        }
        resetStreamOnly(sid, code: .cancel)
        flushSoon()
    }

    /// Drained or shutting down: say GOAWAY (we accept no pushes: last-id 0) and close.
    func close() { run(core.closeRequested()) }

    func setKeepalive(_ interval: Duration?) {
        core.keepaliveIntervalChanged(interval)
        rearm()
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let outer = (readingStream, closedWhileReading)
        readingStream = frame.streamID
        closedWhileReading = false
        core.frameReceived(now: now)
        handle(frame)
        if closedWhileReading, let st = remove(frame.streamID) {
            finish(st, streamID: frame.streamID, resetCode: nil, cutOffDetail: "the stream closed before the response ended")
        }
        (readingStream, closedWhileReading) = outer
    }

    private func handle(_ frame: HTTP2Frame) {
        switch frame.payload {
        case .settings(.settings(let settings)):
            let limit = settings.last(where: { $0.parameter == .maxConcurrentStreams }).map(\.value)
            let initialWindow = settings.last(where: { $0.parameter == .initialWindowSize }).map(\.value)
            switch core.settingsReceived(maxConcurrentStreams: limit, initialWindowSize: initialWindow) {
            case .ready(let limit): delegate.connectionReady(id, maxConcurrentStreams: limit)
            case .maxConcurrentStreamsChanged(let limit): delegate.settingsChanged(id, maxConcurrentStreams: limit)
            case .none: break
            }
        case .settings(.ack):
            core.settingsAckReceived()
        case .ping(let data, ack: true):
            core.pingAckReceived(payload: data.integer)
        case .goAway(let last, let code, let opaque):
            core.goAwayReceived(lastStreamID: StreamID(Int32(last)))
            delegate.goAwayReceived(id, lastStreamID: last, code: code, debugData: opaque.map { Array($0.readableBytesView) } ?? [])
        case .headers(let headers):
            receivedHeaders(headers, streamID: frame.streamID)
        case .data(let body):
            receivedData(body, streamID: frame.streamID)
        case .windowUpdate(let increment) where frame.streamID != .rootStream:
            if case .resetStream(let code) = core.windowUpdateReceived(StreamID(Int32(frame.streamID)), increment: increment) {
                let nioCode = NIOHTTP2.HTTP2ErrorCode(code)
                resetStreamOnly(frame.streamID, code: nioCode)
                streamError(frame.streamID, code: nioCode, detail: increment == 0 ? "WINDOW_UPDATE increment 0" : "stream window beyond 2^31-1")
            }
        case .rstStream(let code):
            if let st = remove(frame.streamID) { finish(st, streamID: frame.streamID, resetCode: code, cutOffDetail: "the server reset the stream") }
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushSoon()
        rearm()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closedEvent = event as? StreamClosedEvent, closedEvent.streamID == readingStream {
            // The frame being read closed its stream, and something we wrote while handling it made
            // NIOHTTP2Handler deliver the event early: judge the stream after the frame.
            closedWhileReading = true
        } else if let closedEvent = event as? StreamClosedEvent, let st = remove(closedEvent.streamID) {
            // Streams above a GOAWAY's last-id arrive here with reason CANCEL; never trust that code.
            finish(st, streamID: closedEvent.streamID, resetCode: nil, cutOffDetail: "the stream closed before the response ended")
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func receivedHeaders(_ headers: HTTP2Frame.FramePayload.Headers, streamID: HTTP2StreamID) {
        guard let st = streams[streamID] else { return }
        if st.responded {
            if headers.endStream { complete(streamID) }  // trailers
            return
        }
        guard let head = HTTPResponse(hpack: headers.headers) else {
            if let st = remove(streamID) { finish(st, streamID: streamID, resetCode: .protocolError, cutOffDetail: "bad response head") }
            resetStreamOnly(streamID, code: .protocolError)
            return
        }
        if head.status.kind == .informational { return }
        let length = head.headerFields[.contentLength].flatMap { Int($0) }
        let verdict = core.responseHead(StreamID(Int32(streamID)), contentLength: length, now: now)
        let (body, continuation) = makeBody(streamID)
        streams[streamID]!.responded = true
        streams[streamID]!.body = continuation
        guard delegate.responseHead(st.request.id, HTTP2ClientResponse(head: head, body: body)) else {
            _ = remove(streamID)
            continuation.finish()
            st.uploadTask?.cancel()
            resetStreamOnly(streamID, code: .cancel)
            delegate.streamDone(st.request.id)
            return
        }
        if case .tooLarge(let detail) = verdict {
            failBody(streamID, HTTP2ClientError(.responseTooLarge, detail: detail))
        } else if headers.endStream {
            complete(streamID)
        }
    }

    private func receivedData(_ body: HTTP2Frame.FramePayload.Data, streamID: HTTP2StreamID) {
        guard case .byteBuffer(let buffer) = body.data else { return }
        let result = core.dataReceived(
            StreamID(Int32(streamID)), dataBytes: buffer.readableBytes, paddingBytes: body.paddingBytes, endStream: body.endStream, now: now)
        switch result.delivery {
        case .deliver, .deliverAndEnd:
            if buffer.readableBytes > 0 { streams[streamID]?.body?.yield(buffer) }
            if case .deliverAndEnd = result.delivery { complete(streamID) }
        case .tooLarge(let detail):
            failBody(streamID, HTTP2ClientError(.responseTooLarge, detail: detail))
        case .ignore:
            break
        }
        // The stream first, the connection window after: no write before the frame is handled.
        if let increment = result.streamWindowUpdate, streams[streamID] != nil { write(streamID, .windowUpdate(windowSizeIncrement: increment)) }
        if let increment = result.connectionWindowUpdate { write(.rootStream, .windowUpdate(windowSizeIncrement: increment)) }
    }

    /// The caller took `bytes` of the body: maybe give the stream's window back.
    func bodyConsumed(_ sid: HTTP2StreamID, bytes: Int) {
        guard !closed, let increment = core.bodyConsumed(StreamID(Int32(sid)), bytes: bytes, now: now), streams[sid] != nil else { return }
        write(sid, .windowUpdate(windowSizeIncrement: increment))
        flushSoon()
    }

    /// Nobody reads the response body any more: RST_STREAM(CANCEL), free the slot.
    func bodyAbandoned(_ sid: HTTP2StreamID) {
        guard streams[sid]?.responded == true else { return }
        failBody(sid, HTTP2ClientError(.cancelled, detail: "nobody reads the response body any more"))
        flushSoon()
    }

    private func complete(_ streamID: HTTP2StreamID) {
        guard let st = remove(streamID) else { return }
        st.body?.finish()
        delegate.streamDone(st.request.id)
    }

    /// Ends a response body with `error` and resets its stream (only); frees the slot.
    private func failBody(_ streamID: HTTP2StreamID, _ error: HTTP2ClientError) {
        guard let st = remove(streamID) else { return }
        st.uploadTask?.cancel()
        st.body?.finish(throwing: error)
        resetStreamOnly(streamID, code: .cancel)
        delegate.streamDone(st.request.id)
    }

    /// A stream ended abnormally: before the head the pool decides (re-send or typed error); after
    /// it the body fails, because the caller already has the response.
    private func finish(_ st: StreamIO, streamID: HTTP2StreamID, resetCode: NIOHTTP2.HTTP2ErrorCode?, cutOffDetail: String) {
        st.uploadTask?.cancel()
        guard st.responded else {
            delegate.streamFailed(st.request.id, streamID: streamID, lastStreamID: lastStreamID, resetCode: resetCode, cause: core.failure)
            return
        }
        st.body?.finish(throwing: HTTP2ClientError(
            resetCode == nil ? .responseIncomplete : .streamReset, detail: core.failure.map { "\(cutOffDetail) (\($0))" } ?? cutOffDetail,
            resetCode: resetCode.map { GoAwayCore.HTTP2ErrorCode(nio: $0) }))
        delegate.streamDone(st.request.id)
    }

    /// The one place a stream leaves both tables and the machine.
    private func remove(_ sid: HTTP2StreamID) -> StreamIO? {
        guard let st = streams.removeValue(forKey: sid) else { return nil }
        byRequest[st.request.id] = nil
        core.streamClosed(StreamID(Int32(sid)))
        return st
    }

    private func resetStreamOnly(_ sid: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode) {
        write(sid, .rstStream(code))
    }

    func write(_ sid: HTTP2StreamID, _ payload: HTTP2Frame.FramePayload, promise: EventLoopPromise<Void>? = nil) {
        guard let context, !closed else {
            promise?.fail(HTTP2ClientError(.cancelled))
            return
        }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: sid, payload: payload)), promise: promise)
        needsFlush = true
    }

    /// One flush per event-loop tick, after every task already queued on the loop: requests that
    /// callers submit on this loop (`goaway load`'s workers resume here) go out in one write.
    func flushSoon() {
        guard let context, needsFlush, !flushScheduled else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = bound.value
            handler.flushScheduled = false
            guard handler.needsFlush, let context = handler.context else { return }
            handler.needsFlush = false
            context.flush()
        }
    }
}
