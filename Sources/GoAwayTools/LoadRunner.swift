import GoAwayKit
import Foundation
import GoAwayCore
import HTTPTypes
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Drives an `HTTP2Client` at a fixed concurrency and counts every request's fate
/// (`goaway load`). Every request ends as exactly one of: succeeded, or failed with an error kind.
public struct LoadRunner: Sendable {
    public struct Options: Sendable, Hashable {
        public var urls: [String]
        /// Total requests; with `duration` set, the run also stops at that time.
        public var requests: Int
        public var concurrency: Int
        public var duration: Duration?
        public var method: String
        public var body: [UInt8]?
        public var headers: [(String, String)] { headerPairs.map { ($0.name, $0.value) } }
        public var headerPairs: [Header]
        public var resend: Bool
        /// Connections per endpoint at most (`--connections`).
        public var connections: Int
        public var insecure: Bool
        public var trustRoots: [String]
        public var requestTimeout: Duration?
        public var maxResponseBytes: Int

        public struct Header: Sendable, Hashable {
            public var name: String
            public var value: String
            public init(name: String, value: String) { self.name = name; self.value = value }
        }

        public init(
            urls: [String], requests: Int = 1000, concurrency: Int = 10, duration: Duration? = nil, method: String = "GET",
            body: [UInt8]? = nil, headers: [Header] = [], resend: Bool = true, connections: Int = 8, insecure: Bool = false,
            trustRoots: [String] = [], requestTimeout: Duration? = .seconds(30), maxResponseBytes: Int = 64 << 20
        ) {
            self.urls = urls
            self.requests = requests
            self.concurrency = concurrency
            self.duration = duration
            self.method = method
            self.body = body
            self.headerPairs = headers
            self.resend = resend
            self.connections = connections
            self.insecure = insecure
            self.trustRoots = trustRoots
            self.requestTimeout = requestTimeout
            self.maxResponseBytes = maxResponseBytes
        }
    }

    /// The JSON line `goaway load --json` prints.
    public struct Report: Sendable, Codable, Hashable {
        public var requests = 0
        public var succeeded = 0
        public var failed = 0
        public var resent = 0
        public var goaways_received = 0
        public var connections_opened = 0
        public var errors: [String: Int] = [:]
        public var elapsed_s = 0.0
        public var rps = 0.0
        public var latency_ms = Latency()
        public var status: [String: Int] = [:]
        public var resent_by_reason: [String: Int] = [:]
        /// The first error message seen for each kind in `errors` (`connection refused (127.0.0.1:1)`).
        public var error_messages: [String: String] = [:]

        public struct Latency: Sendable, Codable, Hashable {
            public var p50 = 0.0, p90 = 0.0, p99 = 0.0, max = 0.0
        }

        /// Every request is accounted for exactly once.
        public var addsUp: Bool { succeeded + failed == requests && errors.values.reduce(0, +) == failed }

        public func json() -> String {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
        }
    }

    /// Progress snapshots for the stderr line.
    public struct Progress: Sendable {
        public var done: Int
        public var failed: Int
        public var resent: Int
        public var elapsed: Duration
    }

    public var options: Options
    public init(options: Options) { self.options = options }

    struct Tally {
        var issued = 0
        var done = 0
        var failed = 0
        var latenciesNs: [Int64] = []
        var errors: [String: Int] = [:]
        var messages: [String: String] = [:]
        /// Responses by status code (100...999), counted per request without a String or a hash.
        var statusCounts = [Int](repeating: 0, count: 1000)
    }

    public func run(
        configuration base: HTTP2ClientConfiguration = .defaults,
        eventLoopGroup group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "goaway.load", factory: { _ in SwiftLogNoOpLogHandler() }),
        progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> Report {
        var config = base
        config.pool.retry.enabled = options.resend
        config.pool.maxConnectionsPerEndpoint = max(1, options.connections)
        config.requestTimeout = options.requestTimeout
        config.responseIdleTimeout = options.requestTimeout
        config.tls.insecure = options.insecure
        config.tls.trustRootFiles = options.trustRoots
        let client = try HTTP2Client(endpoints: options.urls, configuration: config, eventLoopGroup: group, logger: logger)
        let path = HTTP2Endpoint.pathAndQuery(of: options.urls[0])
        var head = HTTPRequest(method: HTTPRequest.Method(options.method) ?? .get, scheme: nil, authority: nil, path: path)
        for h in options.headerPairs {
            if let name = HTTPField.Name(h.name) { head.headerFields.append(HTTPField(name: name, value: h.value)) }
        }
        let body: HTTP2RequestBody = options.body.map { .bytes($0) } ?? .empty
        let tally = TallyBox()
        let start = ContinuousClock.now
        let deadline = options.duration.map { start + $0 }
        let total = options.requests
        let maxBytes = options.maxResponseBytes
        let request = head

        let progressTask: Task<Void, Never>? = progress.map { report in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    let t = tally.m.withLock { ($0.done, $0.failed) }
                    report(Progress(done: t.0, failed: t.1, resent: client.stats.resentTotal, elapsed: ContinuousClock.now - start))
                }
            }
        }

        // Each worker task prefers an event loop of the client's group as its executor
        // (`LoopTaskExecutor`): continuations resume there instead of on the global pool, so with one
        // loop (`taskset -c 1`) a request is started, answered and counted on that one thread.
        let executors = group.makeIterator().map { LoopTaskExecutor(loop: $0) }
        await withTaskGroup(of: Void.self) { tasks in
            for i in 0..<max(1, options.concurrency) {
                tasks.addTask(executorPreference: executors[i % executors.count]) {
                    await LoadRunner.work(client: client, request: request, body: body, maxBytes: maxBytes, tally: tally, total: total, deadline: deadline)
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        progressTask?.cancel()
        let stats = client.stats
        await client.shutdown()

        return tally.m.withLock { t in
            var r = Report()
            r.requests = t.done
            r.failed = t.failed
            r.succeeded = t.done - t.failed
            r.resent = stats.resentTotal
            r.resent_by_reason = Dictionary(uniqueKeysWithValues: stats.resent.map { ($0.key.rawValue, $0.value) })
            r.goaways_received = stats.goAwaysReceived
            r.connections_opened = stats.connectionsOpened
            r.errors = t.errors
            r.error_messages = t.messages
            for (code, n) in t.statusCounts.enumerated() where n > 0 { r.status[String(code)] = n }
            r.elapsed_s = elapsed.seconds
            r.rps = elapsed.seconds > 0 ? Double(t.done) / elapsed.seconds : 0
            let sorted = t.latenciesNs.sorted()
            func pct(_ p: Double) -> Double { Latency.percentileMs(sorted, p) }
            r.latency_ms = Report.Latency(p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: Double(sorted.last ?? 0) / 1e6)
            return r
        }
    }
}

/// An event loop as a task executor: a task that prefers it runs its nonisolated code, and resumes
/// from continuations, on that loop's thread (on-loop enqueues are a queue append, no wake-up).
final class LoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop
    init(loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }
}

extension LoadRunner {
    fileprivate static func work(client: HTTP2Client, request: HTTPRequest, body: HTTP2RequestBody, maxBytes: Int, tally: TallyBox, total: Int, deadline: ContinuousClock.Instant?) async {
        while true {
            let go = tally.m.withLock { t -> Bool in
                guard t.issued < total else { return false }
                if let deadline, ContinuousClock.now >= deadline { return false }
                t.issued += 1
                return true
            }
            if !go { break }
            let began = ContinuousClock.now
            do {
                let response = try await client.execute(request, body: body)
                _ = try await response.body.collect(upTo: maxBytes)
                let ns = (ContinuousClock.now - began).nanosecondsClamped
                let code = response.status.code
                tally.m.withLock { t in
                    t.done += 1
                    t.latenciesNs.append(ns)
                    t.statusCounts[code] += 1
                }
            } catch {
                let kind = (error as? HTTP2ClientError)?.code.description ?? "other"
                let message = (error as? HTTP2ClientError)?.message ?? "\(error)"
                tally.m.withLock { t in
                    t.done += 1
                    t.failed += 1
                    t.errors[kind, default: 0] += 1
                    if t.messages[kind] == nil { t.messages[kind] = message }
                }
            }
        }
    }
}

/// Shared by the worker tasks; a class so the non-copyable `Mutex` can be captured.
private final class TallyBox: Sendable {
    let m = Mutex(LoadRunner.Tally())
}
