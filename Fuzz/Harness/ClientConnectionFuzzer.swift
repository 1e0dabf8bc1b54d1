@_spi(Testing) import GoAwayKit
import NIOCore
import NIOEmbedded

/// Feeds arbitrary bytes, as the server's side of the connection, to one client connection — the
/// pipeline `HTTP2Client` builds (NIOHTTP2Handler, ClientConnectionHandler) — with 1 to 4 requests
/// open, on an `EmbeddedChannel` with virtual time.
///
/// Input layout (after `FuzzInput`'s byte 0 chose the client): byte 0 bits 0…1: requests started
/// (1…4), bit 2: the last is a POST with a body, bits 3…6: the read size (1…16 × 37 bytes). The
/// rest is what the server sends. Then virtual time runs 60 s and the channel is closed.
///
/// Findings: crashes; a request that ends twice or not at all, or after the close; a close reported
/// other than once (`ClientConnectionFuzzing`); a GOAWAY of ours off stream 0.
public enum ClientConnectionFuzzer {
    public static func run(_ input: [UInt8]) throws {
        guard let options = input.first else { return }
        let bytes = Array(input.dropFirst())
        let requests = Int(options & 0x3) + 1
        let post = options & 0x4 != 0
        let readSize = (Int(options >> 3 & 0xF) + 1) * 37

        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(loop: loop)
        let client = ClientConnectionFuzzing()
        var output = ServerConnectionFuzzer.OutputChecker(raisedLastIDIsAViolation: false)
        try client.install(on: channel)
        _ = channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1))
        client.startRequests(requests, post: post)
        loop.run()
        try output.drain(channel)

        try output.feed(bytes, readSize: readSize, to: channel, loop: loop, settleSeconds: 60)
        _ = try? channel.finish(acceptAlreadyClosed: true)
        loop.run()
        let problems = client.checkClosed()
        if !problems.isEmpty {
            throw ServerConnectionFuzzer.InvariantViolation(description: "client: " + problems.joined(separator: "; "))
        }
    }
}

/// The fuzz target's input: byte 0 bit 7 picks the client connection (set) or the server
/// connection (clear); the server's seeds (Fuzz/corpus/seed-*) have it clear.
public enum FuzzInput {
    public static func run(_ input: [UInt8]) throws {
        guard let first = input.first else { return }
        if first & 0x80 != 0 {
            try ClientConnectionFuzzer.run([first & 0x7F] + input.dropFirst())
        } else {
            try ServerConnectionFuzzer.run(input)
        }
    }
}
