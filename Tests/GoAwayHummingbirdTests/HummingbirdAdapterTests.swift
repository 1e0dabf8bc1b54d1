import GoAwayHummingbird
import GoAwayKit
import GoAwayTesting
import Hummingbird
import Synchronization
import Testing

/// A Hummingbird router served by `HTTP2Server`: routing, bodies both ways, errors, and no request
/// lost to a max-requests GOAWAY storm or a rolling restart.
@Suite(.serialized, .exclusive, .timeLimit(.minutes(3)))
struct HummingbirdAdapterTests {
    static func router() -> Router<GoAwayRequestContext> {
        let router = Router(context: GoAwayRequestContext.self)
        router.get("/hello") { _, _ in "hello\n" }
        router.get("/orders/{id}") { _, context in
            "order \(try context.parameters.require("id", as: Int.self)) on stream \(context.connection.streamID)\n"
        }
        router.post("/echo") { request, _ in
            Response(status: .ok, headers: [.contentType: "application/octet-stream"], body: ResponseBody(asyncSequence: request.body))
        }
        router.get("/teapot") { _, _ -> String in throw HTTPError(.init(code: 418), message: "short and stout") }
        router.get("/crash") { _, _ -> String in throw CancellationError() }
        return router
    }

    /// Starts a Hummingbird app on `port` (0: any); returns the server, its run task and its port.
    static func start(port: Int = 0, maxRequests: Int? = nil) async throws -> (HTTP2Server, Task<Void, any Error>, Int) {
        var configuration = HTTP2Server.Configuration(host: "127.0.0.1", port: port)
        configuration.connection.maxRequestsPerConnection = maxRequests
        let server = HTTP2Server(configuration: configuration, router: router())
        let run = Task { try await server.run() }
        return (server, run, try await server.port)
    }

    @Test func routesBodiesAndErrors() async throws {
        let (server, run, port) = try await Self.start()
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"])
        let hello = try await client.get("/hello")
        #expect(hello.status == .ok)
        #expect(hello.text == "hello\n")
        let order = try await client.get("/orders/42")
        #expect(order.text.hasPrefix("order 42 on stream "))
        let big = String(repeating: "z", count: 300_000)   // several windows' worth: streams both ways
        let echoed = try await client.post("/echo", body: .string(big))
        #expect(echoed.status == .ok)
        #expect(echoed.text == big)
        #expect(echoed.head.headerFields[.contentType] == "application/octet-stream")
        #expect(try await client.get("/teapot").status.code == 418)
        #expect(try await client.get("/crash").status == .internalServerError)
        #expect(try await client.get("/nowhere").status == .notFound)
        await client.shutdown()
        server.shutdownGracefully()
        try await run.value
    }

    /// Every request is checked: GET and POST (with a body) alternate.
    static func storm(_ client: HTTP2Client, n: Int, concurrency: Int) async -> (ok: Int, failed: [String: Int]) {
        await withTaskGroup(of: String?.self) { group in
            var ok = 0
            var failed: [String: Int] = [:]
            var next = 0
            func add() {
                let i = next
                next += 1
                group.addTask {
                    do {
                        if i % 2 == 0 {
                            let r = try await client.get("/hello")
                            return r.text == "hello\n" ? nil : "wrong \(r.status)"
                        }
                        let r = try await client.post("/echo", body: .string("post \(i)"))
                        return r.text == "post \(i)" ? nil : "wrong \(r.status)"
                    } catch let error as HTTP2ClientError {
                        return "\(error.code)"
                    } catch {
                        return "\(type(of: error))"
                    }
                }
            }
            for _ in 0..<min(concurrency, n) { add() }
            while let failure = await group.next() {
                if let failure { failed[failure, default: 0] += 1 } else { ok += 1 }
                if next < n { add() }
            }
            return (ok, failed)
        }
    }

    @Test func maxRequestsStormLosesNothing() async throws {
        let (server, run, port) = try await Self.start(maxRequests: 10)
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"])
        let (ok, failed) = await Self.storm(client, n: 2000, concurrency: 32)
        let stats = client.stats
        await client.shutdown()
        server.shutdownGracefully()
        try await run.value
        print("hummingbird max-requests 10: ok=\(ok) failed=\(failed) goaways=\(stats.goAwaysReceived) resent=\(stats.resent) server=\(server.statistics.goAwaysSent)")
        #expect(ok == 2000)
        #expect(failed.isEmpty, "\(failed)")
        // Streams opened between the two GOAWAYs are served too, so a connection serves 10 or more.
        #expect(stats.goAwaysReceived >= 2000 / 100)
        #expect(server.statistics.goAwaysSent[.maxRequests, default: 0] >= 2000 / 100)
    }

    @Test func rollingRestartLosesNothing() async throws {
        var (serverA, runA, portA) = try await Self.start()
        var (serverB, runB, portB) = try await Self.start()
        let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(portA)", "http://127.0.0.1:\(portB)"])
        let restarted = Mutex(0)
        async let result = Self.storm(client, n: 6000, concurrency: 32)
        // Restart A, then B, then A again while the storm runs: drain, stop, start on the same port.
        for round in 0..<3 {
            try await Task.sleep(for: .milliseconds(300))
            if round % 2 == 0 {
                serverA.shutdownGracefully()
                try await runA.value
                (serverA, runA, _) = try await Self.start(port: portA)
            } else {
                serverB.shutdownGracefully()
                try await runB.value
                (serverB, runB, _) = try await Self.start(port: portB)
            }
            restarted.withLock { $0 += 1 }
        }
        let (ok, failed) = await result
        let stats = client.stats
        await client.shutdown()
        serverA.shutdownGracefully()
        serverB.shutdownGracefully()
        try await runA.value
        try await runB.value
        print("hummingbird rolling restart x\(restarted.withLock { $0 }): ok=\(ok) failed=\(failed) goaways=\(stats.goAwaysReceived) resent=\(stats.resent)")
        #expect(restarted.withLock { $0 } == 3)
        #expect(ok == 6000)
        #expect(failed.isEmpty, "\(failed)")
        #expect(stats.goAwaysReceived >= 3)
    }
}
