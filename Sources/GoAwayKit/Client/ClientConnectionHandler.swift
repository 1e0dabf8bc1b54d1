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

/// One HTTP/2 connection of the client: sits right after `NIOHTTP2Handler` and handles every
/// stream's frames itself.
///
/// Why no multiplexer: a stream child channel per request (legacy or inline multiplexer) costs a
/// channel, a pipeline and several allocations per request, and `NIOAsyncChannel` per stream was
/// measured 3x slower than the inline pipeline (ANCHORS.md). A client stream is simple — HEADERS
/// (+DATA) out, HEADERS/DATA/RST in — so a dictionary from stream id to state on the connection's
/// event loop is enough, and GOAWAY/RST/close are seen in one place, in order: nio-http2 forwards the
/// GOAWAY frame before the `StreamClosedEvent`s it causes, so every stream is classified against the
/// last-stream-id it really saw. The caller's task is resumed once (response head) per attempt.
///
/// Flow control: with no multiplexer nobody returns receive window, so this handler sends
/// WINDOW_UPDATE (stream and connection) when half the window is consumed. The response body is
/// delivered without back-pressure (the window is returned on receipt).
///
/// Protections (HTTP2ClientConfiguration): the server must ack our SETTINGS within
/// `settingsAckTimeout` (else GOAWAY(SETTINGS_TIMEOUT) and close) and our keepalive PINGs within
/// `keepaliveTimeout`; a body beyond `maxResponseBodySize` resets its stream (`responseTooLarge`).
/// swift-nio-http2 enforces the rest: header list size (our SETTINGS), CONTINUATION floods, control
/// frame floods (PING/SETTINGS: 200 per 30 s), empty DATA floods, undecodable bytes — each a
/// connection error that lands in `errorCaught`. Why a connection died is kept and named in the
/// errors of the requests it takes down.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    struct StreamState {
        let request: PendingRequest
        var body: AsyncThrowingStream<ByteBuffer, any Error>.Continuation?
        var responded = false
        var window: InboundWindow
        var received = 0
        /// When the response head or the latest DATA arrived (for `responseIdleTimeout`).
        var lastData = NIODeadline.distantPast
        var uploadTask: Task<Void, Never>?
    }

    let id: ConnectionID
    let delegate: ClientConnectionDelegate
    let logger: Logger
    let window: Int
    let keepaliveTimeout: TimeAmount
    let settingsAckTimeout: TimeAmount
    let maxBodySize: Int?
    let idleTimeout: TimeAmount?
    private var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: StreamState] = [:]
    private var byRequest: [RequestID: HTTP2StreamID] = [:]
    private var nextStreamID: Int32 = 1
    private var settingsReceived = false
    private var maxConcurrent: Int?
    private var lastStreamID: HTTP2StreamID?
    private var closed = false
    private var connectionWindow: InboundWindow
    private var needsFlush = false
    private var keepaliveInterval: TimeAmount?
    private var keepaliveTask: RepeatedTask?
    private var pingOutstandingSince: NIODeadline?
    private var settingsAckTimer: Scheduled<Void>?
    private var idleSweep: RepeatedTask?
    /// Why the connection failed (protocol error, missing ack); named in the errors it causes.
    private var failure: String?
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
        self.window = min(max(configuration.receiveWindow, 1), InboundWindow.maximum)
        self.connectionWindow = InboundWindow(target: min(max(configuration.receiveWindow, 1), InboundWindow.maximum), advertised: InboundWindow.protocolDefault)
        self.keepaliveInterval = keepaliveInterval.map { .nanoseconds($0.nanosecondsClamped) }
        self.keepaliveTimeout = .nanoseconds(configuration.keepaliveTimeout.nanosecondsClamped)
        self.settingsAckTimeout = .nanoseconds(configuration.settingsAckTimeout.nanosecondsClamped)
        self.maxBodySize = configuration.maxResponseBodySize
        self.idleTimeout = configuration.responseIdleTimeout.map { .nanoseconds($0.nanosecondsClamped) }
    }

    /// Our SETTINGS: no push, our receive window, the largest response header list we accept.
    static func initialSettings(_ configuration: HTTP2ClientConfiguration) -> HTTP2Settings {
        [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 0),
            HTTP2Setting(parameter: .initialWindowSize, value: min(configuration.receiveWindow, Int(Int32.max))),
            HTTP2Setting(parameter: .maxHeaderListSize, value: min(max(configuration.maxResponseHeaderListSize, 0), Int(UInt32.max))),
        ]
    }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { becameActive(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        becameActive(context: context)
        context.fireChannelActive()
    }

    private var activated = false
    private func becameActive(context: ChannelHandlerContext) {
        guard !activated else { return }
        activated = true
        // The connection window starts at 65,535 whatever SETTINGS say: raise it once.
        if let increment = connectionWindow.openingIncrement() {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
        }
        let box = NIOLoopBound(self, eventLoop: context.eventLoop)
        settingsAckTimer = context.eventLoop.scheduleTask(in: settingsAckTimeout) {
            box.value.failConnection(.settingsTimeout, because: "no SETTINGS ack within \(box.value.settingsAckTimeout)")
        }
        delegate.connectionActive(id, handler: box)
        scheduleKeepalive()
    }

    /// Ends the connection for a reason of ours: GOAWAY(code) (we accept no pushes: last-id 0), close.
    private func failConnection(_ code: NIOHTTP2.HTTP2ErrorCode, because reason: String) {
        guard let context, !closed else { return }
        logger.debug("connection failed", metadata: ["goaway.connection": "\(id)", "goaway.error": "\(reason)"])
        failure = failure ?? reason
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .rootStream, errorCode: code, opaqueData: nil))), promise: nil)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        keepaliveTask?.cancel()
        settingsAckTimer?.cancel()
        idleSweep?.cancel()
        let pending = streams
        streams.removeAll()
        byRequest.removeAll()
        // The pool learns first that this connection is gone, so the re-sends below go elsewhere.
        delegate.connectionClosed(id, cause: failure)
        for (sid, st) in pending.sorted(by: { $0.key < $1.key }) {
            finish(st, streamID: sid, resetCode: nil, cutOffDetail: "the connection closed before the response ended")
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            logger.debug("stream error", metadata: ["goaway.connection": "\(id)", "goaway.stream": "\(streamError.streamID)", "goaway.error": "\(streamError.baseError)"])
            if let st = streams.removeValue(forKey: streamError.streamID) {
                byRequest[st.request.id] = nil
                finish(st, streamID: streamError.streamID, resetCode: .protocolError, cutOffDetail: "protocol error: \(streamError.baseError)")
            }
            return
        }
        logger.debug("connection error", metadata: ["goaway.connection": "\(id)", "goaway.error": "\(error)"])
        failure = failure ?? "connection error: \(error)"
        context.close(promise: nil)
    }

    // MARK: commands from the client (on the event loop)

    /// Opens streams for the requests with a single flush (a pool action often hands several at once).
    func start(_ requests: [PendingRequest]) {
        for request in requests { start(request, flush: false) }
        if let context { flushSoon(context) }
    }

    /// Opens a stream for the request, or reports it never sent when this connection cannot.
    func start(_ request: PendingRequest, flush: Bool = true) {
        guard let context, !closed, lastStreamID == nil, nextStreamID < Int32.max - 2 else {
            delegate.streamFailed(request.id, streamID: nil, lastStreamID: lastStreamID, resetCode: nil, cause: failure)
            return
        }
        let sid = HTTP2StreamID(nextStreamID)
        nextStreamID += 2
        var state = StreamState(request: request, window: InboundWindow(target: window))
        byRequest[request.id] = sid
        let headersPromise = context.eventLoop.makePromise(of: Void.self)
        let endStream = request.body.isEmpty
        context.write(wrapOutboundOut(HTTP2Frame(streamID: sid, payload: .headers(.init(headers: request.headers, endStream: endStream)))), promise: headersPromise)
        let box = NIOLoopBound(self, eventLoop: context.eventLoop)
        headersPromise.futureResult.whenFailure { error in box.value.headersNotSent(sid, error: error) }
        switch request.body.storage {
        case .empty:
            break
        case .bytes(let buffer):
            context.write(wrapOutboundOut(HTTP2Frame(streamID: sid, payload: .data(.init(data: .byteBuffer(buffer), endStream: true)))), promise: nil)
        case .factory(let make):
            state.uploadTask = upload(make(), streamID: sid, loop: context.eventLoop)
        case .stream(let oneShot):
            state.uploadTask = upload(oneShot.stream, streamID: sid, loop: context.eventLoop)
        }
        streams[sid] = state
        needsFlush = true
        if flush { flushSoon(context) }
    }

    /// HEADERS never left (e.g. buffered beyond the peer's stream limit when a GOAWAY came).
    private func headersNotSent(_ sid: HTTP2StreamID, error: any Error) {
        guard let st = streams[sid], !st.responded else { return }
        streams[sid] = nil
        byRequest[st.request.id] = nil
        st.uploadTask?.cancel()
        logger.debug("headers not sent", metadata: ["goaway.connection": "\(id)", "goaway.stream": "\(sid)", "goaway.error": "\(error)"])
        delegate.streamFailed(st.request.id, streamID: nil, lastStreamID: lastStreamID, resetCode: nil, cause: failure)
    }

    /// Streams a body; waits for each DATA write (flow control and TCP back-pressure).
    private func upload(_ body: AsyncThrowingStream<ByteBuffer, any Error>, streamID: HTTP2StreamID, loop: EventLoop) -> Task<Void, Never> {
        let box = NIOLoopBound(self, eventLoop: loop)
        return Task {
            do {
                for try await chunk in body {
                    try await loop.flatSubmit { box.value.writeData(chunk, streamID: streamID, end: false, loop: loop) }.get()
                }
                try await loop.flatSubmit { box.value.writeData(ByteBuffer(), streamID: streamID, end: true, loop: loop) }.get()
            } catch {
                loop.execute { box.value.resetStream(streamID, code: .cancel) }
            }
        }
    }

    private func writeData(_ buffer: ByteBuffer, streamID: HTTP2StreamID, end: Bool, loop: EventLoop) -> EventLoopFuture<Void> {
        guard let context, !closed, streams[streamID] != nil else {
            return loop.makeFailedFuture(HTTP2ClientError(.cancelled))
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(buffer), endStream: end)))), promise: promise)
        return promise.futureResult
    }

    /// The caller gave up (cancelled, timed out): RST_STREAM(CANCEL) this stream only.
    func cancel(_ request: RequestID, error: HTTP2ClientError) {
        guard let sid = byRequest.removeValue(forKey: request), let st = streams.removeValue(forKey: sid) else { return }
        st.uploadTask?.cancel()
        st.body?.finish(throwing: error)
        resetStreamOnly(sid, code: .cancel)
        if let context { flushSoon(context) }
    }

    /// Nobody reads the response body any more: RST_STREAM(CANCEL), free the slot.
    private func bodyAbandoned(_ sid: HTTP2StreamID) {
        guard streams[sid]?.responded == true else { return }
        failBody(sid, HTTP2ClientError(.cancelled, detail: "nobody reads the response body any more"))
        if let context { flushSoon(context) }
    }

    private func resetStream(_ sid: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode) {
        guard let context, !closed, let st = streams.removeValue(forKey: sid) else { return }
        byRequest[st.request.id] = nil
        st.body?.finish(throwing: HTTP2ClientError(.cancelled, detail: "request body failed"))
        if !st.responded {
            delegate.streamFailed(st.request.id, streamID: sid, lastStreamID: lastStreamID, resetCode: nil, cause: failure)
        } else {
            delegate.streamDone(st.request.id)
        }
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: sid, payload: .rstStream(code))), promise: nil)
    }

    /// Drained or shutting down: say GOAWAY (we accept no pushes: last-id 0) and close.
    func close() {
        guard let context, !closed else { return }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: .rootStream, errorCode: .noError, opaqueData: nil))), promise: nil)
        context.flush()
        context.close(promise: nil)
    }

    func setKeepalive(_ interval: Duration?) {
        keepaliveInterval = interval.map { .nanoseconds($0.nanosecondsClamped) }
        keepaliveTask?.cancel()
        keepaliveTask = nil
        scheduleKeepalive()
    }

    private func scheduleKeepalive() {
        guard let context, let interval = keepaliveInterval, !closed else { return }
        let box = NIOLoopBound(self, eventLoop: context.eventLoop)
        keepaliveTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            box.value.keepaliveTick()
        }
    }

    private func keepaliveTick() {
        guard let context, !closed else { return }
        if let since = pingOutstandingSince {
            if NIODeadline.now() - since > keepaliveTimeout {
                failure = failure ?? "no PING ack within \(keepaliveTimeout)"
                logger.debug("keepalive timeout", metadata: ["goaway.connection": "\(id)"])
                context.close(promise: nil)
            }
            return
        }
        pingOutstandingSince = .now()
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: 0x676F_6177_6179), ack: false))), promise: nil)
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let outer = (readingStream, closedWhileReading)
        readingStream = frame.streamID
        closedWhileReading = false
        handle(frame, context: context)
        if closedWhileReading, let st = streams.removeValue(forKey: frame.streamID) {
            byRequest[st.request.id] = nil
            finish(st, streamID: frame.streamID, resetCode: nil, cutOffDetail: "the stream closed before the response ended")
        }
        (readingStream, closedWhileReading) = outer
    }

    private func handle(_ frame: HTTP2Frame, context: ChannelHandlerContext) {
        switch frame.payload {
        case .settings(.settings(let settings)):
            let limit = settings.last(where: { $0.parameter == .maxConcurrentStreams }).map { $0.value }
            if !settingsReceived {
                settingsReceived = true
                maxConcurrent = limit
                delegate.connectionReady(id, maxConcurrentStreams: limit)
            } else if let limit, limit != maxConcurrent {
                maxConcurrent = limit
                delegate.settingsChanged(id, maxConcurrentStreams: limit)
            }
        case .goAway(let last, let code, let opaque):
            lastStreamID = min(lastStreamID ?? last, last)
            let bytes = opaque.map { Array($0.readableBytesView) } ?? []
            delegate.goAwayReceived(id, lastStreamID: last, code: code, debugData: bytes)
        case .headers(let headers):
            receivedHeaders(headers, streamID: frame.streamID)
        case .data(let body):
            receivedData(body, streamID: frame.streamID, context: context)
        case .rstStream(let code):
            guard let st = streams.removeValue(forKey: frame.streamID) else { break }
            byRequest[st.request.id] = nil
            finish(st, streamID: frame.streamID, resetCode: code, cutOffDetail: "the server reset the stream")
        case .settings(.ack):
            settingsAckTimer?.cancel()
            settingsAckTimer = nil
        case .ping(_, ack: true):
            pingOutstandingSince = nil
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushSoon(context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let closedEvent = event as? StreamClosedEvent, closedEvent.streamID == readingStream {
            // The frame being read closed its stream, and something we wrote while handling it
            // (WINDOW_UPDATE, the next request's HEADERS) made NIOHTTP2Handler deliver the event
            // before we finished with that frame: judge the stream after the frame.
            closedWhileReading = true
        } else if let closedEvent = event as? StreamClosedEvent, let st = streams.removeValue(forKey: closedEvent.streamID) {
            // Streams above a GOAWAY's last-id arrive here with reason CANCEL; never trust that code.
            byRequest[st.request.id] = nil
            finish(st, streamID: closedEvent.streamID, resetCode: nil, cutOffDetail: "the stream closed before the response ended")
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func receivedHeaders(_ headers: HTTP2Frame.FramePayload.Headers, streamID: HTTP2StreamID) {
        guard var st = streams[streamID] else { return }
        if st.responded {
            // Trailers.
            if headers.endStream { complete(streamID) }
            return
        }
        guard let head = HTTPResponse(hpack: headers.headers) else {
            streams[streamID] = nil
            byRequest[st.request.id] = nil
            finish(st, streamID: streamID, resetCode: .protocolError, cutOffDetail: "bad response head")
            resetStreamOnly(streamID, code: .protocolError)
            return
        }
        if head.status.kind == .informational { return }
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self, throwing: (any Error).self)
        if let loop = context?.eventLoop {
            // The caller stopped reading (task cancelled, body dropped): reset the stream so it
            // does not hold its slot, and the connection, forever.
            let box = NIOLoopBound(self, eventLoop: loop)
            continuation.onTermination = { termination in
                guard case .cancelled = termination else { return }
                loop.execute { box.value.bodyAbandoned(streamID) }
            }
        }
        st.responded = true
        st.body = continuation
        st.lastData = .now()
        streams[streamID] = st
        startIdleSweep()
        let response = HTTP2ClientResponse(head: head, body: HTTP2ResponseBody(stream: stream))
        if !delegate.responseHead(st.request.id, response) {
            streams[streamID] = nil
            byRequest[st.request.id] = nil
            continuation.finish()
            st.uploadTask?.cancel()
            resetStreamOnly(streamID, code: .cancel)
            delegate.streamDone(st.request.id)
            return
        }
        if let maxBodySize, let length = head.headerFields[.contentLength].flatMap({ Int($0) }), length > maxBodySize {
            tooLarge(streamID, detail: "content-length \(length) exceeds \(maxBodySize) bytes (maxResponseBodySize)")
            return
        }
        if headers.endStream { complete(streamID) }
    }

    /// The body outgrew `maxResponseBodySize`: the caller's body fails, the stream (only) is reset.
    private func tooLarge(_ streamID: HTTP2StreamID, detail: String) {
        failBody(streamID, HTTP2ClientError(.responseTooLarge, detail: detail))
    }

    /// Ends a response body with `error` and resets its stream (only); frees the slot.
    private func failBody(_ streamID: HTTP2StreamID, _ error: HTTP2ClientError) {
        guard let st = streams.removeValue(forKey: streamID) else { return }
        byRequest[st.request.id] = nil
        st.uploadTask?.cancel()
        st.body?.finish(throwing: error)
        resetStreamOnly(streamID, code: .cancel)
        delegate.streamDone(st.request.id)
    }

    /// With `responseIdleTimeout`, a sweep every quarter of it fails the bodies that went quiet.
    private func startIdleSweep() {
        guard let idleTimeout, idleSweep == nil, let context, !closed else { return }
        let box = NIOLoopBound(self, eventLoop: context.eventLoop)
        let every = TimeAmount.nanoseconds(max(idleTimeout.nanoseconds / 4, 1_000_000))
        idleSweep = context.eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { _ in box.value.sweepIdle() }
    }

    private func sweepIdle() {
        guard let idleTimeout, let context else { return }
        let now = NIODeadline.now()
        let quiet = streams.filter { $0.value.responded && now - $0.value.lastData > idleTimeout }.keys.sorted()
        for sid in quiet {
            failBody(sid, HTTP2ClientError(.requestTimeout, detail: "no response data within \(idleTimeout) (responseIdleTimeout)"))
        }
        if !quiet.isEmpty { flushSoon(context) }
    }

    private func receivedData(_ body: HTTP2Frame.FramePayload.Data, streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        guard case .byteBuffer(let buffer) = body.data else { return }
        // The stream first, the connection window after: no write before the frame is handled.
        if var st = streams[streamID], st.responded {
            st.received += buffer.readableBytes
            if idleTimeout != nil { st.lastData = .now() }
            if let maxBodySize, st.received > maxBodySize {
                tooLarge(streamID, detail: "response body exceeds \(maxBodySize) bytes (maxResponseBodySize)")
            } else if body.endStream {
                if buffer.readableBytes > 0 { st.body?.yield(buffer) }
                complete(streamID)
            } else {
                if buffer.readableBytes > 0 { st.body?.yield(buffer) }
                if let increment = st.window.received(dataBytes: buffer.readableBytes, paddingBytes: body.paddingBytes, delivered: false) {
                    streams[streamID] = st
                    context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
                    needsFlush = true
                } else {
                    streams[streamID] = st
                }
            }
        }
        if let increment = connectionWindow.received(dataBytes: buffer.readableBytes, paddingBytes: body.paddingBytes, delivered: false) {
            context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: increment))), promise: nil)
            needsFlush = true
        }
    }

    private func complete(_ streamID: HTTP2StreamID) {
        guard let st = streams.removeValue(forKey: streamID) else { return }
        byRequest[st.request.id] = nil
        st.body?.finish()
        delegate.streamDone(st.request.id)
    }

    /// A stream ended abnormally: before the head the pool decides (re-send or typed error); after
    /// it the body fails, because the caller already has the response.
    private func finish(_ st: StreamState, streamID: HTTP2StreamID, resetCode: NIOHTTP2.HTTP2ErrorCode?, cutOffDetail: String) {
        st.uploadTask?.cancel()
        if st.responded {
            st.body?.finish(throwing: HTTP2ClientError(
                resetCode == nil ? .responseIncomplete : .streamReset, detail: failure.map { "\(cutOffDetail) (\($0))" } ?? cutOffDetail,
                resetCode: resetCode.map { GoAwayCore.HTTP2ErrorCode(nio: $0) }))
            delegate.streamDone(st.request.id)
        } else {
            delegate.streamFailed(st.request.id, streamID: streamID, lastStreamID: lastStreamID, resetCode: resetCode, cause: failure)
        }
    }

    private func resetStreamOnly(_ sid: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode) {
        guard let context, !closed else { return }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: sid, payload: .rstStream(code))), promise: nil)
        needsFlush = true
    }

    /// One flush per event-loop tick, after every task already queued on the loop: requests that
    /// callers submit on this loop (`goaway load`'s workers resume here) go out in one write,
    /// not one syscall and TLS record each.
    private func flushSoon(_ context: ChannelHandlerContext) {
        guard needsFlush, !flushScheduled else { return }
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
    private var flushScheduled = false
}

extension GoAwayCore.HTTP2ErrorCode {
    init(nio code: NIOHTTP2.HTTP2ErrorCode) { self.init(UInt32(code.networkCode)) }
}
