import Foundation
import GoAwayKit
import GoAwayTools
import GoAwayTesting
import HTTPTypes
import Testing

/// The client against real servers: nghttpd, nginx (keepalive_requests + reload loop), Node http2.
@Suite(.serialized, .exclusive, .timeLimit(.minutes(3)))
struct ClientRealPeerTests {
    func load(_ url: String, n: Int, c: Int, duration: Duration? = nil) async throws -> LoadRunner.Report {
        let options = LoadRunner.Options(urls: [url], requests: n, concurrency: c, duration: duration, requestTimeout: .seconds(20))
        let report = try await LoadRunner(options: options).run()
        print("load \(url) n=\(n) c=\(c): \(report.json())")
        #expect(report.addsUp)
        return report
    }

    @Test(.enabled(if: Peers.available("nghttpd")))
    func nghttpd() async throws {
        let (server, port, _) = try await ClientPeers.nghttpd()
        defer { server.kill() }
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"])
        let r = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/index.html"), maxResponseBytes: 1 << 16)
        #expect(r.status == .ok)
        #expect(String(buffer: r.body) == "hello from nghttpd\n")
        await client.shutdown()
        let report = try await load("http://127.0.0.1:\(port)/index.html", n: 2000, c: 32)
        #expect(report.failed == 0)
        #expect(report.requests == 2000)
    }

    /// TLS with ALPN h2 against nghttpd, trusting the test certificate as a custom root.
    @Test(.enabled(if: Peers.available("nghttpd", "openssl")))
    func nghttpdOverTLS() async throws {
        let certs = try TestCertificates.make()
        let (server, port, _) = try await ClientPeers.nghttpd(tls: certs)
        defer { server.kill() }
        var config = HTTP2ClientConfiguration()
        config.tls.trustRootFiles = [certs.certificate]
        let client = try HTTP2Client(endpoints: ["https://localhost:\(port)"], configuration: config)
        let r = try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/index.html"), maxResponseBytes: 1 << 16)
        #expect(r.status == .ok)
        #expect(String(buffer: r.body) == "hello from nghttpd\n")
        await client.shutdown()
        let options = LoadRunner.Options(urls: ["https://localhost:\(port)/index.html"], requests: 500, concurrency: 8,
            trustRoots: [certs.certificate])
        let report = try await LoadRunner(options: options).run()
        #expect(report.addsUp && report.failed == 0 && report.requests == 500)
    }

    @Test(.enabled(if: Peers.available("nginx")))
    func nginxKeepaliveRequests() async throws {
        let nginx = try await ClientPeers.nginx(keepaliveRequests: 50)
        defer { nginx.stop() }
        let report = try await load("http://127.0.0.1:\(nginx.port)/index.html", n: 3000, c: 16)
        #expect(report.failed == 0)
        #expect(report.requests == 3000)
        #expect(report.goaways_received > 0)
    }

    /// `nginx -s reload` in a loop during the load: old workers GOAWAY their connections.
    @Test(.enabled(if: Peers.available("nginx")))
    func nginxReloadLoopCostsNothing() async throws {
        let nginx = try await ClientPeers.nginx(keepaliveRequests: 50)
        defer { nginx.stop() }
        let reloads = Task {
            var count = 0
            while !Task.isCancelled && count < 40 {
                try? nginx.reload()
                count += 1
                try? await Task.sleep(for: .milliseconds(150))
            }
            return count
        }
        let report = try await load("http://127.0.0.1:\(nginx.port)/index.html", n: 5000, c: 16, duration: .seconds(60))
        reloads.cancel()
        let count = await reloads.value
        print("nginx reloads: \(count)")
        #expect(report.failed == 0)
        #expect(report.requests == 5000)
    }

    @Test(.enabled(if: Peers.available("node")))
    func nodeGracefulSessionClose() async throws {
        let (server, port) = try await ClientPeers.nodeServer(every: 40)
        defer { server.kill() }
        let report = try await load("http://127.0.0.1:\(port)/n", n: 2000, c: 16)
        #expect(report.failed == 0)
        #expect(report.requests == 2000)
        #expect(report.goaways_received > 0)
    }
}
