import NIOCore
import NIOPosix
import NIOHTTP2
import NIOSSL

/// The handlers every client-side HTTP/2 connection of ours starts with — [TLS] → [frame trace] →
/// GOAWAY last-stream-id rewriter → NIOHTTP2Handler → stream-error classifier — for `HTTP2Client`,
/// `goaway probe` and the fuzz harness; the caller adds its own connection handler after them.
package enum ClientPipeline {
    /// Empty inbound DATA frames in a row (no END_STREAM or HEADERS between) before the client
    /// calls the server abusive: one for each stream of a connection at the usual 100-stream limit.
    static let maximumSequentialEmptyDataFrames = 100

    /// A bootstrap for one of our client connections: the connect timeout, TCP_NODELAY, our
    /// handlers (`addHTTP2Handlers`), then the caller's own (`rest`), for `HTTP2Client` and `goaway probe`.
    package static func bootstrap(
        group: any EventLoopGroup, connectTimeout: TimeAmount, tls: NIOSSLContext?, endpoint: HTTP2Endpoint?,
        trace: FrameTrace?, traceConnection: Int, settings: HTTP2Settings, validatesHeaders: Bool = true,
        rest: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) -> ClientBootstrap {
        ClientBootstrap(group: group)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try addHTTP2Handlers(
                        to: sync, tls: tls, endpoint: endpoint, trace: trace, traceConnection: traceConnection,
                        settings: settings, validatesHeaders: validatesHeaders)
                    try rest(sync)
                }
            }
    }

    /// `traceConnection`: the number the trace shows (from 1, for people). `validatesHeaders: false`
    /// only under a `ClientConnectionHandler`, which checks header blocks itself.
    package static func addHTTP2Handlers(
        to sync: ChannelPipeline.SynchronousOperations, tls: NIOSSLContext?, endpoint: HTTP2Endpoint?,
        trace: FrameTrace?, traceConnection: Int, settings: HTTP2Settings, validatesHeaders: Bool = true
    ) throws {
        if let tls {
            let hostname = endpoint.flatMap { $0.isLiteral ? nil : $0.host }
            try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: hostname))
        }
        if let trace {
            // Below NIOHTTP2Handler, above TLS: sees the plaintext frames both ways.
            try sync.addHandler(FrameTraceHandler(connection: traceConnection, trace: trace, role: .client))
        }
        let classifier = StreamErrorClassifier()
        // Below NIOHTTP2Handler: the bytes it writes pass here.
        try sync.addHandler(ClientGoAwayLastStreamRewriter(watch: classifier.watch))
        // Inbound RST_STREAMs on a client are only for streams it opened (the retry budget bounds
        // those), so swift-nio-http2's rapid-reset limit (200 per 30 s, a server protection) would
        // only cut off a server that legitimately refuses streams (REFUSED_STREAM under load).
        var configuration = NIOHTTP2Handler.ConnectionConfiguration()
        configuration.initialSettings = settings
        // swift-nio-http2 counts empty DATA frames per CONNECTION, reset only by END_STREAM or
        // HEADERS (never by a non-empty DATA frame), and its default of 1 is a server protection:
        // a client with several streams open sees legitimate empty frames from each (a server
        // flushing an empty write, e.g. an echo of a body's empty end), one after another. The
        // client chose its server and bounds its streams; allow one per stream of a full connection.
        configuration.maximumSequentialEmptyDataFrames = Self.maximumSequentialEmptyDataFrames
        // `ClientConnectionHandler` checks response header blocks itself, in the pass that turns
        // them into an `HTTPResponse`, and builds request blocks valid (`ResponseHeaders`): the
        // handler's check walked each block again, both ways. `goaway probe` keeps it.
        if !validatesHeaders { configuration.headerBlockValidation = .disabled }
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.streamResetFrameRateLimit.maximumCount = Int(Int32.max)
        try sync.addHandler(
            NIOHTTP2Handler(mode: .client, frameDelegate: classifier.watch, connectionConfiguration: configuration, streamConfiguration: stream))
        try sync.addHandler(classifier)
    }
}

/// swift-nio-http2 caught a stream error in the peer's frames (RFC 9113 §5.4.2) and already wrote
/// RST_STREAM(`code`) for `streamID`: the stream is over, the connection is fine.
package struct PeerStreamError: Error, CustomStringConvertible {
    package var streamID: HTTP2StreamID
    package var code: NIOHTTP2.HTTP2ErrorCode
    package var base: any Error
    package var description: String { "stream \(streamID): \(base) (RST_STREAM \(code))" }
}

/// Tells stream errors from connection errors. NIOHTTP2Handler reports both with the same bare
/// error (`InvalidWindowIncrementSize` is a connection error on stream 0 and a stream error on a
/// stream), after it wrote RST_STREAM for a stream error or GOAWAY for a connection error. Its
/// frame delegate shows which it wrote; the frames we write pass this handler first and are not
/// counted. A stream error goes on as `PeerStreamError`, so nothing closes the connection for it
/// (it used to: the RST_STREAM never reached the wire).
final class StreamErrorClassifier: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// NIOHTTP2FrameDelegate: the last frame NIOHTTP2Handler wrote on its own.
    final class Watch: NIOHTTP2FrameDelegate {
        var ours = false
        var lastOwnReset: (HTTP2StreamID, NIOHTTP2.HTTP2ErrorCode)?
        /// NIOHTTP2Handler encoded a GOAWAY of its own (a connection error): its next write is it.
        var libraryGoAwayNext = false
        func wroteFrame(_ frame: HTTP2Frame) {
            guard !ours else { return }
            if case .goAway = frame.payload { libraryGoAwayNext = true }
            if case .rstStream(let code) = frame.payload, frame.streamID != .rootStream {
                lastOwnReset = (frame.streamID, code)
            } else {
                lastOwnReset = nil
            }
        }
    }
    let watch = Watch()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        watch.ours = true
        context.write(data, promise: promise)
        watch.ours = false
    }

    func flush(context: ChannelHandlerContext) {
        watch.ours = true
        context.flush()
        watch.ours = false
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        defer { watch.lastOwnReset = nil }
        if let (streamID, code) = watch.lastOwnReset, !(error is NIOHTTP2Errors.StreamError) {
            context.fireErrorCaught(PeerStreamError(streamID: streamID, code: code, base: error))
        } else {
            context.fireErrorCaught(error)
        }
    }
}

/// Makes swift-nio-http2's own GOAWAY truthful on a client. On a connection error NIOHTTP2Handler
/// (1.46) writes GOAWAY with last-stream-id 2^31-1, "every stream you opened may have been
/// processed"; but the last-stream-id of a client's GOAWAY names the server-initiated streams it
/// processed (RFC 9113 §6.8), and a client of ours accepts none (push is off), so the truth is 0.
/// The frame delegate tells us the next bytes NIOHTTP2Handler writes are that GOAWAY; we set their
/// last-stream-id field (octets 9–12 of the frame) to 0 in place. Our own GOAWAYs already say 0.
final class ClientGoAwayLastStreamRewriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData
    private let watch: StreamErrorClassifier.Watch

    init(watch: StreamErrorClassifier.Watch) { self.watch = watch }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard watch.libraryGoAwayNext else {
            context.write(data, promise: promise)
            return
        }
        watch.libraryGoAwayNext = false
        guard case .byteBuffer(var frame) = unwrapOutboundIn(data), frame.readableBytes >= 17,
            frame.getInteger(at: frame.readerIndex + 3, as: UInt8.self) == 0x7
        else {
            context.write(data, promise: promise)
            return
        }
        frame.setInteger(UInt32(0), at: frame.readerIndex + 9)
        context.write(wrapOutboundOut(.byteBuffer(frame)), promise: promise)
    }
}
