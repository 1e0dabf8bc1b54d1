import GoAwayCore
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP2
import Synchronization
import Testing

@testable import GoAwayKit

/// The client connection's NIO shell in memory: the server is raw frame bytes written into an
/// `EmbeddedChannel`, the client's answer is parsed back from its outbound bytes, time is virtual
/// (`EmbeddedEventLoop.advanceTime`).
struct ClientConnectionHandlerTests {
    struct Frame: Equatable, CustomStringConvertible {
        var type: UInt8
        var flags: UInt8 = 0
        var stream: UInt32 = 0
        var payload: [UInt8] = []
        var description: String { "type \(type) flags \(flags) stream \(stream) payload \(payload.count)B" }

        static let data: UInt8 = 0, headers: UInt8 = 1, rst: UInt8 = 3, settings: UInt8 = 4, ping: UInt8 = 6, goAway: UInt8 = 7, windowUpdate: UInt8 = 8
        static func u32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        static func u64(_ v: UInt64) -> [UInt8] { u32(UInt32(v >> 32)) + u32(UInt32(v & 0xFFFF_FFFF)) }
        static let serverSettings = Frame(type: settings)
        static let settingsAck = Frame(type: settings, flags: 1)
        /// `:status 200` (HPACK static index 8), END_HEADERS.
        static func ok(_ stream: UInt32, end: Bool = false) -> Frame { Frame(type: headers, flags: 4 | (end ? 1 : 0), stream: stream, payload: [0x88]) }
        var u32Payload: UInt32 { payload.prefix(4).reduce(0) { $0 << 8 | UInt32($1) } }
        var u64Payload: UInt64 { payload.prefix(8).reduce(0) { $0 << 8 | UInt64($1) } }
    }

    /// Records what the connection tells the pool. @unchecked Sendable: used on the test's thread
    /// only (the EmbeddedEventLoop runs there).
    final class Recorder: ClientConnectionDelegate, @unchecked Sendable {
        var events: [String] = []
        var responses: [RequestID: HTTP2ClientResponse] = [:]
        func connectionActive(_ id: ConnectionID, handler: NIOLoopBound<ClientConnectionHandler>) { events.append("active") }
        func connectionReady(_ id: ConnectionID, maxConcurrentStreams: Int?) { events.append("ready") }
        func settingsChanged(_ id: ConnectionID, maxConcurrentStreams: Int) {}
        func goAwayReceived(_ id: ConnectionID, lastStreamID: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode, debugData: [UInt8]) {
            events.append("goaway \(lastStreamID)")
        }
        func streamFailed(_ request: RequestID, streamID: HTTP2StreamID?, lastStreamID: HTTP2StreamID?, resetCode: NIOHTTP2.HTTP2ErrorCode?, cause: String?) {
            events.append("failed \(request) stream \(streamID.map { "\(Int($0))" } ?? "-") reset \(resetCode.flatMap { GoAwayCore.HTTP2ErrorCode(nio: $0).name } ?? "-")")
        }
        func responseHead(_ request: RequestID, _ response: HTTP2ClientResponse) -> Bool {
            responses[request] = response
            events.append("head \(request)")
            return true
        }
        func streamDone(_ request: RequestID) { events.append("done \(request)") }
        func connectTimedOut(_ id: ConnectionID) { events.append("connect timeout") }
        func connectionClosed(_ id: ConnectionID, cause: String?) { events.append("closed \(cause ?? "-")") }
    }

    final class Harness {
        let loop = EmbeddedEventLoop()
        let channel: EmbeddedChannel
        let handler: ClientConnectionHandler
        let recorder = Recorder()
        private var sawPreface = false

        init(serverSettings: Bool = true, ackSettings: Bool = true, _ configure: (inout HTTP2ClientConfiguration) -> Void = { _ in }) throws {
            var config = HTTP2ClientConfiguration()
            config.receiveWindow = 65_535
            configure(&config)
            channel = EmbeddedChannel(loop: loop)
            handler = ClientConnectionHandler(
                id: ConnectionID(0), delegate: recorder, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
                configuration: config, keepaliveInterval: nil)
            try ClientPipeline.addHTTP2Handlers(
                to: channel.pipeline.syncOperations, tls: nil, endpoint: nil, trace: nil, traceConnection: 1,
                settings: ClientConnectionHandler.initialSettings(config), validatesHeaders: false)
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            if serverSettings { try send(ackSettings ? [.serverSettings, .settingsAck] : [.serverSettings]) }
            _ = try clientFrames()
        }

        func send(_ frames: [Frame]) throws {
            var buffer = ByteBuffer()
            for f in frames {
                buffer.writeBytes([UInt8(f.payload.count >> 16), UInt8(f.payload.count >> 8 & 0xFF), UInt8(f.payload.count & 0xFF), f.type, f.flags])
                buffer.writeBytes(Frame.u32(f.stream))
                buffer.writeBytes(f.payload)
            }
            try channel.writeInbound(buffer)
            loop.run()
        }

        /// Everything the client wrote since the last call, as frames.
        func clientFrames() throws -> [Frame] {
            loop.run()
            var bytes = ByteBuffer()
            while let out = try channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(var b) = out { bytes.writeBuffer(&b) }
            }
            if !sawPreface, bytes.readableBytes >= 24 {
                bytes.moveReaderIndex(forwardBy: 24)
                sawPreface = true
            }
            var frames: [Frame] = []
            while let head = bytes.readBytes(length: 9) {
                let length = Int(head[0]) << 16 | Int(head[1]) << 8 | Int(head[2])
                let stream = (UInt32(head[5]) << 24 | UInt32(head[6]) << 16 | UInt32(head[7]) << 8 | UInt32(head[8])) & 0x7FFF_FFFF
                frames.append(Frame(type: head[3], flags: head[4], stream: stream, payload: bytes.readBytes(length: length) ?? []))
            }
            return frames
        }

        func get(_ id: Int) {
            handler.start([PendingRequest(id: RequestID(id), head: HTTPRequest(method: .get, scheme: "http", authority: "t", path: "/"), body: .empty)])
            loop.run()
        }

        func advance(_ seconds: Double) {
            loop.advanceTime(by: .nanoseconds(Int64(seconds * 1e9)))
        }
    }

    @Test func silentPeerWithAnOpenStreamIsPingedThenDeclaredDead() throws {
        let h = try Harness {
            $0.readIdleTimeout = .seconds(5)
            $0.keepaliveTimeout = .seconds(2)
        }
        h.get(1)
        #expect(try h.clientFrames().map(\.type) == [Frame.headers])
        h.advance(4.9)
        #expect(try h.clientFrames().isEmpty)
        h.advance(0.1)
        let pings = try h.clientFrames()
        #expect(pings.map(\.type) == [Frame.ping])
        let payload = pings.first?.u64Payload ?? 0
        #expect(payload == ClientConnectionStateMachine.pingPayloadBase + 1)
        // An ack with another payload is not the one we wait for.
        h.advance(1)
        try h.send([Frame(type: Frame.ping, flags: 1, payload: Frame.u64(payload + 7))])
        #expect(h.channel.isActive)
        h.advance(1)
        #expect(!h.channel.isActive)
        #expect(h.recorder.events.suffix(2) == [
            "closed no PING ack within 2 s (the peer went silent)",
            "failed r1 stream 1 reset -",
        ])
    }

    @Test func theMatchingAckKeepsTheConnection() throws {
        let h = try Harness {
            $0.readIdleTimeout = .seconds(5)
            $0.keepaliveTimeout = .seconds(2)
        }
        h.get(1)
        h.advance(5)
        let payload = try h.clientFrames().last?.u64Payload ?? 0
        h.advance(1)
        try h.send([Frame(type: Frame.ping, flags: 1, payload: Frame.u64(payload))])
        h.advance(3)
        #expect(h.channel.isActive)
        // Silence again: the next PING comes readIdle after the ack, with a new payload.
        h.advance(2)
        let next = try h.clientFrames().filter { $0.type == Frame.ping }
        #expect(next.map(\.u64Payload) == [payload + 1])
    }

    @Test func noSettingsAckEndsWithGoAwaySettingsTimeout() throws {
        let h = try Harness(ackSettings: false) { $0.settingsAckTimeout = .seconds(1) }
        h.advance(0.9)
        #expect(h.channel.isActive)
        h.advance(0.1)
        #expect(!h.channel.isActive)
        let goAway = try h.clientFrames().filter { $0.type == Frame.goAway }
        #expect(goAway.map { Array($0.payload.prefix(8)) } == [Frame.u32(0) + Frame.u32(4)])
        #expect(h.recorder.events.last == "closed no SETTINGS ack within 1 s")
    }

    /// TCP up, then silence: the connect timeout bounds the server's first SETTINGS (the machine's
    /// deadline, on the loop's clock). The channel closes without GOAWAY, and the pool hears a
    /// connect timeout before the close.
    @Test func noServerSettingsWithinTheConnectTimeoutClosesAsATimeout() throws {
        let h = try Harness(serverSettings: false) {
            $0.connectTimeout = .seconds(2)
            $0.settingsAckTimeout = .seconds(5)
        }
        h.advance(1.9)
        #expect(h.channel.isActive)
        h.advance(0.1)
        #expect(!h.channel.isActive)
        #expect(try h.clientFrames().filter { $0.type == Frame.goAway }.isEmpty)
        #expect(h.recorder.events == ["active", "connect timeout", "closed no SETTINGS from the server within 2 s"])
    }

    /// The server's SETTINGS in time: the connect timeout is over for this connection.
    @Test func serverSettingsInTimeEndTheConnectTimeout() throws {
        let h = try Harness { $0.connectTimeout = .seconds(1) }
        h.advance(3)
        #expect(h.channel.isActive)
        #expect(h.recorder.events == ["active", "ready"])
    }

    /// Back-pressure: a reader that takes nothing gets no stream WINDOW_UPDATE, so the server can
    /// send at most one window; the connection window keeps going back on arrival.
    @Test func unreadBodyHoldsAtMostOneStreamWindow() throws {
        let h = try Harness()
        h.get(1)
        _ = try h.clientFrames()
        let chunk = [UInt8](repeating: 0x62, count: 16_383)
        try h.send([.ok(1)] + Array(repeating: Frame(type: Frame.data, stream: 1, payload: chunk), count: 4))
        let updates = try h.clientFrames().filter { $0.type == Frame.windowUpdate }
        #expect(updates.allSatisfy { $0.stream == 0 }, "\(updates)")
        #expect(updates.map(\.u32Payload).reduce(0, +) >= 32_766)
        #expect(h.handler.core.heldBytes(1) == 4 * 16_383)
        #expect(h.handler.core.heldBytes(1)! <= 65_535)
        // The reader takes three quarters: the stream's window goes back.
        h.handler.bodyConsumed(1, bytes: 3 * 16_383)
        h.loop.run()
        let streamUpdates = try h.clientFrames().filter { $0.type == Frame.windowUpdate }
        #expect(streamUpdates == [Frame(type: Frame.windowUpdate, stream: 1, payload: Frame.u32(3 * 16_383))])
        #expect(h.channel.isActive)
    }

    /// RFC 9113 §6.9: WINDOW_UPDATE with increment 0 on a stream is a stream error: RST_STREAM
    /// (PROTOCOL_ERROR) for it, and the connection stays.
    @Test func zeroWindowIncrementOnAStreamResetsOnlyThatStream() throws {
        let h = try Harness()
        h.get(1)
        h.get(2)
        _ = try h.clientFrames()
        try h.send([Frame(type: Frame.windowUpdate, stream: 1, payload: Frame.u32(0))])
        let out = try h.clientFrames()
        #expect(out == [Frame(type: Frame.rst, stream: 1, payload: Frame.u32(1))])
        #expect(h.channel.isActive)
        #expect(h.recorder.events.last == "failed r1 stream 1 reset PROTOCOL_ERROR")
        // Stream 3 still works.
        try h.send([.ok(3, end: true)])
        #expect(h.recorder.events.suffix(2) == ["head r2", "done r2"])
    }

    /// RFC 9113 §6.9.1: a stream window pushed past 2^31-1 is a stream error: RST_STREAM
    /// (FLOW_CONTROL_ERROR). The GET ended its side, so swift-nio-http2 checks nothing there.
    @Test func streamWindowOverflowResetsOnlyThatStream() throws {
        let h = try Harness()
        h.get(1)
        _ = try h.clientFrames()
        // 65,535 + 2^31-65,535 = 2^31-1: still legal; one more byte is not.
        try h.send([Frame(type: Frame.windowUpdate, stream: 1, payload: Frame.u32(UInt32(Int32.max) - 65_535))])
        #expect(try h.clientFrames().isEmpty)
        try h.send([Frame(type: Frame.windowUpdate, stream: 1, payload: Frame.u32(1))])
        #expect(try h.clientFrames() == [Frame(type: Frame.rst, stream: 1, payload: Frame.u32(3))])
        #expect(h.channel.isActive)
        #expect(h.recorder.events.last == "failed r1 stream 1 reset FLOW_CONTROL_ERROR")
    }

    /// HPACK: a literal field without indexing, new name (RFC 7541 §6.2.2), lengths < 127.
    static func literal(_ name: String, _ value: String) -> [UInt8] {
        [0x00, UInt8(name.utf8.count)] + Array(name.utf8) + [UInt8(value.utf8.count)] + Array(value.utf8)
    }

    /// A malformed response head (ours to check: swift-nio-http2's check is off) resets only its
    /// stream with PROTOCOL_ERROR, before the head: the pool decides about the request.
    @Test(arguments: [("connection", "close"), ("X-Upper", "1"), ("x", "a\rb")])
    func malformedHeadResetsTheStreamOnly(_ field: (String, String)) throws {
        let h = try Harness()
        h.get(1)
        _ = try h.clientFrames()
        try h.send([Frame(type: Frame.headers, flags: 4 | 1, stream: 1, payload: [0x88] + Self.literal(field.0, field.1))])
        #expect(try h.clientFrames() == [Frame(type: Frame.rst, stream: 1, payload: Frame.u32(1))])
        #expect(h.channel.isActive)
        #expect(h.recorder.events.last == "failed r1 stream 1 reset PROTOCOL_ERROR")
    }

    /// Malformed trailers after the head: the body fails `streamReset` (PROTOCOL_ERROR).
    @Test func malformedTrailersFailTheBody() async throws {
        let h = try Harness()
        h.get(1)
        _ = try h.clientFrames()
        try h.send([Frame.ok(1), Frame(type: Frame.headers, flags: 4 | 1, stream: 1, payload: [0x88])])
        #expect(try h.clientFrames() == [Frame(type: Frame.rst, stream: 1, payload: Frame.u32(1))])
        #expect(h.recorder.events.suffix(2) == ["head r1", "done r1"])
        let body = try #require(h.recorder.responses[RequestID(1)]?.body)
        await #expect(throws: HTTP2ClientError.self) { _ = try await body.collect(upTo: 100) }
    }

    @Test func responseBodyReportsWhatTheReaderTakes() async throws {
        let taken = Mutex<[Int]>([])
        let continuation = ResponseBodyStorage(streamID: 1, events: BodyEvents(reportEvery: 1, consumed: { _, n in taken.withLock { $0.append(n) } }, abandoned: { _ in }))
        let body = HTTP2ResponseBody(continuation)
        continuation.yield(ByteBuffer(repeating: 1, count: 10))
        continuation.yield(ByteBuffer(repeating: 1, count: 5))
        continuation.finish()
        #expect(try await body.collect(upTo: 100).readableBytes == 15)
        #expect(taken.withLock { $0 } == [10, 5])
    }

    /// The reader reports in batches (one event-loop hop per quarter window, not per frame).
    @Test func responseBodyReportsInBatches() async throws {
        let taken = Mutex<[Int]>([])
        let continuation = ResponseBodyStorage(streamID: 1, events: BodyEvents(reportEvery: 8, consumed: { _, n in taken.withLock { $0.append(n) } }, abandoned: { _ in }))
        let body = HTTP2ResponseBody(continuation)
        for _ in 0..<5 { continuation.yield(ByteBuffer(repeating: 1, count: 5)) }
        continuation.finish()
        #expect(try await body.collect(upTo: 100).readableBytes == 25)
        #expect(taken.withLock { $0 } == [10, 10])
    }
}
