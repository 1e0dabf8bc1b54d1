import GoAwayCore
import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import GoAwayKit

/// The server's NIO shell against a real swift-nio-http2 client, in memory, with virtual time.
@Suite("ServerConnectionHandler (in memory)")
struct ServerConnectionHandlerTests {
    /// A client channel and a server channel on one testing loop, bytes shuttled by hand so a test
    /// can hold back one direction (a peer that never acks).
    final class Harness: Sendable {
        let loop = NIOAsyncTestingEventLoop()
        let server: NIOAsyncTestingChannel
        let client: NIOAsyncTestingChannel
        let recorder = FrameRecorder()
        let handler: NIOLoopBound<ServerConnectionHandler>
        let runtime: ServerRuntime

        init(policy: ServerConnectionPolicy, handler: @escaping HTTP2Server.Handler) async throws {
            server = NIOAsyncTestingChannel(loop: loop)
            client = NIOAsyncTestingChannel(loop: loop)
            var configuration = HTTP2Server.Configuration()
            configuration.connection = policy
            let runtime = ServerRuntime(configuration: configuration, handler: handler)
            self.runtime = runtime
            let settings = HTTP2Server.settings(for: configuration)
            let (server, client, recorder, loop) = (self.server, self.client, self.recorder, self.loop)
            self.handler = try await loop.executeInContext {
                // The server's own pipeline (RawGoAwayWriter, InboundFrameScanner, NIOHTTP2Handler, ours).
                let h = try HTTP2Server.configureConnection(channel: server, runtime: runtime, settings: settings, sslContext: nil)
                try client.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client))
                try client.pipeline.syncOperations.addHandler(recorder)
                return NIOLoopBound(h, eventLoop: loop)
            }
            let address = try SocketAddress(ipAddress: "127.0.0.1", port: 1)
            try await server.connect(to: address)
            try await client.connect(to: address)
        }

        /// Moves bytes both ways (or one way) until nothing moves twice in a row. Handler tasks
        /// that suspended resume off the loop and hop back, so an idle round waits a moment.
        func shuttle(toServer: Bool = true, toClient: Bool = true) async throws {
            var idleRounds = 0
            for _ in 0..<200 where idleRounds < 2 {
                await loop.run()
                var moved = false
                while toServer, server.isActive, let bytes = try await client.readOutbound(as: ByteBuffer.self) {
                    try await server.writeInbound(bytes)
                    moved = true
                }
                while toClient, let bytes = try await server.readOutbound(as: ByteBuffer.self) {
                    try await client.writeInbound(bytes)
                    moved = true
                }
                if moved {
                    idleRounds = 0
                } else {
                    idleRounds += 1
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
        }

        func request(_ path: String, stream: HTTP2StreamID) async throws {
            let headers: HPACKHeaders = [":method": "GET", ":scheme": "http", ":authority": "test", ":path": path]
            try await client.writeOutbound(HTTP2Frame(streamID: stream, payload: .headers(.init(headers: headers, endStream: true))))
        }

        func shutdown() async throws {
            let handler = self.handler
            try await loop.executeInContext { handler.value.shutdown(reason: .shutdown) }
        }
    }

    /// Records the lifecycle frames the client receives, in order.
    final class FrameRecorder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTP2Frame
        private let box = NIOLockedValueBox<[String]>([])
        var frames: [String] { box.withLockedValue { $0 } }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            let text: String? =
                switch frame.payload {
                case .goAway(let last, let code, _): "GOAWAY(\(Int(last)),\(code.networkCode))@\(Int(frame.streamID))"
                case .ping(_, let ack): ack ? nil : "PING"
                case .headers(let h): h.headers.first(name: ":status").map { "HEADERS(\(Int(frame.streamID)),\($0))" }
                case .rstStream(let code): "RST(\(Int(frame.streamID)),\(code.networkCode))"
                default: nil
                }
            if let text { box.withLockedValue { $0.append(text) } }
        }
    }

    static func gatedHandler() -> (HTTP2Server.Handler, AsyncStream<Void>.Continuation) {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        let handler: HTTP2Server.Handler = { request, _, _ in
            if request.path == "/hold" {
                for await _ in gate { break }
            }
            return ServerResponse(status: .ok, text: "done")
        }
        return (handler, open)
    }

    static let policy = ServerConnectionPolicy(idleTimeout: nil, pingAckTimeout: .seconds(2), drainGrace: .seconds(5))

    /// A connection that closes before it ever became active gets no channelInactive; the
    /// closeFuture backstop still reports it closed, so a shutdown does not wait for it forever
    /// (seen as a drill's hard-kill step hanging 30 s under load).
    @Test func connectionClosedBeforeActiveIsReportedClosed() async throws {
        let loop = NIOAsyncTestingEventLoop()
        let channel = NIOAsyncTestingChannel(loop: loop)
        let configuration = HTTP2Server.Configuration()
        let runtime = ServerRuntime(configuration: configuration, handler: { _, _, _ in ServerResponse(status: .ok, text: "") })
        try await loop.executeInContext {
            _ = try HTTP2Server.configureConnection(channel: channel, runtime: runtime, settings: HTTP2Server.settings(for: configuration), sslContext: nil)
        }
        #expect(runtime.statistics.connectionsAccepted == 1)
        try await channel.close()
        await loop.run()
        try #require(runtime.statistics.connectionsClosed == 1)
        // Returns at once: nothing is left open.
        await runtime.waitForAllConnectionsClosed()
        // Reported once, not twice, when the handler reports it too (an active connection).
        let h = try await Harness(policy: ServerConnectionPolicy(), handler: { _, _, _ in ServerResponse(status: .ok, text: "") })
        try await h.shuttle()
        try await h.server.close()
        await h.loop.run()
        #expect(h.runtime.statistics.connectionsClosed == 1)
    }

    @Test func inlineRequestIsAnsweredInTheSameRead() async throws {
        let (handler, _) = Self.gatedHandler()
        let h = try await Harness(policy: Self.policy, handler: handler)
        try await h.request("/", stream: 1)
        try await h.shuttle()
        #expect(h.recorder.frames == ["HEADERS(1,200)"])
        #expect(h.runtime.statistics.requests == 1)
    }

    @Test func noPingAfterTheNoticeTheFinalGoAwayAfterTwoRoundTripsThenGraceCloses() async throws {
        let (handler, _) = Self.gatedHandler()
        let h = try await Harness(policy: Self.policy, handler: handler)
        try await h.request("/hold", stream: 1)
        try await h.shuttle()
        try await h.shutdown()
        try await h.shuttle(toServer: false)
        #expect(h.recorder.frames == ["GOAWAY(2147483647,0)@0"], "the notice, and no PING after it")

        // The SETTINGS round trip took no virtual time: the notice phase is its 50 ms floor.
        await h.loop.advanceTime(by: .milliseconds(49))
        try await h.shuttle(toServer: false)
        #expect(h.recorder.frames.count == 1, "nothing before the notice phase ends")
        await h.loop.advanceTime(by: .milliseconds(1))
        try await h.shuttle(toServer: false)
        #expect(h.recorder.frames == ["GOAWAY(2147483647,0)@0", "GOAWAY(1,0)@0"])
        #expect(h.server.isActive)

        // The held request never finishes: the grace deadline closes the connection.
        await h.loop.advanceTime(by: .seconds(5))
        try await h.shuttle(toServer: false)
        #expect(!h.server.isActive)
        #expect(h.runtime.statistics.connectionsDrained == 1)
    }

    @Test func theInFlightRequestCompletesAfterTheFinalGoAway() async throws {
        let (handler, open) = Self.gatedHandler()
        let h = try await Harness(policy: Self.policy, handler: handler)
        try await h.request("/hold", stream: 1)
        try await h.shuttle()
        try await h.shutdown()
        await h.loop.advanceTime(by: .milliseconds(50))
        try await h.shuttle()
        #expect(h.recorder.frames == ["GOAWAY(2147483647,0)@0", "GOAWAY(1,0)@0"])
        #expect(h.server.isActive)

        open.yield()
        try await h.shuttle()
        #expect(h.recorder.frames.last == "HEADERS(1,200)")
        #expect(!h.server.isActive, "closed once the last stream ended")
        #expect(h.runtime.statistics.requestsCompletedDuringDrain == 1)
    }

    @Test func streamRacingTheNoticeIsServed() async throws {
        let (handler, _) = Self.gatedHandler()
        let h = try await Harness(policy: Self.policy, handler: handler)
        try await h.request("/hold", stream: 1)
        try await h.shuttle()
        try await h.shutdown()
        // The client sends stream 3 before it has read the notice.
        try await h.request("/", stream: 3)
        try await h.shuttle()
        await h.loop.advanceTime(by: .milliseconds(50))
        try await h.shuttle()
        #expect(h.recorder.frames.contains("HEADERS(3,200)"))
        #expect(h.recorder.frames.contains("GOAWAY(3,0)@0"))
        #expect(h.runtime.statistics.requests == 2)
    }
}
