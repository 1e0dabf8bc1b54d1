import GoAwayCore
import MetricsTestKit
import NIOCore
import Testing

@testable import GoAwayKit

typealias RawPeer = ServerProtectionTests.RawPeer

/// Inbound flow control and connection errors through the real pipeline, raw bytes in memory:
/// the machine's `InboundWindow`s reach the wire as WINDOW_UPDATE frames.
@Suite("Server flow control (in memory)")
struct ServerFlowControlTests {
    /// WINDOW_UPDATE increments the server wrote, by stream.
    static func windowUpdates(_ peer: RawPeer) async throws -> [(stream: Int, increment: Int)] {
        try await peer.frames().filter { $0.type == 0x8 }.map { ($0.stream, RawPeer.uint31($0.payload, at: 0)) }
    }

    static let collector: HTTP2Server.Handler = { _, body, _ in
        let bytes = try await body.collect(upTo: 1 << 20)
        return ServerResponse(status: .ok, text: "\(bytes.readableBytes)")
    }

    @Test func paddingCountsThePadLengthOctetOnceAndTheWindowsReturnAtHalf() async throws {
        // 65,535 window: a WINDOW_UPDATE is due at 32,767 bytes of credit.
        let peer = try await RawPeer(initialWindowSize: 65_535, handler: Self.collector)
        try await peer.handshake()
        try await peer.send(RawPeer.frame(0x1, flags: 0x4, stream: 1, peer.requestBlock("/upload")))
        // 16,000 + (15,000 + pad length octet + 255) + 1,510 = 32,766: one short.
        let padded = [UInt8(255)] + [UInt8](repeating: 7, count: 15_000) + [UInt8](repeating: 0, count: 255)
        try await peer.send(RawPeer.frame(0x0, stream: 1, [UInt8](repeating: 1, count: 16_000)))
        try await peer.send(RawPeer.frame(0x0, flags: 0x8, stream: 1, padded))
        try await peer.send(RawPeer.frame(0x0, stream: 1, [UInt8](repeating: 1, count: 1_510)))
        try await Task.sleep(for: .milliseconds(50))  // the handler reads off the loop, then hops back
        await peer.loop.run()
        #expect(try await Self.windowUpdates(peer).isEmpty, "32,766 bytes: below half the window")
        try await peer.send(RawPeer.frame(0x0, stream: 1, [1]))
        try await Task.sleep(for: .milliseconds(50))
        await peer.loop.run()
        let updates = try await Self.windowUpdates(peer)
        #expect(updates.contains { $0 == (0, 32_767) }, "the connection's, on arrival: \(updates)")
        #expect(updates.contains { $0 == (1, 32_767) }, "the stream's, once read (padding at once): \(updates)")
        // END_STREAM: answered with what the handler read (the padding never reaches it).
        try await peer.send(RawPeer.frame(0x0, flags: 0x1, stream: 1))
        try await Task.sleep(for: .milliseconds(50))
        await peer.loop.run()
        let data = try await peer.frames().filter { $0.type == 0x0 && $0.stream == 1 }
        #expect(data.map { String(decoding: $0.payload, as: UTF8.self) }.joined() == "32511")
    }

    @Test func anUploadAnsweredEarlyIsDiscardedThenResetWithNoError() async throws {
        let peer = try await RawPeer(initialWindowSize: 65_535)  // answers "ok" without reading
        try await peer.handshake()
        try await peer.send(RawPeer.frame(0x1, flags: 0x4, stream: 1, peer.requestBlock("/")))
        #expect(try await peer.frames().contains { $0.type == 0x1 && $0.stream == 1 }, "answered")
        try await peer.send(RawPeer.frame(0x0, stream: 1, [UInt8](repeating: 1, count: 16_000)))
        try await peer.send(RawPeer.frame(0x0, stream: 1, [UInt8](repeating: 1, count: 16_000)))
        #expect(try await peer.frames().filter { $0.type == 0x3 }.isEmpty, "the request stays open")
        try await peer.send(RawPeer.frame(0x0, stream: 1, [UInt8](repeating: 1, count: 767)))
        let frames = try await peer.frames()
        let resets = frames.filter { $0.type == 0x3 }.map { ($0.stream, RawPeer.uint31($0.payload, at: 0)) }
        #expect(resets.count == 1 && resets.first! == (1, 0), "RST_STREAM(NO_ERROR) at half a window: \(resets)")
        #expect(!(try await Self.windowUpdates(peer)).contains { $0.stream == 1 }, "the stream window stays closed")
        #expect(peer.channel.isActive, "the connection goes on")
    }

    @Test func connectionWindowOverflowIsReportedAsFlowControlErrorWithTheTrueLastStreamID() async throws {
        let peer = try await RawPeer()
        try await peer.handshake()
        try await peer.send(RawPeer.frame(0x1, flags: 0x5, stream: 1, peer.requestBlock("/hold")))
        try await peer.send(RawPeer.frame(0x8, [0x7f, 0xff, 0xff, 0xff]))
        let goaways = try await peer.goAways()
        #expect(goaways.count == 1 && goaways.first! == (1, 0x3, ""), "\(goaways)")
        #expect(!peer.channel.isActive)
        // Events, statistics and metrics say what the wire says.
        #expect(peer.runtime.statistics.goAwaysSent == [.error: 1])
        #expect(peer.runtime.statistics.attacksDetected.isEmpty)
        #expect(peer.metrics.counterTotal(label: "goaway_server_goaways_sent_total", dimensions: [("code", "FLOW_CONTROL_ERROR"), ("reason", "error")]) == 1)
        var events = peer.runtime.events.makeAsyncIterator()
        while let event = await events.next() {
            if case .goAwaySent(_, let last, let code, let reason, _) = event {
                #expect(last == 1 && code == .flowControlError && reason == .error)
                break
            }
        }
    }
}
