import Foundation
import GoAwayKit
import GoAwayTools
import GoAwayTesting
import HTTPTypes
import NIOCore
import Testing

/// Issue 6, client protections: against `scripts/peers/hostile_server.py` every request ends with a
/// typed error within a bound (no hang), and after `shutdown()` every connection the client opened
/// is closed (no leak). Short timeouts keep each test to a few seconds.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ClientHostilePeerTests {
    static let get = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/h")

    /// Tight deadlines; two sends at most, so an idempotent request is re-sent once and then fails.
    static func config() -> HTTP2ClientConfiguration {
        var c = HTTP2ClientConfiguration()
        c.connectTimeout = .milliseconds(500)
        c.settingsAckTimeout = .milliseconds(500)
        c.requestTimeout = .seconds(20)  // the outer guard: a test seeing it failed its protection
        c.pool.retry.maxAttempts = 2
        c.pool.backoff = Backoff(initial: .milliseconds(10))
        return c
    }

    struct Outcome {
        var error: HTTP2ClientError?
        var elapsed: Duration
        var stats: HTTP2ClientStats
        var opened = 0
        var closed = 0
    }

    /// Runs `body` against a fresh client, shuts it down, and counts its connection events.
    static func against(
        _ port: Int, _ config: HTTP2ClientConfiguration = config(),
        _ body: @Sendable (HTTP2Client) async throws -> Void = { _ = try await $0.execute(get, maxResponseBytes: 1 << 20) }
    ) async throws -> Outcome {
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"], configuration: config)
        let began = ContinuousClock.now
        var error: HTTP2ClientError?
        do {
            try await body(client)
        } catch let e as HTTP2ClientError {
            error = e
        }
        var outcome = Outcome(error: error, elapsed: ContinuousClock.now - began, stats: client.stats)
        await client.shutdown(timeout: .seconds(5))
        for await event in client.events {
            if case .connectionOpened = event { outcome.opened += 1 }
            if case .connectionClosed = event { outcome.closed += 1 }
        }
        print("hostile: \(error.map { "\($0)" } ?? "no error") in \(outcome.elapsed), opened \(outcome.opened) closed \(outcome.closed)")
        #expect(outcome.opened == outcome.closed, "a connection leaked")
        return outcome
    }

    /// One hostile mode: what the request must end with, and the cause its error names.
    struct Case: Sendable, CustomTestStringConvertible {
        var mode: String
        var arguments: [String] = []
        var codes: [HTTP2ClientError.Code]
        var cause: String
        var keepalive = false
        var testDescription: String { mode }
    }

    static let cases: [Case] = [
        // Connect, then silence: the first SETTINGS must come within connectTimeout.
        Case(mode: "no-settings", codes: [.connectionFailed], cause: "no SETTINGS from the server"),
        // Ours (RFC 9113 §6.5.3): GOAWAY(SETTINGS_TIMEOUT). The GET was sent: re-sent once, cut twice.
        Case(mode: "no-settings-ack", codes: [.possiblyProcessed], cause: "no SETTINGS ack"),
        // Ours: the keepalive PING must be acked within keepaliveTimeout.
        Case(mode: "no-ping-ack", codes: [.possiblyProcessed], cause: "no PING ack", keepalive: true),
        // swift-nio-http2: 200 PING/SETTINGS frames per 30 s, then GOAWAY(ENHANCE_YOUR_CALM). The
        // flood follows SETTINGS at once: the GET may or may not have been sent when it hit.
        Case(mode: "ping-flood", arguments: ["--count", "2000"], codes: [.possiblyProcessed, .connectionFailed], cause: "ExcessiveControlFrames"),
        // swift-nio-http2: undecodable bytes are a connection error (PROTOCOL_ERROR).
        Case(mode: "garbage", arguments: ["--count", "4096"], codes: [.connectionFailed], cause: "connection error"),
        // swift-nio-http2 enforces our SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB), across CONTINUATIONs.
        Case(mode: "huge-headers", arguments: ["--bytes", "100000"], codes: [.possiblyProcessed], cause: "ExcessivelyLargeHeaderBlock"),
    ]

    @Test(arguments: cases)
    func hostileModeEndsTypedAndBounded(_ c: Case) async throws {
        let (server, port) = try await ClientPeers.hostileServer(c.mode, c.arguments)
        defer { server.kill() }
        var config = Self.config()
        if c.keepalive {
            config.pool.keepaliveInterval = .milliseconds(100)
            config.keepaliveTimeout = .milliseconds(300)
        }
        let o = try await Self.against(port, config)
        let error = try #require(o.error)
        #expect(c.codes.contains(error.code), "\(error)")
        #expect(error.detail.contains(c.cause), "\(error)")
        #expect(o.elapsed < .seconds(5))
    }

    /// A smaller configured limit is what we advertise and what is enforced.
    @Test func smallHeaderLimitIsEnforced() async throws {
        let (server, port) = try await ClientPeers.hostileServer("huge-headers", ["--bytes", "6000"])
        defer { server.kill() }
        var config = Self.config()
        config.maxResponseHeaderListSize = 4096
        let small = try await Self.against(port, config)
        #expect(small.error?.code == .possiblyProcessed)
        let fits = try await Self.against(port)  // the default 64 KiB takes 6000 bytes
        #expect(fits.error == nil)
    }

    /// The body limit resets only the stream: the head arrives, the body fails `responseTooLarge`,
    /// and the next request uses the same connection.
    @Test func hugeBodyFailsTypedAndKeepsTheConnection() async throws {
        let (server, port) = try await ClientPeers.hostileServer("huge-body", ["--bytes", "262144"])
        defer { server.kill() }
        var config = Self.config()
        config.maxResponseBodySize = 65536
        let o = try await Self.against(port, config) { client in
            for _ in 0..<3 {
                let response = try await client.execute(Self.get)
                #expect(response.status == .ok)
                await #expect(throws: HTTP2ClientError(.responseTooLarge, detail: "response body exceeds 65536 bytes (maxResponseBodySize)")) {
                    for try await _ in response.body {}
                }
            }
        }
        #expect(o.error == nil)
        #expect(o.opened == 1)
        #expect(o.stats.succeeded == 3)
    }

    /// A body that never ends, and a caller that stops reading it (its task is cancelled): the
    /// stream is reset, its slot freed, so shutdown closes the connection at once instead of
    /// waiting out its timeout for a stream nobody reads.
    @Test func abandonedBodyIsResetAndShutdownIsPrompt() async throws {
        let (server, port) = try await ClientPeers.hostileServer("head-only")
        defer { server.kill() }
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"], configuration: Self.config())
        let response = try await client.execute(Self.get)
        #expect(response.status == .ok)
        let reader = Task { for try await _ in response.body {} }
        reader.cancel()
        _ = await reader.result
        let began = ContinuousClock.now
        await client.shutdown(timeout: .seconds(10))
        #expect(ContinuousClock.now - began < .seconds(3))
        var opened = 0, closed = 0
        for await event in client.events {
            if case .connectionOpened = event { opened += 1 }
            if case .connectionClosed = event { closed += 1 }
        }
        #expect(opened == 1 && closed == 1)
    }

    /// A head and then silence: `responseIdleTimeout` fails the body with `requestTimeout`, resets
    /// only that stream, and the next request still uses the same connection.
    @Test func silentBodyEndsInTheIdleTimeout() async throws {
        let (server, port) = try await ClientPeers.hostileServer("head-only")
        defer { server.kill() }
        var config = Self.config()
        config.responseIdleTimeout = .milliseconds(300)
        let o = try await Self.against(port, config) { client in
            for _ in 0..<2 {
                let response = try await client.execute(Self.get)
                let began = ContinuousClock.now
                await #expect(throws: HTTP2ClientError(.requestTimeout, detail: "no response data within 300 ms (responseIdleTimeout)")) {
                    for try await _ in response.body {}
                }
                #expect(ContinuousClock.now - began < .seconds(3))
            }
        }
        #expect(o.error == nil)
        #expect(o.opened == 1)
    }

    /// GOAWAY(0) then GOAWAY(stream): the raise is a connection error in swift-nio-http2; the GET
    /// was above last-id 0 (never processed), so it bounces from connection to connection until
    /// the bounce cap (`maxUnsentRequeues`, here 5) says `notProcessed`.
    @Test func raisedLastStreamIDIsTypedAndBounded() async throws {
        let (server, port) = try await ClientPeers.hostileServer("raise-last-id")
        defer { server.kill() }
        var config = Self.config()
        config.pool.retry.maxUnsentRequeues = 5
        let o = try await Self.against(port, config)
        #expect(o.error?.code == .notProcessed, "\(String(describing: o.error))")
        #expect(o.opened <= 8, "one connection per bounce, bounded")
        #expect(o.elapsed < .seconds(5))
    }

    /// A server that grants no window and stops reading: the upload cannot progress; the request
    /// timeout ends it, typed, and shutdown still closes the stalled connection.
    @Test func stalledServerEndsInTheRequestTimeout() async throws {
        let (server, port) = try await ClientPeers.hostileServer("stall")
        defer { server.kill() }
        var config = Self.config()
        config.requestTimeout = .seconds(1)
        let post = HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/upload")
        let o = try await Self.against(port, config) { client in
            _ = try await client.execute(post, body: .bytes(ByteBuffer(repeating: 0x61, count: 1 << 20)), maxResponseBytes: 1024)
        }
        #expect(o.error?.code == .requestTimeout)
        #expect(o.elapsed < .seconds(5))
    }
}
