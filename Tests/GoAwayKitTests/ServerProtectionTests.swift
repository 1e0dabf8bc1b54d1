import GoAwayCore
import MetricsTestKit
import NIOCore
import NIOEmbedded
import NIOHPACK
import Testing

@testable import GoAwayKit

/// The protections in the server's real pipeline, fed raw bytes in memory, with virtual time:
/// exactly one GOAWAY naming the limit (swift-nio-http2's own GOAWAY is replaced, not doubled),
/// then the connection closes.
@Suite("Server protections (in memory)")
struct ServerProtectionTests {
    /// A server connection fed raw client bytes; what it writes back is parsed into frames.
    final class RawPeer {
        let loop = NIOAsyncTestingEventLoop()
        let channel: NIOAsyncTestingChannel
        let runtime: ServerRuntime
        let metrics = TestMetrics()
        private var output: [UInt8] = []
        var encoder = HPACKEncoder(allocator: .init())

        static let holdOrOK: HTTP2Server.Handler = { request, _, _ in
            if request.path == "/hold" { try await Task.sleep(for: .seconds(3600)) }
            return ServerResponse(status: .ok, text: "ok")
        }

        init(protection: ServerProtectionPolicy = .defaults, initialWindowSize: Int = 1 << 20, handler: @escaping HTTP2Server.Handler = RawPeer.holdOrOK) async throws {
            var configuration = HTTP2Server.Configuration()
            configuration.protection = protection
            configuration.initialWindowSize = initialWindowSize
            configuration.metricsFactory = metrics
            let runtime = ServerRuntime(configuration: configuration, handler: handler)
            self.runtime = runtime
            let channel = NIOAsyncTestingChannel(loop: loop)
            self.channel = channel
            let settings = HTTP2Server.settings(for: configuration)
            try await loop.executeInContext {
                _ = try HTTP2Server.configureConnection(channel: channel, runtime: runtime, settings: settings, sslContext: nil)
            }
            try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1))
        }

        static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

        static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
            let n = payload.count
            return [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff), type, flags,
                    UInt8(stream >> 24), UInt8(stream >> 16 & 0xff), UInt8(stream >> 8 & 0xff), UInt8(stream & 0xff)] + payload
        }

        func requestBlock(_ path: String = "/", extra: [(String, String)] = []) -> [UInt8] {
            var buffer = ByteBuffer()
            var headers = HPACKHeaders()
            for (k, v) in [(":method", "GET"), (":scheme", "http"), (":authority", "t"), (":path", path)] + extra { headers.add(name: k, value: v) }
            try! encoder.encode(headers: headers, to: &buffer)
            return Array(buffer.readableBytesView)
        }

        func send(_ bytes: [UInt8]) async throws {
            guard channel.isActive else { return }
            _ = try? await channel.writeInbound(ByteBuffer(bytes: bytes))
            await loop.run()
        }

        /// The client preface and SETTINGS, then the server's SETTINGS acked.
        func handshake() async throws {
            try await send(Self.preface + Self.frame(0x4) + Self.frame(0x4, flags: 0x1))
        }

        /// Every frame the server wrote so far: (type, flags, stream, payload).
        func frames() async throws -> [(type: UInt8, flags: UInt8, stream: Int, payload: [UInt8])] {
            while let data = try await channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let b) = data { output += b.readableBytesView }
            }
            var result: [(UInt8, UInt8, Int, [UInt8])] = []
            var i = 0
            while output.count - i >= 9 {
                let length = Int(output[i]) << 16 | Int(output[i + 1]) << 8 | Int(output[i + 2])
                guard output.count - i >= 9 + length else { break }
                result.append((output[i + 3], output[i + 4], Self.uint31(output, at: i + 5), Array(output[(i + 9)..<(i + 9 + length)])))
                i += 9 + length
            }
            return result
        }

        static func uint31(_ bytes: [UInt8], at i: Int) -> Int {
            Int(bytes[i] & 0x7f) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
        }

        /// GOAWAYs the server wrote so far: (last-stream-id, code, debug data).
        func goAways() async throws -> [(last: Int, code: Int, debug: String)] {
            try await frames().filter { $0.type == 0x7 }.map { f in
                (Self.uint31(f.payload, at: 0), Self.uint31(f.payload, at: 4) | Int(f.payload[4] & 0x80) << 24, String(decoding: f.payload[8...], as: UTF8.self))
            }
        }
    }

    static func expectOneGoAway(_ peer: RawPeer, code: Int, debug: String, last: Int? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let goaways = try await peer.goAways()
        #expect(goaways.count == 1, "\(goaways)", sourceLocation: sourceLocation)
        #expect(goaways.first?.code == code, sourceLocation: sourceLocation)
        #expect(goaways.first?.debug == debug, sourceLocation: sourceLocation)
        if let last { #expect(goaways.first?.last == last, sourceLocation: sourceLocation) }
        #expect(!peer.channel.isActive, "closed", sourceLocation: sourceLocation)
        let reason = ShutdownReason(rawValue: debug)!
        #expect(peer.runtime.statistics.attacksDetected[reason] == 1, sourceLocation: sourceLocation)
        #expect(peer.metrics.counterTotal(label: "goaway_server_attacks_total", dimensions: [("kind", debug)]) == 1, sourceLocation: sourceLocation)
    }

    @Test func rapidResetIsSwiftNIOHTTP2sLimitWithOurDebugData() async throws {
        let peer = try await RawPeer()
        try await peer.handshake()
        var bytes: [UInt8] = []
        for i in 0..<250 {
            let id = UInt32(2 * i + 1)
            bytes += RawPeer.frame(0x1, flags: 0x5, stream: id, peer.requestBlock()) + RawPeer.frame(0x3, stream: id, [0, 0, 0, 8])
        }
        try await peer.send(bytes)
        // The 201st RST_STREAM trips the limit; streams up to it were opened (and answered).
        try await Self.expectOneGoAway(peer, code: 0xb, debug: "rapid_reset", last: 401)
    }

    /// MadeYouReset by malformed requests: we check request headers ourselves (swift-nio-http2's
    /// validation is off), and count them with swift-nio-http2's own stream errors (here
    /// content-length mismatches) against one limit: the 201st error ends the connection, with no
    /// RST_STREAM for it; the streams before it were reset with PROTOCOL_ERROR.
    @Test func malformedRequestsCountWithSwiftNIOHTTP2sStreamErrors() async throws {
        let peer = try await RawPeer()
        try await peer.handshake()
        var bytes: [UInt8] = []
        for i in 0..<250 {
            // Even i: an uppercase field name (ours); odd: content-length 5 and no body (swift-nio-http2's).
            let extra = i.isMultiple(of: 2) ? [("X-Upper", "1")] : [("content-length", "5")]
            bytes += RawPeer.frame(0x1, flags: 0x5, stream: UInt32(2 * i + 1), peer.requestBlock(extra: extra))
        }
        try await peer.send(bytes)
        let resets = try await peer.frames().filter { $0.type == 0x3 }
        #expect(resets.count == 200, "\(resets.map { "\($0.stream):\(RawPeer.uint31($0.payload, at: 0))" }.prefix(12))")
        #expect(resets.allSatisfy { RawPeer.uint31($0.payload, at: 0) == 1 }, "PROTOCOL_ERROR")
        // The 201st error is i = 200 (ours): the last stream we acted on is i = 198's.
        try await Self.expectOneGoAway(peer, code: 0xb, debug: "rapid_reset", last: 397)
    }

    @Test func continuationFlood() async throws {
        let peer = try await RawPeer()
        try await peer.handshake()
        var bytes = RawPeer.frame(0x1, flags: 0x1, stream: 1, Array(peer.requestBlock().prefix(3)))
        for _ in 0..<20 { bytes += RawPeer.frame(0x9, stream: 1, []) }
        try await peer.send(bytes)
        try await Self.expectOneGoAway(peer, code: 0xb, debug: "continuation_flood", last: 0)
    }

    @Test func pingFloodWithAStreamOpen() async throws {
        let peer = try await RawPeer()
        try await peer.handshake()
        // With nothing open, our too_many_pings policy would answer first (see the drain tests).
        var bytes = RawPeer.frame(0x1, flags: 0x5, stream: 1, peer.requestBlock("/hold"))
        for i in 0..<300 { bytes += RawPeer.frame(0x6, [0, 0, 0, 0, 0, 0, UInt8(i >> 8), UInt8(i & 0xff)]) }
        try await peer.send(bytes)
        try await Self.expectOneGoAway(peer, code: 0xb, debug: "ping_flood")
    }

    @Test func settingsFlood() async throws {
        let peer = try await RawPeer()
        try await peer.handshake()
        try await peer.send(Array((0..<300).map { _ in RawPeer.frame(0x4) }.joined()))
        try await Self.expectOneGoAway(peer, code: 0xb, debug: "settings_flood")
    }

    @Test func emptyDataFrames() async throws {
        let peer = try await RawPeer()
        try await peer.handshake()
        try await peer.send(RawPeer.frame(0x1, flags: 0x4, stream: 1, peer.requestBlock()) + RawPeer.frame(0x0, stream: 1) + RawPeer.frame(0x0, stream: 1))
        try await Self.expectOneGoAway(peer, code: 0xb, debug: "empty_frames", last: 1)
    }

    @Test func windowUpdateAbuseIsOurs() async throws {
        let peer = try await RawPeer()
        try await peer.handshake()
        // Allowance 100 with no data sent: 101 WINDOW_UPDATEs is one too many.
        try await peer.send(Array((0..<100).map { _ in RawPeer.frame(0x8, [0, 0, 0, 1]) }.joined()))
        #expect(try await peer.goAways().isEmpty)
        try await peer.send(RawPeer.frame(0x8, [0, 0, 0, 1]))
        try await Self.expectOneGoAway(peer, code: 0xb, debug: "window_update_abuse", last: 0)
    }

    @Test func oversizedHeaderBlock() async throws {
        let peer = try await RawPeer()
        try await peer.handshake()
        try await peer.send(RawPeer.frame(0x1, flags: 0x1, stream: 1, [UInt8](repeating: 0x40, count: 16384)) + RawPeer.frame(0x9, flags: 0x4, stream: 1, [UInt8](repeating: 0x40, count: 100)))
        try await Self.expectOneGoAway(peer, code: 0x1, debug: "header_list_size")
    }

    @Test func prefaceThatNeverCompletesTimesOut() async throws {
        let peer = try await RawPeer(protection: .init(headerTimeout: .seconds(10)))
        try await peer.send(Array(RawPeer.preface.prefix(10)))
        await peer.loop.advanceTime(by: .milliseconds(9999))
        #expect(try await peer.goAways().isEmpty)
        await peer.loop.advanceTime(by: .milliseconds(1))
        try await Self.expectOneGoAway(peer, code: 0xb, debug: "header_timeout", last: 0)
    }

    @Test func headerBlockLeftOpenTimesOut() async throws {
        let peer = try await RawPeer(protection: .init(headerTimeout: .seconds(10)))
        try await peer.handshake()
        await peer.loop.advanceTime(by: .seconds(30))
        #expect(try await peer.goAways().isEmpty, "an idle connection is not a slow one")
        try await peer.send(RawPeer.frame(0x1, flags: 0x1, stream: 1, Array(peer.requestBlock().prefix(3))))
        await peer.loop.advanceTime(by: .seconds(10))
        try await Self.expectOneGoAway(peer, code: 0xb, debug: "header_timeout", last: 0)
    }

    @Test func honestTrafficTripsNothing() async throws {
        let peer = try await RawPeer(protection: .init(headerTimeout: .seconds(10)))
        try await peer.handshake()
        for i in 0..<300 {
            try await peer.send(RawPeer.frame(0x1, flags: 0x5, stream: UInt32(2 * i + 1), peer.requestBlock()) + RawPeer.frame(0x8, [0, 0, 0, 100]))
        }
        await peer.loop.advanceTime(by: .seconds(60))
        #expect(try await peer.goAways().isEmpty)
        #expect(peer.channel.isActive)
        #expect(peer.runtime.statistics.requests == 300)
        #expect(peer.runtime.statistics.attacksDetected.isEmpty)
    }
}
