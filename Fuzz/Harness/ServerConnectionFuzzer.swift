@_spi(Testing) import GoAwayKit
import NIOCore
import NIOEmbedded

/// Feeds arbitrary bytes to one server connection — the exact pipeline `HTTP2Server` builds
/// (RawGoAwayWriter, InboundFrameScanner, NIOHTTP2Handler, ServerConnectionHandler) — on an
/// `EmbeddedChannel` with virtual time, and checks what the server writes back.
///
/// Input layout: byte 0 picks options — bit 0: send the bytes raw (else the client preface is
/// prepended, so mutations reach the frame layer instead of dying at the magic); bits 1…6: the
/// read size (1…64 × 37 bytes) the bytes are cut into, so frames straddle reads; bit 7 is
/// `FuzzInput`'s (clear: this server connection). The rest is what
/// the peer sends. After the bytes, virtual time runs 120 s so every timer fires.
///
/// Crashes are findings; so are these invariants on the server's output: every frame is well
/// formed, GOAWAY is on stream 0, and its last-stream-id never goes up (RFC 9113 §6.8).
public enum ServerConnectionFuzzer {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// The handler never suspends: a suspended task would resume off the embedded loop's thread.
    static let handler: HTTP2Server.Handler = { request, _, _ in
        ServerResponse(status: .ok, text: request.path ?? "/")
    }

    static let configuration: HTTP2Server.Configuration = {
        var c = HTTP2Server.Configuration()
        c.connection.keepaliveInterval = .seconds(5)
        c.connection.maxRequestsPerConnection = 50
        c.protection.sendStallTimeout = .seconds(10)
        return c
    }()

    public struct InvariantViolation: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// One fuzz input. Throws only for an invariant violation (a crash is a crash).
    public static func run(_ input: [UInt8]) throws {
        guard let options = input.first else { return }
        var bytes = Array(input.dropFirst())
        if options & 1 == 0 { bytes = preface + bytes }
        let readSize = (Int(options >> 1 & 0x3F) + 1) * 37

        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        var output = OutputChecker()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        try HTTP2Server.installConnectionPipeline(on: channel, configuration: configuration, handler: handler)
        _ = channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1))

        try output.feed(bytes, readSize: readSize, to: channel, loop: loop, settleSeconds: 120)
    }

    /// Frames the connection wrote, checked as they come.
    struct OutputChecker {
        /// Writes `bytes` in reads of `readSize`, 50 ms of virtual time apart, checking the output
        /// after each; then lets virtual time run `settleSeconds` so every timer fires.
        mutating func feed(_ bytes: [UInt8], readSize: Int, to channel: EmbeddedChannel, loop: EmbeddedEventLoop, settleSeconds: Int) throws {
            var offset = 0
            while offset < bytes.count, channel.isActive {
                let end = min(bytes.count, offset + readSize)
                do {
                    try channel.writeInbound(ByteBuffer(bytes: bytes[offset..<end]))
                } catch {
                    // Errors the pipeline reports to its tail are the connection's business, not findings.
                }
                offset = end
                try drain(channel)
                loop.advanceTime(by: .milliseconds(50))
            }
            for _ in 0..<(settleSeconds / 5) where channel.isActive {
                loop.advanceTime(by: .seconds(5))
                try drain(channel)
            }
            try drain(channel)
        }

        var buffer: [UInt8] = []
        var lastGoAwayID: UInt32?
        /// A server must never raise its GOAWAY's last-stream-id; a client's names the peer's
        /// (server-initiated) streams, none here, so only the stream-0 rule applies.
        var raisedLastIDIsAViolation = true

        mutating func drain(_ channel: EmbeddedChannel) throws {
            while let data = try? channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let b) = data { buffer += b.readableBytesView }
            }
            var i = 0
            while buffer.count - i >= 9 {
                let length = Int(buffer[i]) << 16 | Int(buffer[i + 1]) << 8 | Int(buffer[i + 2])
                guard buffer.count - i >= 9 + length else { break }
                let type = buffer[i + 3]
                let stream = UInt32(buffer[i + 5]) << 24 | UInt32(buffer[i + 6]) << 16 | UInt32(buffer[i + 7]) << 8 | UInt32(buffer[i + 8])
                if length > 16_777_215 { throw InvariantViolation(description: "frame length \(length)") }
                if type == 0x7 {
                    guard stream & 0x7FFF_FFFF == 0 else { throw InvariantViolation(description: "GOAWAY on stream \(stream)") }
                    guard length >= 8 else { throw InvariantViolation(description: "GOAWAY of \(length) bytes") }
                    let p = i + 9
                    let last = (UInt32(buffer[p]) << 24 | UInt32(buffer[p + 1]) << 16 | UInt32(buffer[p + 2]) << 8 | UInt32(buffer[p + 3])) & 0x7FFF_FFFF
                    if raisedLastIDIsAViolation, let previous = lastGoAwayID, last > previous {
                        throw InvariantViolation(description: "GOAWAY last-stream-id raised from \(previous) to \(last)")
                    }
                    lastGoAwayID = last
                }
                i += 9 + length
            }
            buffer.removeFirst(i)
        }
    }
}
