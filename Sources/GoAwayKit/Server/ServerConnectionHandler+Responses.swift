import GoAwayCore
import HTTPTypes
import NIOCore
import NIOHTTP2

/// Writing responses: called on the event loop by `StreamResponder`. Whether a stream still takes
/// response frames, and what a response's end means for its request, is the machine's.
extension ServerConnectionHandler {
    /// Whether the stream can still take response frames.
    func streamWritable(_ streamID: HTTP2StreamID) -> Bool {
        context != nil && core.responseOpen(StreamID(Int32(streamID)))
    }

    func writeHead(_ head: HTTPResponse, streamID: HTTP2StreamID, contentLength: Int?, endStream: Bool) -> Bool {
        guard let context, streamWritable(streamID) else { return false }
        let headers = HeaderConversion.headers(from: head, contentLength: contentLength)
        if endStream { responseEnding(streamID) }
        writeFrame(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: headers, endStream: endStream))), context: context)
        flushIfOutsideRead(context: context)
        return true
    }

    func writeData(_ buffer: ByteBuffer, streamID: HTTP2StreamID, endStream: Bool, promise: EventLoopPromise<Void>?) {
        guard let context, streamWritable(streamID) else {
            promise?.fail(StreamResetError(code: Int(CoreErrorCode.cancel.rawValue)))
            return
        }
        let id = StreamID(Int32(streamID))
        let awaited = promise != nil && !endStream
        if endStream { streams.modify(streamID) { $0.task = nil } }
        handle(.dataSent(id, bytes: buffer.readableBytes, endStream: endStream, awaited: awaited))
        if let promise, awaited {
            // Streamed writes wait on the peer; the stall check watches them settle.
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            promise.futureResult.whenComplete { _ in loopBound.value.handle(.writeSettled(id)) }
        }
        writeFrame(HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(buffer), endStream: endStream))), context: context, promise: promise)
        flushIfOutsideRead(context: context)
    }

    func writeTrailers(_ trailers: HTTPFields, streamID: HTTP2StreamID) {
        guard let context, streamWritable(streamID) else { return }
        responseEnding(streamID)
        writeFrame(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: HeaderConversion.headers(from: trailers), endStream: true))), context: context)
        flushIfOutsideRead(context: context)
    }

    /// The handler failed after its response head went out: reset the stream.
    func resetAfterHandlerError(streamID: HTTP2StreamID) {
        guard let context, streamWritable(streamID) else { return }
        responseEnding(streamID)
        writeFrame(HTTP2Frame(streamID: streamID, payload: .rstStream(.internalError)), context: context)
        flushIfOutsideRead(context: context)
    }

    /// The response's last frame follows: told *before* it is written, since writing END_STREAM
    /// can close the stream synchronously and the close must see the response as complete.
    private func responseEnding(_ streamID: HTTP2StreamID) {
        streams.modify(streamID) { $0.task = nil }
        handle(.responseEnded(StreamID(Int32(streamID))))
    }
}
