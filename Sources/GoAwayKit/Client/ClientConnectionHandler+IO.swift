import GoAwayCore
import NIOCore
import NIOHTTP2

/// The handler's I/O helpers that decide nothing: frame writes and flushes, request body
/// uploads, response body streams.
extension ClientConnectionHandler {
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
            guard handler.needsFlush else { return }
            handler.flushNow()
        }
    }

    /// Everything written goes out now.
    func flushNow() {
        guard let context else { return }
        needsFlush = false
        pacer.flushed()
        context.flush()
    }

    /// HEADERS never left (e.g. buffered beyond the peer's stream limit when a GOAWAY came).
    func headersNotSent(_ sid: HTTP2StreamID, error: any Error) {
        guard streams[sid]?.responded == false, let st = remove(sid) else { return }
        st.uploadTask?.cancel()
        logger.debug("headers not sent", metadata: ["goaway.connection": "\(id)", "goaway.stream": "\(sid)", "goaway.error": "\(error)"])
        delegate.streamFailed(st.request.id, streamID: nil, lastStreamID: lastStreamID, resetCode: nil, cause: core.failure)
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

    /// Streams a request body; waits for each DATA write (flow control and TCP back-pressure).
    func upload(_ body: AsyncThrowingStream<ByteBuffer, any Error>, streamID: HTTP2StreamID, loop: EventLoop) -> Task<Void, Never> {
        let box = NIOLoopBound(self, eventLoop: loop)
        return Task {
            do {
                // No empty DATA frame but the lone END_STREAM: the end of a stream is known only
                // when the producer finishes, and holding a chunk back until then would stall a
                // body that waits for the echo of its last chunk.
                for try await chunk in body where chunk.readableBytes > 0 {
                    try await loop.flatSubmit { box.value.writeData(chunk, streamID: streamID, end: false, loop: loop) }.get()
                }
                try await loop.flatSubmit { box.value.writeData(ByteBuffer(), streamID: streamID, end: true, loop: loop) }.get()
            } catch {
                loop.execute { box.value.uploadFailed(streamID) }
            }
        }
    }

    private func writeData(_ buffer: ByteBuffer, streamID: HTTP2StreamID, end: Bool, loop: EventLoop) -> EventLoopFuture<Void> {
        guard isOpen(streamID), context != nil else { return loop.makeFailedFuture(HTTP2ClientError(.cancelled)) }
        core.dataSent(StreamID(Int32(streamID)), bytes: buffer.readableBytes)
        let promise = loop.makePromise(of: Void.self)
        write(streamID, .data(.init(data: .byteBuffer(buffer), endStream: end)), promise: promise)
        flushNow()
        return promise.futureResult
    }

    /// A response body whose reader reports the chunks it takes (`bodyConsumed`: the stream's
    /// window goes back as it reads) and whose abandonment resets the stream (`bodyAbandoned`).
    func makeBody(_ streamID: HTTP2StreamID) -> (HTTP2ResponseBody, ResponseBodyStorage) {
        let storage = ResponseBodyStorage(streamID: streamID, events: bodyEvents())
        return (HTTP2ResponseBody(storage), storage)
    }

    /// One per connection, made at the first response.
    private func bodyEvents() -> BodyEvents? {
        if let bodyEventsCache { return bodyEventsCache }
        guard let loop = context?.eventLoop else { return nil }
        let box = NIOLoopBound(self, eventLoop: loop)
        let events = BodyEvents(
            reportEvery: core.configuration.readerReportSize,
            consumed: { streamID, bytes in
                if loop.inEventLoop {
                    box.value.bodyConsumed(streamID, bytes: bytes)
                } else {
                    loop.execute { box.value.bodyConsumed(streamID, bytes: bytes) }
                }
            },
            abandoned: { streamID in
                if loop.inEventLoop {
                    box.value.bodyAbandoned(streamID)
                } else {
                    loop.execute { box.value.bodyAbandoned(streamID) }
                }
            })
        bodyEventsCache = events
        return events
    }
}

extension HTTP2ClientConfiguration {
    /// What the connection's state machine needs to know.
    func connectionCore(keepaliveInterval: Duration?) -> ClientConnectionStateMachine.Configuration {
        ClientConnectionStateMachine.Configuration(
            receiveWindow: receiveWindow, settingsAckTimeout: settingsAckTimeout, settingsTimeout: connectTimeout, keepaliveInterval: keepaliveInterval,
            readIdleTimeout: readIdleTimeout, pingTimeout: keepaliveTimeout,
            responseIdleTimeout: responseIdleTimeout, maxResponseBodySize: maxResponseBodySize)
    }
}

extension GoAwayCore.HTTP2ErrorCode {
    package init(nio code: NIOHTTP2.HTTP2ErrorCode) { self.init(UInt32(code.networkCode)) }
}

extension NIOHTTP2.HTTP2ErrorCode {
    init(_ code: GoAwayCore.HTTP2ErrorCode) { self.init(networkCode: Int(code.rawValue)) }
}
