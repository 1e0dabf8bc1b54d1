import Foundation
import GoAwayKit
import GoAwayTesting
import HTTPTypes
import Testing

/// RFC 9113 §4–§6, the MUSTs a client meets when the server breaks a rule: one raw-frame case per
/// rule (`scripts/peers/client_conformance_server.py --case`), and the frame our client must send
/// back. Stream errors get RST_STREAM on that stream (the connection stays); connection errors
/// GOAWAY with the code. Plain python3 (no h2 needed).
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClientConformanceTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var section: String
        /// Lines the client's answer may be, exactly as the peer prints them.
        var accept: [String]
        var testDescription: String { "\(section) \(name)" }
    }

    static func rst(_ code: Int) -> String { "GOT RST_STREAM stream=1 code=\(code)" }
    /// A client accepts no server-initiated stream (push is off), so the last-stream-id of every
    /// GOAWAY it sends is 0 (RFC 9113 §6.8), never swift-nio-http2's 2^31-1.
    static func goAway(_ code: Int) -> String { "GOT GOAWAY last=0 code=\(code)" }
    static let protocolError = 1, flowControl = 3, streamClosed = 5, frameSize = 6, compression = 9

    static let cases: [Case] = [
        Case(name: "window-update-zero-stream", section: "§6.9", accept: [rst(protocolError)]),
        Case(name: "window-update-zero-connection", section: "§6.9", accept: [goAway(protocolError)]),
        Case(name: "window-overflow-stream", section: "§6.9.1", accept: [rst(flowControl)]),
        Case(name: "window-overflow-connection", section: "§6.9.1", accept: [goAway(flowControl)]),
        Case(name: "window-update-bad-length", section: "§6.9", accept: [goAway(frameSize)]),
        Case(name: "data-beyond-window", section: "§6.9.1", accept: [goAway(flowControl), rst(flowControl)]),
        Case(name: "settings-ack", section: "§6.5.3", accept: ["GOT SETTINGS_ACK"]),
        Case(name: "settings-ack-with-payload", section: "§6.5", accept: [goAway(frameSize)]),
        Case(name: "settings-bad-length", section: "§6.5", accept: [goAway(frameSize)]),
        Case(name: "settings-on-stream", section: "§6.5", accept: [goAway(protocolError)]),
        Case(name: "settings-enable-push-2", section: "§6.5.2", accept: [goAway(protocolError)]),
        Case(name: "settings-initial-window-too-large", section: "§6.5.2", accept: [goAway(flowControl)]),
        Case(name: "settings-max-frame-size-too-small", section: "§6.5.2", accept: [goAway(protocolError)]),
        Case(name: "settings-max-frame-size-too-large", section: "§6.5.2", accept: [goAway(protocolError)]),
        Case(name: "ping-ack", section: "§6.7", accept: ["GOT PING_ACK payload=676f617761792121"]),
        Case(name: "ping-bad-length", section: "§6.7", accept: [goAway(frameSize)]),
        Case(name: "ping-on-stream", section: "§6.7", accept: [goAway(protocolError)]),
        Case(name: "goaway-on-stream", section: "§6.8", accept: [goAway(protocolError)]),
        Case(name: "data-on-stream-0", section: "§6.1", accept: [goAway(protocolError)]),
        Case(name: "rst-on-stream-0", section: "§6.4", accept: [goAway(protocolError)]),
        Case(name: "rst-bad-length", section: "§6.4", accept: [goAway(frameSize)]),
        // swift-nio-http2 makes this stream error a connection error, which §5.4.1 allows.
        Case(name: "priority-bad-length", section: "§6.3", accept: [rst(frameSize), goAway(frameSize)]),
        Case(name: "priority-on-stream-0", section: "§6.3", accept: [goAway(protocolError)]),
        Case(name: "push-promise", section: "§6.6", accept: [goAway(protocolError)]),
        Case(name: "data-on-idle-stream", section: "§5.1", accept: [goAway(protocolError)]),
        Case(name: "headers-on-even-stream", section: "§5.1.1", accept: [goAway(protocolError)]),
        Case(name: "data-after-end-stream", section: "§5.1", accept: [goAway(streamClosed), rst(streamClosed)]),
        Case(name: "headers-bad-hpack", section: "§4.3", accept: [goAway(compression)]),
        Case(name: "continuation-without-headers", section: "§6.10", accept: [goAway(protocolError)]),
        Case(name: "frame-too-large", section: "§4.2", accept: [goAway(frameSize)]),
    ]

    static func python() throws -> String {
        guard let python = Peers.python ?? Peers.path("python3") else { throw PeerError("no python3") }
        return python
    }


    @Test(arguments: cases)
    func serverBreaksARule(_ c: Case) async throws {
        let peer = try PeerProcess(try Self.python(), ["-u", Peers.script("client_conformance_server.py"), "--port", "0", "--case", c.name])
        defer { peer.kill() }
        let port = try await ClientPeers.listeningPort(of: peer)
        var config = HTTP2ClientConfiguration()
        config.pool.retry = .disabled
        config.requestTimeout = .seconds(5)
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"], configuration: config)
        let get = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/c")
        let request = Task {
            // The response is held, never read: its stream window stays closed (data-beyond-window).
            let response = try? await client.execute(get)
            try? await Task.sleep(for: .seconds(10))
            _ = response
        }
        let deadline = ContinuousClock.now + .seconds(5)
        var answer: Substring?
        while answer == nil, ContinuousClock.now < deadline {
            answer = peer.stdout.split(separator: "\n").first { line in c.accept.contains { line == $0 } }
            if answer == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        request.cancel()
        await client.shutdown(timeout: .seconds(2))
        let got = peer.stdout.split(separator: "\n").filter { $0.hasPrefix("GOT ") }
        print("conformance \(c.section) \(c.name): \(got)")
        #expect(answer != nil, "\(c.section) \(c.name): the client sent \(got), expected one of \(c.accept)")
        // A stream error leaves the connection up: no GOAWAY for it.
        if c.accept.allSatisfy({ $0.hasPrefix("GOT RST_STREAM") }) {
            #expect(!got.contains { $0.hasPrefix("GOT GOAWAY") && !$0.hasSuffix("code=0") }, "\(got)")
        }
    }
}
