import NIOCore

/// Writes GOAWAY frames as bytes *below* `NIOHTTP2Handler`, so its state machine does not see them.
///
/// Why: once swift-nio-http2 (1.46) has sent any GOAWAY it refuses every new peer stream with
/// REFUSED_STREAM — even below the last-stream-id it sent — so a 2^31-1 shutdown notice sent through
/// it would refuse the very streams the two-phase drain exists to serve; and after the final GOAWAY
/// it silently drops new streams instead of resetting them. Writing both GOAWAYs here keeps the
/// decision in `ServerConnectionStateMachine`: streams between the two GOAWAYs are served, streams
/// above the final id get an explicit RST_STREAM(REFUSED_STREAM). GOAWAY carries no HPACK or
/// flow-control state, so bypassing the handler is safe.
final class RawGoAwayWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes and flushes one GOAWAY frame on stream 0 (RFC 9113 §6.8).
    func writeGoAway(lastStreamID: Int32, errorCode: UInt32, debugData: [UInt8]) {
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
    func closeAfterPendingWrites(deadline: TimeAmount) {
        guard let context else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let context = loopBound.value
            let forced = context.eventLoop.scheduleTask(in: deadline) { loopBound.value.close(promise: nil) }
            context.writeAndFlush(NIOAny(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
                forced.cancel()
                loopBound.value.close(promise: nil)
            }
        }
    }

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
