import Dispatch
import GoAwayKit
import GoAwayTesting
import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Structured request handling: handlers are owned and awaited, their errors logged and answered
/// through the error hook, and `listeningAddress` never hangs.
@Suite("Server request handling")
struct ServerRequestHandlingTests {
    static let get = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/work")
    static let post = HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/upload")

    @Test func runReturnsOnlyOnceAHandlerThatIgnoresCancellationHasReturned() async throws {
        let state = NIOLockedValueBox((started: false, finished: false))
        let handler: HTTP2Server.Handler = { _, _, _ in
            state.withLockedValue { $0.started = true }
            // Not cancellable: it runs its 800 ms whatever happens to its task.
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(800)) { c.resume() }
            }
            state.withLockedValue { $0.finished = true }
            return ServerResponse(status: .ok, text: "late\n")
        }
        let client = try await withTestServer(handler: handler) { _, port in
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"])
            Task { _ = try? await client.execute(Self.get) }
            let deadline = ContinuousClock.now + .seconds(10)
            while !state.withLockedValue({ $0.started }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(state.withLockedValue { $0.started })
            return client  // withTestServer cancels run() and awaits it
        }
        #expect(state.withLockedValue { $0.finished }, "run() returned while a handler was still running")
        await client.shutdown()
    }

    @Test func collectOverflowIs413() async throws {
        let handler: HTTP2Server.Handler = { _, body, _ in
            let all = try await body.collect(upTo: 4)
            return ServerResponse(status: .ok, body: all)
        }
        try await withTestServer(handler: handler) { _, port in
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"])
            let small = try await client.execute(Self.post, body: .string("abc"), maxResponseBytes: 100)
            #expect(small.status == .ok)
            let large = try await client.execute(Self.post, body: .string("0123456789"), maxResponseBytes: 100)
            #expect(large.status == .contentTooLarge)
            #expect(String(buffer: large.body) == "request body larger than 4 bytes\n")
            await client.shutdown()
        }
    }

    @Test func handlerErrorIsLoggedWithStreamAndPathAndAnsweredByTheHook() async throws {
        struct Boom: Error {}
        let logs = LogRecorder()
        var config = HTTP2Server.Configuration()
        config.logger = Logger(label: "test") { _ in logs }
        config.errorResponse = { error, request, _ in
            ServerResponse(status: .init(code: 418), text: "\(request.path ?? "") failed: \(error is Boom)\n")
        }
        try await withTestServer(config, handler: { _, _, _ in throw Boom() }) { _, port in
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"])
            let r = try await client.execute(Self.get, maxResponseBytes: 100)
            #expect(r.status.code == 418)
            #expect(String(buffer: r.body) == "/work failed: true\n")
            await client.shutdown()
        }
        let errors = logs.entries.filter { $0.level == .error }
        #expect(errors.count == 1, "\(logs.entries)")
        #expect(errors.first?.message == "request handler failed")
        #expect(errors.first?.metadata["goaway.stream"] == "1")
        #expect(errors.first?.metadata["goaway.path"] == "/work")
    }

    @Test func listeningAddressFailsWhenTheServerStopsWithoutListening() async throws {
        let server = HTTP2Server(configuration: .init()) { _, _, _ in ServerResponse(status: .ok, text: "") }
        server.shutdownGracefully()
        var code: HTTP2ServerError.Code?
        do { _ = try await server.listeningAddress } catch let e as HTTP2ServerError { code = e.code }
        #expect(code == .stoppedBeforeListening)
    }
}

/// Collects log entries (level, message, metadata as strings) from every logger made from it.
struct LogRecorder: LogHandler {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }
    private let box = NIOLockedValueBox<[Entry]>([])
    var entries: [Entry] { box.withLockedValue { $0 } }
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        var all = self.metadata
        for (k, v) in metadata ?? [:] { all[k] = v }
        let entry = Entry(level: level, message: "\(message)", metadata: all.mapValues { "\($0)" })
        box.withLockedValue { $0.append(entry) }
    }
}
