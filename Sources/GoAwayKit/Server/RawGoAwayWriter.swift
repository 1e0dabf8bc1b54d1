import NIOCore
import NIOHTTP2

/// Writes GOAWAY frames as bytes *below* `NIOHTTP2Handler`, so its state machine does not see them.
///
/// Why: once swift-nio-http2 (1.46) has sent any GOAWAY it refuses every new peer stream with
/// REFUSED_STREAM — even below the last-stream-id it sent — so a 2^31-1 shutdown notice sent through
/// it would refuse the very streams the two-phase drain exists to serve; and after the final GOAWAY
/// it silently drops new streams instead of resetting them. Writing both GOAWAYs here keeps the
/// decision in `ServerConnectionStateMachine`: streams between the two GOAWAYs are served, streams
/// above the final id get an explicit RST_STREAM(REFUSED_STREAM). GOAWAY carries no HPACK or
/// flow-control state, so bypassing the handler is safe.
///
/// It also stands in for swift-nio-http2's own GOAWAY on a connection error. NIOHTTP2Handler writes
/// that GOAWAY with last-stream-id 2^31-1 (or 0 for a misbehaving peer) and no debug data, then
/// reports the error; as its frame delegate we learn the next bytes it writes are that GOAWAY and
/// hold them, with its code (`heldGoAwayCode`). `ServerConnectionHandler.errorCaught`, called right
/// after, replaces them with our GOAWAY: the same code (or the limit's, `rapid_reset`…) and the
/// highest stream that reached the handler. A peer sees exactly one GOAWAY, and its last-stream-id
/// is true. A held GOAWAY is also how the handler tells a connection error (GOAWAY held) from a
/// stream error (swift-nio-http2 wrote RST_STREAM and the connection goes on).
final class RawGoAwayWriter: ChannelOutboundHandler, RemovableChannelHandler, NIOHTTP2FrameDelegate {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?
    /// NIOHTTP2Handler announced a GOAWAY: its next write is that frame.
    private var nextWriteIsLibraryGoAway = false
    private var heldGoAway: (data: NIOAny, promise: EventLoopPromise<Void>?)?
    /// The code of the GOAWAY swift-nio-http2 announced last (its connection error's code).
    private var announcedCode: NIOHTTP2.HTTP2ErrorCode?
    /// The code of the held library GOAWAY: set exactly when a connection error is being reported.
    var heldGoAwayCode: NIOHTTP2.HTTP2ErrorCode? { heldGoAway == nil ? nil : announcedCode }
    /// Our last GOAWAY is out and the close is under way: later frames are dropped.
    private var closing = false

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // NIOHTTP2FrameDelegate: called for each frame NIOHTTP2Handler encodes, just before its write.
    // We never send GOAWAY through NIOHTTP2Handler, so a GOAWAY here is its connection-error one.
    func wroteFrame(_ frame: HTTP2Frame) {
        if case .goAway(_, let code, _) = frame.payload {
            nextWriteIsLibraryGoAway = true
            announcedCode = code
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard nextWriteIsLibraryGoAway else {
            // Our last GOAWAY is the last frame: swift-nio-http2 goes on with the rest of a read
            // batch after a limit inside it ended the connection, and would reset its streams.
            if closing { return promise?.fail(ChannelError.outputClosed) ?? () }
            context.write(data, promise: promise)
            return
        }
        nextWriteIsLibraryGoAway = false
        if closing {
            promise?.succeed(())
            return
        }
        heldGoAway = (data, promise)
        // errorCaught follows synchronously and replaces it; should it not, the frame still goes out.
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute { loopBound.value.releaseHeldGoAway() }
    }

    /// Sends swift-nio-http2's GOAWAY as it wrote it: only when no `errorCaught` followed it.
    private func releaseHeldGoAway() {
        guard let held = heldGoAway, let context else { return }
        heldGoAway = nil
        context.writeAndFlush(held.data, promise: held.promise)
    }

    /// Writes and flushes one GOAWAY frame on stream 0 (RFC 9113 §6.8), in place of a held
    /// swift-nio-http2 GOAWAY if there is one.
    func writeGoAway(lastStreamID: Int32, errorCode: UInt32, debugData: [UInt8]) {
        if let held = heldGoAway {
            heldGoAway = nil
            held.promise?.succeed(())
        }
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 17 + debugData.count)
        Self.encodeGoAway(into: &buffer, lastStreamID: lastStreamID, errorCode: errorCode, debugData: debugData)
        // Flushed here: NIOHTTP2Handler does not pass a flush down when it wrote nothing itself.
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// Closes the channel once everything written before now has reached the socket, and at the
    /// latest after `deadline` (a peer that stopped reading must not hold the connection open).
    ///
    /// Deferred with `execute`: the close is often decided inside NIOHTTP2Handler's own write of a
    /// stream's last frame (its StreamClosedEvent), before that frame has been passed down; closing
    /// synchronously there would drop the frame.
    ///
    /// `halfCloseFirst` (protections): a FIN right behind our last frame, then the full close after
    /// a short linger or the peer's own close. A full close while the peer is still sending (a
    /// flood) has unread input and sends RST, which can make the peer's kernel drop the GOAWAY.
    /// Channels without half-close close at once.
    func closeAfterPendingWrites(deadline: TimeAmount, halfCloseFirst: Bool = false) {
        closing = true
        guard let context else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let context = loopBound.value
            let forced = context.eventLoop.scheduleTask(in: deadline) { loopBound.value.close(promise: nil) }
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                forced.cancel()
                guard halfCloseFirst else {
                    loopBound.value.close(promise: nil)
                    return
                }
                let eventLoop = loopBound.value.eventLoop
                let halfClosed = eventLoop.makePromise(of: Void.self)
                loopBound.value.close(mode: .output, promise: halfClosed)
                halfClosed.futureResult.whenComplete { result in
                    if case .success = result {
                        eventLoop.scheduleTask(in: Self.linger) { loopBound.value.close(promise: nil) }
                    } else {
                        loopBound.value.close(promise: nil)
                    }
                }
            }
        }
    }

    /// How long a half-closed connection waits for the peer's close before closing fully.
    static let linger: TimeAmount = .seconds(1)

    static func encodeGoAway(into buffer: inout ByteBuffer, lastStreamID: Int32, errorCode: UInt32, debugData: [UInt8]) {
        let length = 8 + debugData.count
        buffer.writeInteger(UInt8(truncatingIfNeeded: length >> 16))
        buffer.writeInteger(UInt16(truncatingIfNeeded: length))
        buffer.writeInteger(UInt8(0x7))  // type GOAWAY
        buffer.writeInteger(UInt8(0))  // no flags
        buffer.writeInteger(UInt32(0))  // stream 0: GOAWAY is a connection frame
        buffer.writeInteger(UInt32(bitPattern: lastStreamID) & 0x7FFF_FFFF)
        buffer.writeInteger(errorCode)
        buffer.writeBytes(debugData)
    }
}
