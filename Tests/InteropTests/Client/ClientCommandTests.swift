import Foundation
import GoAwayKit
import GoAwayTools
import GoAwayTesting
import Testing

/// `goaway get` / `load` / `probe` against bad targets, as a new user meets them: one line on
/// stderr naming the cause in its own words, exit 2 for bad input and 1 for runtime failures, an
/// end in bounded time, never a build path, a Foundation dump or `file:line`.
@Suite("goaway get/load/probe bad targets (CLI)", .serialized)
struct ClientCommandTests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        var elapsed: Duration
    }

    static func goaway(_ arguments: [String], timeout: Duration = .seconds(30)) async throws -> Outcome {
        let began = ContinuousClock.now
        let p = try PeerProcess(try ClientPeers.goaway(), arguments)
        let status = try await p.wait(timeout: timeout)
        return Outcome(status: status, stdout: p.stdout, stderr: p.stderr, elapsed: ContinuousClock.now - began)
    }

    /// One line, `goaway: ` first, none of what only a developer could read.
    static func expectOneCleanLine(_ o: Outcome, _ sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(o.stderr.split(separator: "\n").count == 1, "\(o.stderr)", sourceLocation: sourceLocation)
        #expect(o.stderr.hasPrefix("goaway: "), "\(o.stderr)", sourceLocation: sourceLocation)
        for bad in [".swift", ".build/", "line:", "file:", "NSCocoaErrorDomain", "Error Domain", "Fatal error", ".cc:"] {
            #expect(!o.stderr.contains(bad), "\(o.stderr)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [
        (["get", "http://127.0.0.1:99999/"], "port 99999 is out of range (1-65535)"),
        (["get", "http://127.0.0.1:0/"], "port 0 is out of range (1-65535)"),
        (["load", "-n", "1", "http://127.0.0.1:70000/"], "port 70000 is out of range"),
        (["probe", "http://127.0.0.1:65536/"], "port 65536 is out of range"),
        (["get", "ftp://127.0.0.1/"], "not an http:// or https:// URL"),
        (["get", "--cacert", "/nonexistent/ca.pem", "https://127.0.0.1:1/"], "--cacert: trust root file /nonexistent/ca.pem: no such file"),
        (["load", "--cacert", "/etc/hostname", "https://127.0.0.1:1/"], "--cacert: trust root file /etc/hostname: no PEM certificate in it"),
        (["load", "--data-file", "/nonexistent/body", "http://127.0.0.1:1/"], "--data-file /nonexistent/body: no such file"),
        (["load", "--data-file", "/tmp", "http://127.0.0.1:1/"], "--data-file /tmp: is a directory"),
    ])
    func badInputIsAUsageError(arguments: [String], says: String) async throws {
        let o = try await Self.goaway(arguments)
        #expect(o.status == 2, "\(o.stderr)")
        #expect(o.stderr.contains(says), "\(o.stderr)")
        Self.expectOneCleanLine(o)
    }

    @Test func refusedConnectionNamesHostAndPort() async throws {
        let port = ClientPeers.freePort()
        let o = try await Self.goaway(["get", "http://127.0.0.1:\(port)/"])
        #expect(o.status == 1)
        #expect(o.stderr == "goaway: get: connection refused (127.0.0.1:\(port))\n")
    }

    @Test func unknownHostIsADNSFailure() async throws {
        let o = try await Self.goaway(["get", "http://no-such-host.invalid:8080/"])
        #expect(o.status == 1)
        #expect(o.stderr.hasPrefix("goaway: get: DNS failure: cannot resolve no-such-host.invalid ("), "\(o.stderr)")
        Self.expectOneCleanLine(o)
    }

    /// The circuit: 2000 requests at c=16 against a closed port end in seconds, every one failed
    /// with the cause, not 0.8 s of reconnecting each.
    @Test func loadAgainstAClosedPortEndsInSeconds() async throws {
        let o = try await Self.goaway(["load", "-n", "2000", "-c", "16", "--json", "http://127.0.0.1:1/"], timeout: .seconds(60))
        #expect(o.status == 1)
        #expect(o.elapsed < .seconds(15), "\(o.elapsed)")
        #expect(o.stderr == "goaway: load: 2000 of 2000 requests failed (2000 connection_failed): connection refused (127.0.0.1:1)\n", "\(o.stderr)")
        let report = try JSONDecoder().decode(LoadRunner.Report.self, from: Data(o.stdout.utf8))
        #expect(report.failed == 2000 && report.errors == ["connection_failed": 2000])
        #expect(report.error_messages["connection_failed"] == "connection refused (127.0.0.1:1)")
    }

    /// The text summary when nothing answered: counts and the errors, no rate, latency or empty
    /// status line to misread.
    @Test func loadTextSummaryWhenEverythingFailed() async throws {
        let port = ClientPeers.freePort()
        let o = try await Self.goaway(["load", "-n", "5", "-c", "2", "http://127.0.0.1:\(port)/"])
        #expect(o.status == 1)
        let lines = o.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "requests 5  succeeded 0  failed 5  resent 0", "\(o.stdout)")
        #expect(lines.contains { $0.hasPrefix("elapsed ") && $0.hasSuffix("  no responses") }, "\(o.stdout)")
        #expect(lines.last == "errors connection_failed=5", "\(o.stdout)")
        #expect(!o.stdout.contains("req/s") && !o.stdout.contains("latency") && !o.stdout.contains("status"), "\(o.stdout)")
        Self.expectOneCleanLine(o)
    }

    @Test(.enabled(if: Peers.available("python3")))
    func http1ServerDoesNotSpeakHTTP2() async throws {
        let port = ClientPeers.freePort()
        let server = try PeerProcess("python3", ["-m", "http.server", "\(port)", "--bind", "127.0.0.1"])
        defer { server.kill() }
        try await ClientPeers.waitForPort(port)
        let get = try await Self.goaway(["get", "http://127.0.0.1:\(port)/"])
        #expect(get.status == 1)
        #expect(get.stderr.hasPrefix("goaway: get: the server does not speak HTTP/2 (it answered "), "\(get.stderr)")
        Self.expectOneCleanLine(get)
        let probe = try await Self.goaway(["probe", "http://127.0.0.1:\(port)/"])
        #expect(probe.status == 1)
        #expect(probe.stderr.contains("the server does not speak HTTP/2"), "\(probe.stderr)")
        #expect(!probe.stdout.contains("max requests per connection"))
        Self.expectOneCleanLine(probe)
        let tls = try await Self.goaway(["get", "https://127.0.0.1:\(port)/"])
        #expect(tls.status == 1)
        #expect(tls.stderr == "goaway: get: TLS handshake failed: 127.0.0.1:\(port) does not speak TLS (try http://)\n", "\(tls.stderr)")
    }

    /// A peer that sends an HTTP/1.1 status line in reply to our preface.
    @Test(.enabled(if: Peers.available("python3")))
    func http11StatusLineIsNamed() async throws {
        let peer = try PeerProcess("python3", ["-u", "-c", """
            import socket
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
            print("LISTENING", s.getsockname()[1], flush=True)
            while True:
                c, _ = s.accept(); c.recv(1024)
                c.sendall(b"HTTP/1.1 400 Bad Request\\r\\ncontent-length: 0\\r\\n\\r\\n"); c.close()
            """])
        defer { peer.kill() }
        let port = try await ClientPeers.listeningPort(of: peer)
        let o = try await Self.goaway(["get", "http://127.0.0.1:\(port)/"])
        #expect(o.status == 1)
        #expect(o.stderr == "goaway: get: the server does not speak HTTP/2 (it answered HTTP/1.1)\n", "\(o.stderr)")
    }

    /// TLS without h2 in ALPN (a Python `ssl` server offering only http/1.1).
    @Test(.enabled(if: Peers.available("python3", "openssl")))
    func alpnWithoutH2IsNamed() async throws {
        let certs = try TestCertificates.make()
        let peer = try PeerProcess("python3", ["-u", "-c", """
            import socket, ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain("\(certs.certificate)", "\(certs.privateKey)")
            ctx.set_alpn_protocols(["http/1.1"])
            s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
            print("LISTENING", s.getsockname()[1], flush=True)
            while True:
                c, _ = s.accept()
                try:
                    t = ctx.wrap_socket(c, server_side=True); t.recv(1024); t.close()
                except Exception:
                    c.close()
            """])
        defer { peer.kill() }
        let port = try await ClientPeers.listeningPort(of: peer)
        let o = try await Self.goaway(["get", "--cacert", certs.certificate, "https://127.0.0.1:\(port)/"])
        #expect(o.status == 1)
        #expect(o.stderr.hasPrefix("goaway: get: ALPN did not select h2: 127.0.0.1:\(port) "), "\(o.stderr)")
        Self.expectOneCleanLine(o)
    }

    @Test(.enabled(if: Peers.available("openssl")))
    func untrustedCertificateSaysCacertOrInsecure() async throws {
        let certs = try TestCertificates.make()
        let (server, port) = try await ClientPeers.goawayServe(["--tls-cert", certs.certificate, "--tls-key", certs.privateKey])
        defer { server.kill() }
        let o = try await Self.goaway(["get", "https://127.0.0.1:\(port)/"])
        #expect(o.status == 1)
        #expect(o.stderr == "goaway: get: TLS handshake failed: the server's certificate is not trusted (use --cacert FILE or --insecure)\n", "\(o.stderr)")
        let trusted = try await Self.goaway(["get", "--cacert", certs.certificate, "https://127.0.0.1:\(port)/"])
        #expect(trusted.status == 0, "\(trusted.stderr)")
    }

    /// Connected, then silence: the first SETTINGS must come within the connect timeout.
    @Test func silentServerIsAConnectTimeout() async throws {
        let (server, port) = try await ClientPeers.hostileServer("no-settings")
        defer { server.kill() }
        let o = try await Self.goaway(["get", "--timeout", "1", "http://127.0.0.1:\(port)/"])
        #expect(o.status == 1)
        #expect(o.stderr.hasPrefix("goaway: get: connect timeout: no SETTINGS from the server within 0.8 seconds (127.0.0.1:\(port))"), "\(o.stderr)")
        #expect(o.elapsed < .seconds(10))
        Self.expectOneCleanLine(o)
    }

    /// `goaway get … | head -c 1`: the reader goes away; get stops quietly with a non-zero status.
    @Test(.enabled(if: Peers.available("bash", "head")))
    func closedPipeEndsQuietly() async throws {
        let (server, port) = try await ClientPeers.goawayServe([])
        defer { server.kill() }
        let p = try PeerProcess("bash", ["-c", "'\(try ClientPeers.goaway())' get http://127.0.0.1:\(port)/bytes/100000000 | head -c 1 >/dev/null; echo \"status ${PIPESTATUS[0]}\""])
        #expect(try await p.wait(timeout: .seconds(60)) == 0)
        #expect(p.stdout == "status 1\n", "\(p.stdout) \(p.stderr)")
        #expect(p.stderr.isEmpty, "\(p.stderr)")
    }
}
