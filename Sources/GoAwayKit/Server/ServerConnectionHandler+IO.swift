import GoAwayCore
import HTTPTypes
import NIOCore
import NIOHTTP2

/// The I/O side of the machine's actions: frames written, requests and their bytes handed to
/// the user's handler, the close.
extension ServerConnectionHandler {
    // MARK: Running actions

    func run(_ actions: [ServerConnectionStateMachine.Action], frameData: HTTP2Frame.FramePayload.Data?) {
        guard let context else { return }
        for action in actions {
            switch action {
            case .windowUpdate(let id, let increment):
                writeFrame(HTTP2Frame(streamID: HTTP2StreamID(id.rawValue), payload: .windowUpdate(windowSizeIncrement: increment)), context: context)
            case .deliverRequest(let id, let endStream):
                guard let request = pendingRequest else { continue }
                startResponder(request, streamID: HTTP2StreamID(id.rawValue), endStream: endStream, context: context)
            case .deliverData(let id, let endStream):
                let sid = HTTP2StreamID(id.rawValue)
                if let frameData, case .byteBuffer(let buffer) = frameData.data { streams[sid]?.body?.yield(buffer) }
                if endStream { endBody(sid, throwing: nil) }
            case .endRequestBody(let id):
                endBody(HTTP2StreamID(id.rawValue), throwing: nil)
            case .failRequest(let id, let code):
                let sid = HTTP2StreamID(id.rawValue)
                endBody(sid, throwing: StreamResetError(code: Int(code.rawValue)))
                streams[sid]?.task?.cancel()
            case .resetStream(let id, let code):
                writeFrame(HTTP2Frame(streamID: HTTP2StreamID(id.rawValue), payload: .rstStream(NIOHTTP2.HTTP2ErrorCode(code))), context: context)
            case .refuseStream(let id):
                runtime.streamRefused()
                logger.debug("refused stream", metadata: ["goaway.stream": "\(id)"])
                writeFrame(HTTP2Frame(streamID: HTTP2StreamID(id.rawValue), payload: .rstStream(.refusedStream)), context: context)
            case .holdStream:
                break  // unprocessed: the GOAWAY that follows puts it above its last-stream-id
            case .sendGoAway(let lastStreamID, let code, let debugData, let reason):
                // The GOAWAY bypasses NIOHTTP2Handler: what it holds goes first, except ahead of a notice.
                if lastStreamID != .max { context.flush() }
                goAwayWriter.writeGoAway(lastStreamID: lastStreamID.rawValue, errorCode: code.rawValue, debugData: Array(debugData.utf8))
                runtime.goAwaySent(connectionID: connectionID, lastStreamID: Int(lastStreamID.rawValue), code: code, reason: reason, debugData: debugData)
                logger.debug("sent GOAWAY", metadata: ["goaway.last_stream_id": "\(lastStreamID)", "goaway.code": "\(code)", "goaway.reason": "\(reason.rawValue)"])
            case .sendPing(let payload):
                writeFrame(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: payload), ack: false)), context: context)
            case .protectionTriggered(let reason):
                runtime.attackDetected(reason)
                logger.debug("protection", metadata: ["goaway.reason": "\(reason.rawValue)"])
            case .idle(let idle):
                activity.idle = idle
            case .close:
                frameScanner.discardInput = true
                timer?.cancel()
                flushPending = false
                context.flush()
                goAwayWriter.closeAfterPendingWrites(deadline: .seconds(2), halfCloseFirst: true)
            case .closeNow:
                context.close(promise: nil)
            }
        }
        flushIfOutsideRead(context: context)
    }

    func endBody(_ id: HTTP2StreamID, throwing error: (any Error)?) {
        guard let body = streams.modify(id, { io in defer { io.body = nil }; return io.body }) ?? nil else { return }
        if let error { body.finish(throwing: error) } else { body.finish() }
    }

    func writeFrame(_ frame: HTTP2Frame, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil) {
        context.write(wrapOutboundOut(frame), promise: promise)
        flushPending = true
    }

    func flushIfOutsideRead(context: ChannelHandlerContext) {
        if !inReadLoop && flushPending {
            flushPending = false
            context.flush()
        }
    }

    // MARK: Requests

    func startResponder(_ request: HTTPRequest, streamID: HTTP2StreamID, endStream: Bool, context: ChannelHandlerContext) {
        runtime.requestReceived()
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        var io = StreamIO()
        let body: RequestBody
        if endStream {
            body = .empty
        } else {
            let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            io.body = continuation
            let eventLoop = context.eventLoop
            body = RequestBody(stream: stream) { bytes in
                if eventLoop.inEventLoop {
                    loopBound.value.bodyConsumed(bytes, streamID: streamID)
                } else {
                    eventLoop.execute { loopBound.value.bodyConsumed(bytes, streamID: streamID) }
                }
            }
        }
        streams[streamID] = io
        // The channel's cached addresses: the context's ask the socket (getpeername, getsockname
        // and inet_ntop: ~7,000 instructions and two syscalls a request).
        let requestContext = RequestContext(
            connectionID: connectionID, streamID: Int(streamID), remoteAddress: context.channel.remoteAddress, localAddress: context.channel.localAddress)
        let responder = StreamResponder(loopBound: loopBound, eventLoop: context.eventLoop, streamID: streamID, logger: logger, errorResponse: runtime.configuration.errorResponse)
        runningResponders += 1
        let handler = runtime.handler
        // Runs synchronously on this event loop until the handler first suspends (if ever).
        let task = Task.immediate {
            await responder.respond(handler: handler, request: request, body: body, context: requestContext)
        }
        if core.responseOpen(StreamID(Int32(streamID))) { streams.modify(streamID) { $0.task = task } }
    }

    func bodyConsumed(_ bytes: Int, streamID: HTTP2StreamID) {
        guard let context else { return }
        handle(.bodyConsumed(StreamID(Int32(streamID)), bytes: bytes))
        flushIfOutsideRead(context: context)
    }
}
