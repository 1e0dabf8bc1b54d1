import Foundation
import GoAwayKit
@testable import GoAwayOpenAPI
import GoAwayTesting
import GreetingAPI
import OpenAPIRuntime
import Testing

/// A real generated client (Examples/GreetingAPI) over `GoAwayClientTransport`, against servers
/// that end connections all the time: every request must succeed.
@Suite(.serialized, .exclusive, .timeLimit(.minutes(3)))
struct GeneratedClientStormTests {
    /// What a storm ended with: successes, and failures by cause.
    struct Tally: Sendable, CustomStringConvertible {
        var requests = 0
        var ok = 0
        var failed: [String: Int] = [:]
        var failedTotal: Int { failed.values.reduce(0, +) }
        var description: String { "requests=\(requests) ok=\(ok) failed=\(failedTotal) \(failed.sorted { $0.key < $1.key })" }
    }

    /// `n` calls, `concurrency` at a time, cycling through: GET, POST JSON, POST binary with a
    /// `.multiple` body, POST binary with a `.single` (one-shot stream) body. Each answer is checked.
    /// `jsonEcho`: the server echoes the body with its content type (goaway serve); otherwise
    /// (the Python peer) it answers `ok <path> <bytes>` and only status and shape are checked.
    static func storm(_ api: Client, n: Int, concurrency: Int, jsonEcho: Bool) async -> Tally {
        await withTaskGroup(of: String?.self) { group in
            var tally = Tally()
            var next = 0
            func add() {
                let i = next
                next += 1
                group.addTask { await Self.call(api, i, jsonEcho: jsonEcho) }
            }
            for _ in 0..<min(concurrency, n) { add() }
            while let failure = await group.next() {
                tally.requests += 1
                if let failure { tally.failed[failure, default: 0] += 1 } else { tally.ok += 1 }
                if next < n { add() }
            }
            return tally
        }
    }

    /// nil when the call succeeded with the right answer, else the cause.
    static func call(_ api: Client, _ i: Int, jsonEcho: Bool) async -> String? {
        do {
            let payload = "payload \(i) " + String(repeating: "x", count: i % 50)
            switch i % 4 {
            case 0:
                let text = try await String(collecting: api.getGreeting().ok.body.plainText, upTo: 1 << 16)
                return text.isEmpty ? "empty greeting" : nil
            case 1 where jsonEcho:
                let order = try await api.echo(body: .json(.init(item: i, note: payload))).ok.body.json
                return order.item == i && order.note == payload ? nil : "wrong echo \(order)"
            default:
                let body: HTTPBody
                if i % 4 == 3 {
                    // A one-shot stream: iterationBehavior .single, kept for replay (it fits the limit).
                    let (stream, continuation) = AsyncStream.makeStream(of: ArraySlice<UInt8>.self)
                    continuation.yield(ArraySlice(payload.utf8.prefix(5)))
                    continuation.yield(ArraySlice(payload.utf8.dropFirst(5)))
                    continuation.finish()
                    body = HTTPBody(stream, length: .unknown)
                } else {
                    body = HTTPBody(payload)   // .multiple
                }
                let echoed = try await String(collecting: api.echo(body: .binary(body)).ok.body.binary, upTo: 1 << 16)
                let expected = jsonEcho ? payload : "ok /echo \(payload.utf8.count)\n"
                return echoed == expected ? nil : "wrong echo '\(echoed)'"
            }
        } catch let error as ClientError {
            return error.http2ClientError.map { "\($0.code)" } ?? "ClientError(\(error.underlyingError))"
        } catch {
            return "\(type(of: error))"
        }
    }

    static func api(port: Int, configuration: HTTP2ClientConfiguration = .defaults) throws -> (HTTP2Client, Client) {
        let http = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"], configuration: configuration)
        let api = Client(serverURL: URL(string: "http://127.0.0.1:\(port)")!, transport: GoAwayClientTransport(client: http))
        return (http, api)
    }

    /// A storm of `n` calls at concurrency 16 against the server on `port`; prints and returns it.
    static func storm(
        port: Int, n: Int, jsonEcho: Bool, label: String, configuration: HTTP2ClientConfiguration = .defaults
    ) async throws -> (Tally, HTTP2ClientStats) {
        let (http, api) = try Self.api(port: port, configuration: configuration)
        let tally = await Self.storm(api, n: n, concurrency: 16, jsonEcho: jsonEcho)
        let stats = http.stats
        await http.shutdown()
        print("openapi over goaway transport, \(label): \(tally) resent=\(stats.resent) goaways=\(stats.goAwaysReceived)")
        #expect(tally.requests == n)
        #expect(tally.failedTotal == 0, "\(tally)")
        return (tally, stats)
    }

    @Test func goAwayServeMaxRequests10LosesNothing() async throws {
        let (server, port) = try await ClientPeers.goawayServe(["--max-requests", "10"])
        defer { server.terminate() }
        let (_, stats) = try await Self.storm(port: port, n: 1000, jsonEcho: true, label: "goaway serve --max-requests 10")
        // Streams opened between the two GOAWAYs are served too, so a connection serves 10 or more.
        #expect(stats.goAwaysReceived >= 1000 / 100)
    }

    @Test(.enabled(if: Peers.available("python-h2")))
    func refusedStreamsAreResent() async throws {
        let (server, port) = try await ClientPeers.pythonServer(["--refuse-every", "5"])
        defer { server.terminate() }
        // One stream in five refused: some request is refused 5 times in a row now and then, which
        // the default budget (5 sends) rightly turns into `notProcessed` (ClientPythonPeerTests).
        // Under 200 refusals per connection: swift-nio-http2's rapid-reset guard
        // (`maximumResetFrameCount`, 200 per 30 s) ends a client connection that receives more.
        var configuration = HTTP2ClientConfiguration.defaults
        configuration.pool.retry.maxAttempts = 12
        let (_, stats) = try await Self.storm(
            port: port, n: 500, jsonEcho: false, label: "REFUSED_STREAM every 5th", configuration: configuration)
        #expect(stats.resent[.refusedStream, default: 0] > 0)
    }

    @Test(.enabled(if: Peers.available("python-h2")))
    func goAwayEvery10PeerLosesNothing() async throws {
        let (server, port) = try await ClientPeers.pythonServer(["--every", "10"])
        defer { server.terminate() }
        let (_, stats) = try await Self.storm(port: port, n: 600, jsonEcho: false, label: "python GOAWAY every 10")
        #expect(stats.resent[.aboveLastStreamID, default: 0] > 0)
    }

    /// A `.single` body longer than the replay limit cannot be re-sent: when its stream is refused,
    /// the call fails with `notProcessed` (safe to send again), surfaced through `ClientError`.
    @Test(.enabled(if: Peers.available("python-h2")))
    func oneShotBodyBeyondTheReplayLimitFailsNotProcessed() async throws {
        let (server, port) = try await ClientPeers.pythonServer(["--refuse-every", "2"])
        defer { server.terminate() }
        var configuration = HTTP2ClientConfiguration.defaults
        configuration.maxReplayBufferSize = 1024
        let (http, api) = try Self.api(port: port, configuration: configuration)
        var outcomes: [String] = []
        for _ in 0..<6 {
            let chunk = ArraySlice(repeating: UInt8(ascii: "y"), count: 4096)
            let (stream, continuation) = AsyncStream.makeStream(of: ArraySlice<UInt8>.self)
            continuation.yield(chunk)
            continuation.yield(chunk)
            continuation.finish()
            do {
                let text = try await String(collecting: api.echo(body: .binary(HTTPBody(stream, length: .unknown))).ok.body.binary, upTo: 1 << 16)
                outcomes.append(text == "ok /echo 8192\n" ? "ok" : "wrong: \(text)")
            } catch let error as ClientError {
                outcomes.append(error.http2ClientError.map { "\($0.code)" } ?? "other: \(error)")
            }
        }
        await http.shutdown()
        print("one-shot 8 KiB bodies, replay limit 1 KiB, REFUSED_STREAM every 2nd: \(outcomes)")
        #expect(outcomes.contains("\(HTTP2ClientError.Code.notProcessed)"))
        #expect(outcomes.allSatisfy { $0 == "ok" || $0 == "\(HTTP2ClientError.Code.notProcessed)" })
    }

    /// A `.multiple` body longer than the replay limit is streamed (and iterated again for a re-send).
    @Test func multipleBodyBeyondTheReplayLimitStreams() async throws {
        let (server, port) = try await ClientPeers.goawayServe([])
        defer { server.terminate() }
        var configuration = HTTP2ClientConfiguration.defaults
        configuration.maxReplayBufferSize = 1024
        let (http, api) = try Self.api(port: port, configuration: configuration)
        let payload = String(repeating: "m", count: 8192)
        let echoed = try await String(collecting: api.echo(body: .binary(HTTPBody(payload))).ok.body.binary, upTo: 1 << 16)
        #expect(echoed == payload)
        await http.shutdown()
    }

    @Test func connectionFailureSurfacesAsClientErrorWithOurError() async throws {
        let port = ClientPeers.freePort()
        var configuration = HTTP2ClientConfiguration.defaults
        configuration.connectTimeout = .seconds(2)
        configuration.requestTimeout = .seconds(3)
        let (http, api) = try Self.api(port: port, configuration: configuration)
        await #expect {
            _ = try await api.getGreeting()
        } throws: { error in
            guard let error = error as? ClientError, let cause = error.http2ClientError else { return false }
            return error.operationID == "getGreeting" && [.connectionFailed, .connectTimeout, .requestTimeout].contains(cause.code)
        }
        await http.shutdown()
    }
}

@Suite struct GoAwayClientTransportMappingTests {
    @Test(arguments: [
        ("http://127.0.0.1:8080", "/echo", "http", "127.0.0.1:8080", "/echo"),
        ("http://api.example.com/v1/", "/orders?x=1", "http", "api.example.com", "/v1/orders?x=1"),
        ("https://h:8443/a%20b", "/c", "https", "h:8443", "/a%20b/c"),
    ])
    func baseURLAndPath(base: String, path: String, scheme: String, authority: String, expected: String) throws {
        let request = HTTPRequest(method: .get, scheme: nil, authority: nil, path: path)
        let head = try GoAwayClientTransport.head(for: request, baseURL: URL(string: base)!)
        #expect(head.scheme == scheme)
        #expect(head.authority == authority)
        #expect(head.path == expected)
    }

    @Test func aBaseURLWithoutAHostIsAnInvalidRequest() {
        #expect(throws: HTTP2ClientError.self) {
            try GoAwayClientTransport.head(for: .get("/"), baseURL: URL(string: "/relative/only")!)
        }
    }
}
