import GoAwayCore
import GoAwayTesting
import HTTPTypes
import Logging
import NIOCore
@testable import GoAwayKit
import Testing

@Suite(.serialized, .timeLimit(.minutes(1)))
struct ClientBasicsTests {
    static let get = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/g")
    static let post = HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/p")

    @Test func postWithBodyToOwnServer() async throws {
        try await withOwnServer(ServerConnectionPolicy()) { port, _ in
            var logger = Logger(label: "test")
            logger.logLevel = .trace
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"], logger: logger)
            for size in [0, 10, 3000, 100_000] {
                let r = try await client.execute(Self.post, body: .bytes(Array(repeating: 0x62, count: size)), maxResponseBytes: 1 << 16)
                #expect(r.status == .ok)
                #expect(String(buffer: r.body) == "ok /p \(size)\n")
            }
            await client.shutdown()
        }
    }
}


@Suite(.serialized, .timeLimit(.minutes(1)))
struct ClientShellTests {
    static func slowServerHandler() -> HTTP2Server.Handler {
        { request, body, _ in
            _ = try await body.collect(upTo: 1 << 20)
            if request.path == "/slow" { try await Task.sleep(for: .seconds(5)) }
            return ServerResponse(status: .ok, text: "ok\n")
        }
    }

    /// Cancelling the calling task resets that stream (RST_STREAM CANCEL), not the connection.
    @Test func cancellationResetsTheStreamOnly() async throws {
        try await withOwnServer(ServerConnectionPolicy(), handler: Self.slowServerHandler()) { port, server in
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"])
            let ok = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"), maxResponseBytes: 100)
            #expect(ok.status == .ok)
            let slow = Task { try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/slow")) }
            try await Task.sleep(for: .milliseconds(200))
            let began = ContinuousClock.now
            slow.cancel()
            var code: HTTP2ClientError.Code?
            do { _ = try await slow.value } catch let e as HTTP2ClientError { code = e.code }
            #expect(code == .cancelled)
            #expect(ContinuousClock.now - began < .seconds(2))
            let again = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"), maxResponseBytes: 100)
            #expect(again.status == .ok)
            #expect(client.stats.connectionsOpened == 1)
            #expect(client.stats.failed == 1 && client.stats.succeeded == 2)
            await client.shutdown()
        }
    }

    @Test func requestTimeoutFailsTypedAndKeepsTheConnection() async throws {
        try await withOwnServer(ServerConnectionPolicy(), handler: Self.slowServerHandler()) { port, _ in
            var config = HTTP2ClientConfiguration()
            config.requestTimeout = .seconds(1)  // /slow takes 5 s; a loaded CI box still answers / in time
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"], configuration: config)
            var code: HTTP2ClientError.Code?
            do {
                _ = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/slow"))
            } catch let e as HTTP2ClientError { code = e.code }
            #expect(code == .requestTimeout)
            let r = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"), maxResponseBytes: 100)
            #expect(r.status == .ok)
            #expect(client.stats.connectionsOpened == 1)
            await client.shutdown()
        }
    }

    @Test func refusedConnectionFailsTypedWithinTheBudget() async throws {
        let port = ClientPeers.freePort()  // nothing listens there
        var config = HTTP2ClientConfiguration()
        config.pool.retry.maxAttempts = 3
        config.pool.backoff = Backoff(initial: .milliseconds(10), maximum: .milliseconds(50))
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"], configuration: config)
        var code: HTTP2ClientError.Code?
        do {
            _ = try await client.execute(HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/"), body: .string("x"))
        } catch let e as HTTP2ClientError { code = e.code }
        #expect(code == .connectionFailed)
        #expect(client.stats.connectFailures == 3)
        await client.shutdown()
    }

    /// Shutdown while a connection waits out its back-off: it returns at once (the pool drops the
    /// connection it never dialed) and nothing is dialed when the back-off ends.
    @Test func shutdownDuringABackOffIsPromptAndDialsNothing() async throws {
        let port = ClientPeers.freePort()  // nothing listens there
        var config = HTTP2ClientConfiguration()
        config.pool.retry.maxAttempts = 5
        config.pool.backoff = Backoff(initial: .seconds(2), jitter: 0)
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"], configuration: config)
        let request = Task { try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/")) }
        // The first attempt is refused at once; the second waits 2 s.
        for _ in 0..<1000 where client.stats.connectFailures == 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(client.stats.connectFailures == 1)
        let began = ContinuousClock.now
        await client.shutdown()
        #expect(ContinuousClock.now - began < .seconds(1), "not after the back-off")
        var code: HTTP2ClientError.Code?
        do { _ = try await request.value } catch let e as HTTP2ClientError { code = e.code }
        #expect(code == .shutdown)
        try await Task.sleep(for: .milliseconds(2500))
        #expect(client.stats.connectFailures == 1, "the back-off ended without a dial")
    }

    /// A peer that accepts TCP but never speaks HTTP/2: the connect timeout covers the first SETTINGS.
    @Test func silentPeerHitsTheConnectTimeout() async throws {
        guard let python = Peers.python ?? Peers.path("python3") else { return }
        let silent = try PeerProcess(python, ["-u", "-c", """
            import socket, time
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
            print("LISTENING", s.getsockname()[1], flush=True)
            conns = []
            while True:
                c, _ = s.accept(); conns.append(c)
            """])
        defer { silent.kill() }
        let port = try await ClientPeers.listeningPort(of: silent)
        var config = HTTP2ClientConfiguration()
        config.connectTimeout = .milliseconds(200)
        config.pool.retry.maxAttempts = 2
        config.pool.backoff = Backoff(initial: .milliseconds(10))
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"], configuration: config)
        let began = ContinuousClock.now
        var error: HTTP2ClientError?
        do {
            _ = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"))
        } catch let e as HTTP2ClientError { error = e }
        #expect(error?.code == .connectionFailed)
        #expect(error?.connectFailure?.kind == .timeout)
        #expect(error?.connectFailure?.message == "connect timeout: no SETTINGS from the server within 0.2 seconds (127.0.0.1:\(port))")
        #expect(ContinuousClock.now - began < .seconds(3))
        await client.shutdown()
    }

    @Test(.enabled(if: Peers.available("openssl")))
    func tlsWithCustomTrustRoot() async throws {
        let certs = try TestCertificates.make()
        let tls = HTTP2Server.TLS(certificateChainPath: certs.certificate, privateKeyPath: certs.privateKey)
        try await withOwnServer(ServerConnectionPolicy(maxRequestsPerConnection: 5, pingAckTimeout: .milliseconds(200)), tls: tls) { port, _ in
            // Trusted through the custom root, GOAWAY every 5 requests over TLS.
            var config = HTTP2ClientConfiguration()
            config.tls.trustRootFiles = [certs.certificate]
            let client = try HTTP2Client(endpoints: ["https://localhost:\(port)"], configuration: config)
            // Until three GOAWAYs (at most 100 requests): on a loaded machine the pool may spread
            // the first requests over more than one connection (a slow TLS handshake), so 20
            // requests need not bring three connections to their 5.
            var sent = 0
            while client.stats.goAwaysReceived < 3 && sent < 100 {
                let r = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/\(sent)"), maxResponseBytes: 100)
                #expect(r.status == .ok)
                sent += 1
            }
            #expect(client.stats.goAwaysReceived >= 3, "after \(sent) requests")
            await client.shutdown()
            // Untrusted: the connection fails, typed.
            var strict = HTTP2ClientConfiguration()
            strict.pool.retry.maxAttempts = 1
            let untrusted = try HTTP2Client(endpoints: ["https://127.0.0.1:\(port)"], configuration: strict)
            var code: HTTP2ClientError.Code?
            do {
                _ = try await untrusted.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"))
            } catch let e as HTTP2ClientError { code = e.code }
            #expect(code == .connectionFailed)
            await untrusted.shutdown()
            // Explicitly insecure (tests only).
            var insecure = HTTP2ClientConfiguration()
            insecure.tls.insecure = true
            let lax = try HTTP2Client(endpoints: ["https://127.0.0.1:\(port)"], configuration: insecure)
            let r = try await lax.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/"), maxResponseBytes: 100)
            #expect(r.status == .ok)
            await lax.shutdown()
        }
    }

    @Test func configurationSurvivesInit() {
        let c = HTTP2ClientConfiguration(
            pool: PoolConfiguration(maxConnectionsPerEndpoint: 2), connectTimeout: .seconds(3), requestTimeout: .seconds(4),
            maxReplayBufferSize: 5, keepaliveTimeout: .seconds(6), tls: .init(trustRootFiles: ["a"], useSystemRoots: false, insecure: true),
            revealDebugData: true, receiveWindow: 70_000, settingsAckTimeout: .seconds(7), maxResponseHeaderListSize: 8,
            maxResponseBodySize: 9, responseIdleTimeout: .seconds(10), readIdleTimeout: .seconds(11))
        #expect(c.pool.maxConnectionsPerEndpoint == 2 && c.connectTimeout == .seconds(3) && c.requestTimeout == .seconds(4))
        #expect(c.maxReplayBufferSize == 5 && c.keepaliveTimeout == .seconds(6) && c.revealDebugData && c.receiveWindow == 70_000)
        #expect(c.tls == .init(trustRootFiles: ["a"], useSystemRoots: false, insecure: true))
        #expect(c.settingsAckTimeout == .seconds(7) && c.maxResponseHeaderListSize == 8 && c.maxResponseBodySize == 9)
        #expect(c.responseIdleTimeout == .seconds(10) && c.readIdleTimeout == .seconds(11))
        // And on into the connection's state machine.
        let core = c.connectionCore(keepaliveInterval: .seconds(12))
        #expect(core == .init(
            receiveWindow: 70_000, settingsAckTimeout: .seconds(7), settingsTimeout: .seconds(3), keepaliveInterval: .seconds(12), readIdleTimeout: .seconds(11),
            pingTimeout: .seconds(6), responseIdleTimeout: .seconds(10), maxResponseBodySize: 9))
    }

    @Test func errorCodesAndEndpoints() throws {
        #expect(HTTP2ClientError.Code.notProcessed.description == "not_processed")
        #expect(HTTP2ClientError.Code.possiblyProcessed.description == "possibly_processed")
        let e = try HTTP2Endpoint(url: "https://[::1]:8443/x?y")
        #expect(e.host == "::1" && e.port == 8443 && e.authority == "[::1]:8443" && e.isTLS)
        #expect(try HTTP2Endpoint(url: "http://example.com").authority == "example.com")
        #expect(HTTP2Endpoint.pathAndQuery(of: "http://h/a/b?c=1") == "/a/b?c=1")
        #expect(throws: HTTP2ClientError.self) { try HTTP2Endpoint(url: "ftp://x") }
        // IP literals by inet_pton: `cafe.de` is a host name (DNS and SNI), `::1` and `127.0.0.1` are literals.
        #expect(try HTTP2Endpoint(url: "http://127.0.0.1:1").isLiteral)
        #expect(try HTTP2Endpoint(url: "http://[::1]:1").isLiteral)
        #expect(try !HTTP2Endpoint(url: "http://cafe.de").isLiteral)
        #expect(try !HTTP2Endpoint(url: "http://beef:80").isLiteral)
        // Ports outside 1-65535 are refused, not wrapped.
        for bad in ["http://127.0.0.1:99999/", "http://127.0.0.1:0/", "https://h:65536"] {
            #expect(throws: HTTP2ClientError.self) { try HTTP2Endpoint(url: bad) }
            #expect(throws: HTTP2ClientError.self) { try HTTP2Client(endpoints: [bad]) }
        }
    }
}
