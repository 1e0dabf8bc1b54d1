import Foundation
import GoAwayKit
import GoAwayTesting
import Testing

/// Hostile peers against the real server on loopback. Each test: the attacker
/// (scripts/peers/attack_client.py) gets one GOAWAY with the right code and debug data and is
/// disconnected, while an honest h2load running at the same time completes every request.
@Suite("Attacks against the server", .serialized, .exclusive)
struct AttackInteropTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var attack: String
        var code: Int
        var debug: String
        var reason: ShutdownReason
        /// The GOAWAY's last-stream-id: the highest stream that reached the handler (nil: the
        /// flood opens streams as it goes; then an odd id below 2^31-1).
        var last: Int?
        var extra: [String] = []
        var testDescription: String { attack }
    }

    static let enhanceYourCalm = 0xb
    static let protocolError = 0x1

    static let cases: [Case] = [
        Case(attack: "rapid-reset", code: enhanceYourCalm, debug: "rapid_reset", reason: .rapidReset, last: nil),
        Case(attack: "continuation", code: enhanceYourCalm, debug: "continuation_flood", reason: .continuationFlood, last: 0),
        Case(attack: "ping-flood", code: enhanceYourCalm, debug: "ping_flood", reason: .pingFlood, last: 1),
        Case(attack: "settings-flood", code: enhanceYourCalm, debug: "settings_flood", reason: .settingsFlood, last: 0),
        Case(attack: "empty-data", code: enhanceYourCalm, debug: "empty_frames", reason: .emptyFrames, last: 1),
        Case(attack: "window-update", code: enhanceYourCalm, debug: "window_update_abuse", reason: .windowUpdateAbuse, last: 0),
        Case(attack: "header-size", code: protocolError, debug: "header_list_size", reason: .headerListSize, last: 0),
        Case(attack: "slow-preface", code: enhanceYourCalm, debug: "header_timeout", reason: .headerTimeout, last: 0),
        Case(attack: "slow-headers", code: enhanceYourCalm, debug: "header_timeout", reason: .headerTimeout, last: 0),
    ]

    /// The header timeout is 1 s for the slowloris cases only: on a loaded 2-core machine a
    /// starved event loop can look like a slow peer at 1 s, never at the 10 s default.
    static func configuration(headerTimeout: Duration = .seconds(10)) -> HTTP2Server.Configuration {
        var config = HTTP2Server.Configuration()
        config.protection.headerTimeout = headerTimeout
        return config
    }

    /// The honest client: 600 requests that each take 20 ms, 8 at a time on 2 connections, so it
    /// is still running when the attack starts 300 ms in (at least 1.5 s in all).
    static let honestRequests = 600
    static func honestClient(port: Int) throws -> PeerProcess {
        try PeerProcess("h2load", ["-n", "\(honestRequests)", "-c", "2", "-m", "4", "http://127.0.0.1:\(port)/delay/20"])
    }

    @Test("Attack: the attacker gets its GOAWAY and is closed; an honest client loses nothing",
          .enabled(if: Peers.available("python-h2", "h2load")), arguments: cases)
    func attack(_ c: Case) async throws {
        let slow = c.reason == .headerTimeout
        try await withTestServer(Self.configuration(headerTimeout: slow ? .seconds(1) : .seconds(10))) { server, port in
            let honest = try Self.honestClient(port: port)
            try await Task.sleep(for: .milliseconds(300))
            let attacker = try PeerProcess(Peers.python!, [Peers.script("attack_client.py"), "--port", "\(port)", "--attack", c.attack, "--max-time", "10"] + c.extra)
            try await attacker.wait(timeout: .seconds(20))
            try await Self.waitForSummary(honest)

            let events = RawPeerEvent.parse(attacker.stdout)
            let goaways = events.filter { $0.event == "goaway" }
            #expect(goaways.count == 1, "exactly one GOAWAY: \(attacker.stdout)")
            #expect(goaways.first?.error_code == c.code, "\(attacker.stdout)")
            #expect(goaways.first?.debug == c.debug, "\(attacker.stdout)")
            #expect(goaways.first?.stream == 0)
            if let last = c.last {
                #expect(goaways.first?.last_stream_id == last, "last-stream-id \(last): \(attacker.stdout)")
            } else {
                let last = goaways.first?.last_stream_id ?? 0
                #expect(last % 2 == 1 && last < Int(Int32.max), "a real client stream id: \(attacker.stdout)")
            }
            #expect(events.contains { $0.event == "closed" }, "the attacker was disconnected: \(attacker.stdout)")
            #expect(server.statistics.attacksDetected[c.reason, default: 0] == 1)

            Self.expectAllSucceeded(honest.stdout)
        }
    }

    @Test("Attack: a peer that stops reading a large response is closed after the send-stall timeout",
          .enabled(if: Peers.available("python-h2", "h2load")))
    func attackStalledReader() async throws {
        var config = Self.configuration()
        config.protection.sendStallTimeout = .milliseconds(500)
        try await withTestServer(config) { server, port in
            let honest = try Self.honestClient(port: port)
            try await Task.sleep(for: .milliseconds(300))
            let started = ContinuousClock.now
            let attacker = try PeerProcess(Peers.python!, [Peers.script("attack_client.py"), "--port", "\(port)", "--attack", "stall", "--path", "/bytes/10000000", "--max-time", "10"])
            try await attacker.wait(timeout: .seconds(20))
            let elapsed = ContinuousClock.now - started
            try await Self.waitForSummary(honest)
            let events = RawPeerEvent.parse(attacker.stdout)
            let goaways = events.filter { $0.event == "goaway" }
            #expect(goaways.map(\.debug) == ["send_timeout"], "\(attacker.stdout)")
            #expect(goaways.first?.error_code == 0)
            #expect(events.contains { $0.event == "closed" }, "\(attacker.stdout)")
            #expect(elapsed < .seconds(5), "stall detected within 2 × 0.5 s plus slack, took \(elapsed)")
            #expect(server.statistics.attacksDetected[.sendTimeout, default: 0] == 1)
            Self.expectAllSucceeded(honest.stdout)
        }
    }

    @Test("Attack: over max connections the oldest idle connection is shed, then new ones are refused",
          .enabled(if: Peers.available("python-h2")))
    func attackMaxConnections() async throws {
        var config = Self.configuration()
        config.protection.maxConnections = 2
        config.protection.headerTimeout = nil
        try await withTestServer(config) { server, port in
            func idle() throws -> PeerProcess {
                try PeerProcess(Peers.python!, [Peers.script("attack_client.py"), "--port", "\(port)", "--attack", "idle", "--max-time", "6"])
            }
            let first = try idle()
            _ = try await first.waitForLine(containing: "attack_sent", timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(200))
            let second = try PeerProcess(Peers.python!, [Peers.script("attack_client.py"), "--port", "\(port)", "--attack", "stall", "--path", "/delay/4000", "--max-time", "6"])
            _ = try await second.waitForLine(containing: "attack_sent", timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(200))
            // Third: over the limit. The first is idle: it is drained (NO_ERROR), the third served.
            let third = try idle()
            _ = try await first.waitForLine(containing: "goaway", timeout: .seconds(5))
            try await Task.sleep(for: .milliseconds(300))
            // Fourth: over the limit again; the second is busy, the third idle: the third is shed.
            let fourth = try PeerProcess(Peers.python!, [Peers.script("attack_client.py"), "--port", "\(port)", "--attack", "stall", "--path", "/delay/3000", "--max-time", "6"])
            _ = try await fourth.waitForLine(containing: "attack_sent", timeout: .seconds(10))
            _ = try await third.waitForLine(containing: "goaway", timeout: .seconds(5))
            try await Task.sleep(for: .milliseconds(300))
            // Fifth: both open connections are busy: the new one is refused.
            let fifth = try idle()
            for p in [first, second, third, fourth, fifth] { try await p.wait(timeout: .seconds(15)) }

            let shed = RawPeerEvent.parse(first.stdout).filter { $0.event == "goaway" }
            #expect(shed.first?.debug == "max_connections" && shed.first?.error_code == 0, "\(first.stdout)")
            #expect(RawPeerEvent.parse(third.stdout).first { $0.event == "goaway" }?.debug == "max_connections", "\(third.stdout)")
            let refused = RawPeerEvent.parse(fifth.stdout).filter { $0.event == "goaway" }
            #expect(refused.first?.error_code == Self.enhanceYourCalm && refused.first?.last_stream_id == 0, "\(fifth.stdout)")
            #expect(refused.first?.debug == "max_connections")
            // The busy ones were never shed and got their responses.
            #expect(RawPeerEvent.parse(second.stdout).contains { $0.event == "response" }, "\(second.stdout)")
            #expect(!RawPeerEvent.parse(second.stdout).contains { $0.event == "goaway" }, "\(second.stdout)")
            #expect(RawPeerEvent.parse(fourth.stdout).contains { $0.event == "response" }, "\(fourth.stdout)")
            #expect(server.statistics.attacksDetected[.maxConnections, default: 0] == 3)
        }
    }

    /// h2load's summary is written as it exits; the pipe may deliver it a moment later.
    static func waitForSummary(_ h2load: PeerProcess) async throws {
        try await h2load.wait(timeout: .seconds(90))
        for _ in 0..<100 where !h2load.stdout.contains("status codes:") {
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func expectAllSucceeded(_ out: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let n = honestRequests
        #expect(out.contains("\(n) total, \(n) started, \(n) done, \(n) succeeded, 0 failed, 0 errored, 0 timeout"),
                "honest requests all succeeded: \(out)", sourceLocation: sourceLocation)
        #expect(out.contains("status codes: \(n) 2xx"), "\(out)", sourceLocation: sourceLocation)
    }
}
