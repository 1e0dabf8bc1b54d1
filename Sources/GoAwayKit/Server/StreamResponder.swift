import HTTPTypes
import Logging
import NIOCore
import NIOHTTP2

/// Runs one request's handler and writes its response back on the connection's event loop.
/// Sendable: it holds only the loop-bound handler, the event loop, the stream id and immutable
/// values (logger, error hook).
struct StreamResponder: Sendable {
    let loopBound: NIOLoopBound<ServerConnectionHandler>
    let eventLoop: any EventLoop
    let streamID: HTTP2StreamID
    let logger: Logger
    let errorResponse: HTTP2Server.ErrorResponse

    /// On the loop when we are already there (the common, non-suspending case), else hop.
    /// `orElse` answers when the loop is gone (its group shut down under a running handler):
    /// the connection is closed by then, so nothing can be written anyway.
    private func onLoop<T: Sendable>(orElse fallback: T, _ body: @escaping @Sendable (ServerConnectionHandler) -> T) async -> T {
        if eventLoop.inEventLoop { return body(loopBound.value) }
        let loopBound = self.loopBound
        return (try? await eventLoop.submit { body(loopBound.value) }.get()) ?? fallback
    }

    private func onLoop(_ body: @escaping @Sendable (ServerConnectionHandler) -> Void) async {
        await onLoop(orElse: (), body)
    }

    /// Runs the handler and sends its response; a handler error is logged and answered through
    /// `errorResponse` (or, once the head is out, with RST_STREAM(INTERNAL_ERROR)). Tells the
    /// connection when it is done: the connection reports itself closed only after every
    /// responder of its streams has returned.
    func respond(handler: HTTP2Server.Handler, request: HTTPRequest, body: RequestBody, context: RequestContext) async {
        var headSent = false  // one task's state: no box, no lock
        do {
            try await send(try await handler(request, body, context), headSent: &headSent)
        } catch {
            let level: Logger.Level = error is StreamResetError ? .debug : .error
            logger.log(level: level, "request handler failed", metadata: [
                "goaway.stream": "\(Int(streamID))", "goaway.path": "\(request.path ?? "")", "goaway.error": "\(error)",
            ])
            if headSent {
                let streamID = self.streamID
                await onLoop { $0.resetAfterHandlerError(streamID: streamID) }
            } else {
                try? await send(errorResponse(error, request, context), headSent: &headSent)
            }
        }
        let streamID = self.streamID
        await onLoop { $0.responderFinished(streamID: streamID) }
    }

    private func send(_ response: ServerResponse, headSent: inout Bool) async throws {
        let streamID = self.streamID
        switch response.body {
        case .empty where response.trailers == nil:
            _ = await onLoop(orElse: false) { $0.writeHead(response.head, streamID: streamID, contentLength: 0, endStream: true) }
        case .buffer(let buffer) where response.trailers == nil:
            await onLoop {
                guard $0.writeHead(response.head, streamID: streamID, contentLength: buffer.readableBytes, endStream: false) else { return }
                $0.writeData(buffer, streamID: streamID, endStream: true, promise: nil)
            }
        case .empty, .buffer, .stream:
            guard await onLoop(orElse: false, { $0.writeHead(response.head, streamID: streamID, contentLength: nil, endStream: false) }) else { return }
            headSent = true
            switch response.body {
            case .buffer(let buffer): try await write(buffer)
            case .stream(let produce): try await produce(ResponseBodyWriter(writeChunk: { try await self.write($0) }))
            case .empty: break
            }
            if let trailers = response.trailers {
                await onLoop { $0.writeTrailers(trailers, streamID: streamID) }
            } else {
                await onLoop { $0.writeData(ByteBuffer(), streamID: streamID, endStream: true, promise: nil) }
            }
        }
    }

    private func write(_ buffer: ByteBuffer) async throws {
        let streamID = self.streamID
        let promise = eventLoop.makePromise(of: Void.self)
        let loopBound = self.loopBound
        if eventLoop.inEventLoop {
            loopBound.value.writeData(buffer, streamID: streamID, endStream: false, promise: promise)
        } else {
            eventLoop.execute { loopBound.value.writeData(buffer, streamID: streamID, endStream: false, promise: promise) }
        }
        try await promise.futureResult.get()
    }
}
