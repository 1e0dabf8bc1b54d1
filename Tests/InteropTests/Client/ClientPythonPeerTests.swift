import Foundation
import GoAwayKit
import GoAwayTesting
import HTTPTypes
import Testing

/// The client against the scripted Python h2 server: GOAWAY every N, REFUSED_STREAM, abrupt close.
/// Every test checks that the counts add up: each request succeeded or failed with a typed error.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClientPythonPeerTests {
    func load(_ port: Int, n: Int, c: Int, resend: Bool = true, method: String = "GET", body: [UInt8]? = nil) async throws -> LoadRunner.Report {
        let options = LoadRunner.Options(
            urls: ["http://127.0.0.1:\(port)/x"], requests: n, concurrency: c, method: method, body: body, resend: resend,
            requestTimeout: .seconds(20))
        let report = try await LoadRunner(options: options).run()
        print("load \(method) n=\(n) c=\(c) resend=\(resend): \(report.json())")
        #expect(report.addsUp)
        #expect(report.requests == n)
        return report
    }

    @Test(.enabled(if: Peers.available("python-h2")))
    func goAwayEvery10LosesNothing() async throws {
        let (server, port) = try await ClientPeers.pythonServer(["--every", "10"])
        defer { server.terminate() }
        let report = try await load(port, n: 2000, c: 32)
        #expect(report.failed == 0)
        #expect(report.resent > 0)
        #expect(report.goaways_received >= 2000 / 10 - 1)
        #expect(report.status["200"] == 2000)
    }

    @Test(.enabled(if: Peers.available("python-h2")))
    func postsAreResentAboveLastStreamID() async throws {
        let (server, port) = try await ClientPeers.pythonServer(["--every", "7"])
        defer { server.terminate() }
        let report = try await load(port, n: 700, c: 16, method: "POST", body: Array("payload".utf8))
        #expect(report.failed == 0)
        #expect(report.resent_by_reason["goaway", default: 0] > 0)
        // Each POST processed exactly once by the server.
        let processed = server.stdout.split(separator: "\n").filter { $0.hasPrefix("POSTS_PROCESSED") }.count
        #expect(processed == 700)
    }

    @Test(.enabled(if: Peers.available("python-h2")))
    func noResendLosesWhatTheDefaultKeeps() async throws {
        let (server, port) = try await ClientPeers.pythonServer(["--every", "10"])
        defer { server.terminate() }
        let naive = try await load(port, n: 1000, c: 32, resend: false)
        let ours = try await load(port, n: 1000, c: 32, resend: true)
        #expect(naive.failed > 0)
        #expect(naive.errors["not_processed", default: 0] > 0)
        #expect(ours.failed == 0)
    }

    @Test(.enabled(if: Peers.available("python-h2")))
    func twoPhaseShutdownLosesNothing() async throws {
        let (server, port) = try await ClientPeers.pythonServer(["--every", "20", "--two-phase"])
        defer { server.terminate() }
        let report = try await load(port, n: 1000, c: 16)
        #expect(report.failed == 0)
    }

    @Test(.enabled(if: Peers.available("python-h2")))
    func refusedStreamsAreResent() async throws {
        let (server, port) = try await ClientPeers.pythonServer(["--refuse-every", "5"])
        defer { server.terminate() }
        let report = try await load(port, n: 500, c: 8, method: "POST", body: Array("refuse me".utf8))
        #expect(report.failed == 0)
        #expect(report.resent_by_reason["refused_stream", default: 0] > 0)
    }

    @Test(.enabled(if: Peers.available("python-h2")))
    func goAwayBeforeSettingsNeverHangs() async throws {
        let (server, port) = try await ClientPeers.pythonServer(["--every", "25", "--goaway-first"])
        defer { server.terminate() }
        let report = try await load(port, n: 500, c: 8)
        #expect(report.failed == 0)
    }

    /// GOAWAY(last-id = highest) then an abrupt close with a GET and a POST in flight:
    /// the GET is re-sent (idempotent), the POST fails `possiblyProcessed`.
    @Test(.enabled(if: Peers.available("python-h2")))
    func abruptCloseResendsGetFailsPost() async throws {
        let (server, port) = try await ClientPeers.pythonServer(["--abrupt-after", "2", "--delay-ms", "300"])
        defer { server.terminate() }
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"])
        let get = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/get")
        let post = HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/post")
        async let getResult = client.execute(get, maxResponseBytes: 1 << 16)
        try await Task.sleep(for: .milliseconds(100))  // GET is stream 1, POST stream 3
        async let postResult = client.execute(post, body: .string("once"), maxResponseBytes: 1 << 16)
        let g = try await getResult
        #expect(g.status == .ok)
        var postError: HTTP2ClientError?
        do {
            _ = try await postResult
            Issue.record("the POST must not succeed: its connection closed under it")
        } catch let e as HTTP2ClientError {
            postError = e
        }
        #expect(postError?.code == .possiblyProcessed)
        #expect(client.stats.resent[.idempotentAfterConnectionLoss] == 1)
        await client.shutdown()
    }
}
