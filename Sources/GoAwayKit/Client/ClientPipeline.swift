import NIOCore
import NIOHTTP2
import NIOSSL

/// The handlers every client-side HTTP/2 connection of ours starts with — [TLS] → [frame trace] →
/// NIOHTTP2Handler — for `HTTP2Client`, `goaway probe` and the fuzz harness; the caller adds its
/// own connection handler after them.
enum ClientPipeline {
    /// `traceConnection`: the number the trace shows (from 1, for people).
    static func addHTTP2Handlers(
        to sync: ChannelPipeline.SynchronousOperations, tls: NIOSSLContext?, endpoint: HTTP2Endpoint?,
        trace: FrameTrace?, traceConnection: Int, settings: HTTP2Settings
    ) throws {
        if let tls {
            let hostname = endpoint.flatMap { $0.isLiteral ? nil : $0.host }
            try sync.addHandler(NIOSSLClientHandler(context: tls, serverHostname: hostname))
        }
        if let trace {
            // Below NIOHTTP2Handler, above TLS: sees the plaintext frames both ways.
            try sync.addHandler(FrameTraceHandler(connection: traceConnection, trace: trace, role: .client))
        }
        // Inbound RST_STREAMs on a client are only for streams it opened (the retry budget bounds
        // those), so swift-nio-http2's rapid-reset limit (200 per 30 s, a server protection) would
        // only cut off a server that legitimately refuses streams (REFUSED_STREAM under load).
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = settings
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.streamResetFrameRateLimit.maximumCount = Int(Int32.max)
        try sync.addHandler(NIOHTTP2Handler(mode: .client, connectionConfiguration: connection, streamConfiguration: stream))
    }
}
