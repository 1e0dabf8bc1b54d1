import GoAwayCore
import NIOCore

/// Sits below `NIOHTTP2Handler` and follows frame boundaries in the bytes it reads
/// (`FrameBoundaryScanner`), so `ServerConnectionHandler` can time out a peer that stops inside
/// the preface, a frame or a header block — which swift-nio-http2 buffers without a word.
/// Bytes pass through untouched; the work is a few integer operations per frame.
final class InboundFrameScanner: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private(set) var scanner = FrameBoundaryScanner()
    /// The connection is closing: what the peer still sends (a flood) is dropped unparsed.
    var discardInput = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if discardInput { return }
        unwrapInboundIn(data).withUnsafeReadableBytes { scanner.scan($0) }
        context.fireChannelRead(data)
    }
}
