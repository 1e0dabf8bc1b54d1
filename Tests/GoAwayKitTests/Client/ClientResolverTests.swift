import Dispatch
import GoAwayCore
import GoAwayTesting
import HTTPTypes
import MetricsTestKit
import Synchronization
import Testing

@testable import GoAwayKit

/// A resolver whose answer the test changes; it counts the questions and can hold them.
final class SwappableResolver: HTTP2Resolver {
    struct State {
        var answer: [String]
        var failure: ConnectFailure?
        var calls = 0
        var held = false
    }
    let state: Mutex<State>
    init(_ answer: [String]) { state = Mutex(State(answer: answer)) }

    var calls: Int { state.withLock { $0.calls } }
    func answer(_ addresses: [String]) { state.withLock { $0.answer = addresses; $0.failure = nil } }
    func fail(_ failure: ConnectFailure) { state.withLock { $0.failure = failure } }
    func hold(_ on: Bool) { state.withLock { $0.held = on } }

    func resolve(host: String, port: Int) async throws -> [String] {
        while state.withLock({ $0.held }) { try await Task.sleep(for: .milliseconds(10)) }
        let (answer, failure) = state.withLock { s in
            s.calls += 1
            return (s.answer, s.failure)
        }
        if let failure { throw failure }
        return answer
    }
}

/// Answers nothing until its task is cancelled; counts the questions and the cancellations.
final class HangingResolver: HTTP2Resolver {
    let counts = Mutex((asked: 0, cancelled: 0))
    var asked: Int { counts.withLock { $0.asked } }
    var cancelled: Int { counts.withLock { $0.cancelled } }

    func resolve(host: String, port: Int) async throws -> [String] {
        counts.withLock { $0.asked += 1 }
        do {
            try await Task.sleep(for: .seconds(3600))
        } catch {
            counts.withLock { $0.cancelled += 1 }
            throw error
        }
        return []
    }
}

/// A flag a blocking closure sets.
final class Flag: Sendable {
    let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

@Suite(.serialized, .timeLimit(.minutes(2)))
struct ClientResolverTests {
    static func get(_ client: HTTP2Client, _ path: String = "/") async throws -> HTTPResponse.Status {
        try await client.execute(HTTPRequest(method: .get, scheme: nil, authority: nil, path: path), maxResponseBytes: 1 << 16).status
    }

    /// `init` never waits for DNS: it returns while the resolver is held, and the request waits
    /// for the answer instead.
    @Test func initDoesNotResolve() async throws {
        try await withOwnServer(ServerConnectionPolicy()) { port, _ in
            let resolver = SwappableResolver(["127.0.0.1"])
            resolver.hold(true)
            let client = try HTTP2Client(endpoints: ["http://svc.test:\(port)"], resolver: resolver)
            #expect(resolver.calls == 0)
            #expect(client.endpoints.isEmpty, "no answer yet")
            let request = Task { try await Self.get(client) }
            try await Task.sleep(for: .milliseconds(100))
            resolver.hold(false)
            #expect(try await request.value == .ok)
            #expect(client.endpoints.map(\.address) == ["127.0.0.1"])
            await client.shutdown()
        }
    }

    /// The service moves from 127.0.0.1 to 127.0.0.2 (both reach a server on 0.0.0.0): after the
    /// next GOAWAY the client asks again, connects to the new address, and the old one leaves.
    @Test func followsAChangedAnswerAfterGoAway() async throws {
        let policy = ServerConnectionPolicy(maxRequestsPerConnection: 3, pingAckTimeout: .milliseconds(200))
        let server = HTTP2Server(configuration: .init(host: "0.0.0.0", port: 0, connection: policy)) { _, _, _ in
            ServerResponse(status: .ok, text: "ok\n")
        }
        let run = Task { try await server.run() }
        defer { run.cancel() }
        let port = try await server.port
        let resolver = SwappableResolver(["127.0.0.1"])
        let client = try HTTP2Client(endpoints: ["http://svc.test:\(port)"], resolver: resolver)
        let opened = Task {
            var endpoints: [String] = []
            for await event in client.events {
                if case .connectionOpened(_, let endpoint) = event { endpoints.append(endpoint) }
            }
            return endpoints
        }
        #expect(try await Self.get(client) == .ok)
        #expect(client.endpoints.map(\.address) == ["127.0.0.1"])
        resolver.answer(["127.0.0.2"])
        // The re-resolution takes a while (as real DNS does): the replacement must wait for it.
        resolver.hold(true)
        let release = Task {
            try await Task.sleep(for: .milliseconds(60))
            resolver.hold(false)
        }
        for _ in 0..<8 { #expect(try await Self.get(client) == .ok) }
        try await release.value
        #expect(resolver.calls >= 2)
        #expect(client.endpoints.map(\.address) == ["127.0.0.2"])
        // Both: the pool spreads over two endpoints again.
        resolver.answer(["127.0.0.2", "127.0.0.1"])
        for _ in 0..<8 { #expect(try await Self.get(client) == .ok) }
        #expect(Set(client.endpoints.compactMap(\.address)) == ["127.0.0.1", "127.0.0.2"])
        #expect(client.stats.failed == 0)
        await client.shutdown()
        let endpoints = await opened.value
        #expect(endpoints.first?.hasSuffix("(127.0.0.1)") == true, "\(endpoints)")
        // The replacement for the first GOAWAY'd connection waited for the re-resolution: it went
        // to the new address (was: the old one, the answer came a few ms after it opened).
        #expect(endpoints.dropFirst().first?.hasSuffix("(127.0.0.2)") == true, "\(endpoints)")
    }

    /// A name that does not resolve fails typed, with the DNS cause, and fast.
    @Test func unresolvableNameFailsWithTheDNSCause() async throws {
        let resolver = SwappableResolver([])
        resolver.fail(ConnectFailure(.dns, "DNS failure: cannot resolve svc.test (test)"))
        let client = try HTTP2Client(endpoints: ["http://svc.test:1"], resolver: resolver)
        var error: HTTP2ClientError?
        do { _ = try await Self.get(client) } catch let e as HTTP2ClientError { error = e }
        #expect(error?.code == .connectionFailed)
        #expect(error?.connectFailure?.kind == .dns)
        #expect(error?.message == "DNS failure: cannot resolve svc.test (test)")
        await client.shutdown()
    }

    /// The client's counters go to the factory it was given (not only the global one).
    @Test func metricsGoToTheGivenFactory() async throws {
        try await withOwnServer(ServerConnectionPolicy()) { port, _ in
            let metrics = TestMetrics()
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"], metricsFactory: metrics)
            for _ in 0..<3 { #expect(try await Self.get(client) == .ok) }
            await client.shutdown()
            #expect(metrics.counterTotal(label: "goaway_client_requests_total") == 3)
            #expect(metrics.counterTotal(label: "goaway_client_responses_total") == 3)
            #expect(metrics.counterTotal(label: "goaway_client_connections_opened_total") == 1)
        }
        let metrics = TestMetrics()
        let refused = try HTTP2Client(endpoints: ["http://127.0.0.1:\(ClientPeers.freePort())"], metricsFactory: metrics)
        _ = try? await Self.get(refused)
        await refused.shutdown()
        #expect(metrics.counterTotal(label: "goaway_client_connect_failures_total") >= 1)
        #expect(metrics.counterTotal(label: "goaway_client_failed_total", dimensions: [("code", "connection_failed")]) == 1)
    }

    /// The resolver's question runs in a task the client owns: shutdown cancels it, and returns
    /// promptly, after the resolver saw the cancellation (was: an unstructured task left hanging).
    @Test func shutdownCancelsAHangingResolution() async throws {
        let resolver = HangingResolver()
        let client = try HTTP2Client(endpoints: ["http://svc.test:1"], resolver: resolver)
        let request = Task { try await Self.get(client) }
        for _ in 0..<1000 where resolver.asked == 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(resolver.asked == 1)
        let began = ContinuousClock.now
        await client.shutdown()
        #expect(ContinuousClock.now - began < .seconds(2))
        #expect(resolver.cancelled == 1, "shutdown returned after the question ended")
        var code: HTTP2ClientError.Code?
        do { _ = try await request.value } catch let e as HTTP2ClientError { code = e.code }
        #expect(code == .shutdown)
        #expect(resolver.asked == 1, "no question after shutdown")
    }

    /// `SystemResolver` cannot interrupt getaddrinfo, but a cancelled caller stops waiting for it
    /// at once (the blocking call finishes on the thread pool with nobody waiting).
    @Test func cancelledSystemLookupDoesNotWaitForTheBlockingCall() async throws {
        let began = Flag()
        let release = DispatchSemaphore(value: 0)
        let lookup = Task {
            try await SystemResolver.onThreadPool {
                began.set()
                release.wait()
                return ["10.0.0.1"]
            }
        }
        for _ in 0..<1000 where !began.isSet { try await Task.sleep(for: .milliseconds(5)) }
        #expect(began.isSet)
        lookup.cancel()
        await #expect(throws: CancellationError.self) { try await lookup.value }
        release.signal()
        // Not cancelled: the answer.
        #expect(try await SystemResolver.onThreadPool { ["10.0.0.2"] } == ["10.0.0.2"])
        #expect(try await SystemResolver().resolve(host: "127.0.0.1", port: 80) == ["127.0.0.1"])
    }

    /// Shutdown returns when the connections are closed (a pool action), not after a poll.
    @Test func shutdownReturnsPromptly() async throws {
        try await withOwnServer(ServerConnectionPolicy()) { port, _ in
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"])
            #expect(try await Self.get(client) == .ok)
            let began = ContinuousClock.now
            await client.shutdown()
            #expect(ContinuousClock.now - began < .seconds(2))
            #expect(client.stats.connectionsOpened == 1)
        }
    }
}
