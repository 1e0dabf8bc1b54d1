import ArgumentParser
import Foundation
import GoAwayKit
import GoAwayTools
import Logging
import NIOPosix
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the graceful HTTP/2 server (h2c, or TLS with --tls-cert/--tls-key).",
        discussion: """
            Routes: /  /echo  /delay/<ms>  /bytes/<n>  /status/<code>, and files under --root.
            SIGTERM or SIGINT drains every connection in two phases (GOAWAY 2^31-1 + PING, then the real \
            last-stream-id), prints one summary line and exits 0.
            Durations take 30, 1.5s, 250ms, 5m; 0 or off disables a limit.
            """
    )

    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port to bind (0 picks a free one).") var port = 0
    @Option(help: "PEM certificate chain: serve TLS with ALPN h2.") var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.") var tlsKey: String?
    @Option(help: "Serve files under this folder for other GET paths.") var root: String?

    @Option(help: "SETTINGS_MAX_CONCURRENT_STREAMS.") var maxConcurrentStreams = 100
    @Option(help: "SETTINGS_INITIAL_WINDOW_SIZE (bytes; also the connection window).") var initialWindowSize = 1 << 20
    @Option(help: "SETTINGS_MAX_FRAME_SIZE (bytes).") var maxFrameSize = 16384
    @Option(help: "SETTINGS_MAX_HEADER_LIST_SIZE (bytes).") var maxHeaderListSize = 16384

    @Option(help: "Drain a connection with no open stream for this long.") var idleTimeout = DurationArgument(argument: "300s")!
    @Option(help: "Drain a connection this old (±10% jitter).") var maxAge = DurationArgument(argument: "off")!
    @Option(help: "Grace after a max-age drain's final GOAWAY.") var maxAgeGrace = DurationArgument(argument: "30s")!
    @Option(help: "Drain a connection after this many requests (0 = no limit).") var maxRequests = 0
    @Option(help: "How a max-requests drain runs: by-peer (answers-first for Python h2, else two-phase), answers-first (one GOAWAY after the answers) or two-phase.")
    var maxRequestsDrain: DrainStyleArgument = .byPeer
    @Option(help: "The longest first phase of a two-phase drain (2 round trips, at least 50 ms).") var pingAckTimeout = DurationArgument(argument: "5s")!
    @Option(help: "Grace for in-flight streams after the final GOAWAY.") var drainGrace = DurationArgument(argument: "30s")!
    @Option(help: "Keepalive PING after this long without reads.") var keepaliveInterval = DurationArgument(argument: "off")!
    @Option(help: "Close when a keepalive PING is not acked within this.") var keepaliveTimeout = DurationArgument(argument: "20s")!

    // Protections (docs/protections.md). Each ends the offending connection with a GOAWAY naming it.
    @Option(help: "Open connections allowed; over it the oldest idle one is drained (0 = no limit).")
    var maxConnections = ServerProtectionPolicy.defaults.maxConnections ?? 0
    @Option(help: "The preface, or a frame or header block once begun, must arrive within this (slowloris).")
    var headerTimeout = DurationArgument(argument: "10s")!
    @Option(help: "Close a connection whose response makes no progress for this long (peer stopped reading).")
    var sendStallTimeout = DurationArgument(argument: "30s")!
    @Option(help: "Inbound RST_STREAM frames allowed per window (Rapid Reset), COUNT/DURATION.")
    var resetRateLimit = RateLimitArgument(ServerProtectionPolicy.defaults.resetFrameRateLimit)
    @Option(help: "Inbound PING/SETTINGS/PRIORITY frames allowed per window, COUNT/DURATION.")
    var controlFrameRateLimit = RateLimitArgument(ServerProtectionPolicy.defaults.controlFrameRateLimit)
    @Option(help: "CONTINUATION frames allowed in one header block.")
    var maxContinuationFrames = ServerProtectionPolicy.defaults.maximumSequentialContinuationFrames
    @Option(help: "DATA frames in a row without payload or END_STREAM.")
    var maxEmptyDataFrames = ServerProtectionPolicy.defaults.maximumSequentialEmptyDataFrames
    @Option(help: "WINDOW_UPDATE frames allowed beyond what the data sent explains (0 = no limit).")
    var windowUpdateAllowance = ServerProtectionPolicy.defaults.windowUpdateAllowance ?? 0

    @Option(help: "Event loop threads (default: the CPUs this process may run on, so `taskset -c 0` means one).")
    var threads: Int?

    @Flag(help: "Log lifecycle events (connections, GOAWAYs, drains) to stderr.") var verbose = false
    @Flag(help: "Show GOAWAY debug data verbatim in logs (redacted by default).") var showDebugData = false

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if maxRequests < 0 { throw ValidationError("--max-requests must be 0 or more") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if maxConnections < 0 { throw ValidationError("--max-connections must be 0 or more") }
        if windowUpdateAllowance < 0 { throw ValidationError("--window-update-allowance must be 0 or more") }
        if let root {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else {
                throw ValidationError("--root \(root): no such directory")
            }
            guard isDirectory.boolValue else { throw ValidationError("--root \(root): not a directory") }
        }
    }

    func makeConfiguration() -> HTTP2Server.Configuration {
        var policy = ServerConnectionPolicy()
        policy.idleTimeout = idleTimeout.duration
        policy.maxAge = maxAge.duration
        policy.maxAgeGrace = maxAgeGrace.duration ?? .zero
        policy.maxRequestsPerConnection = maxRequests > 0 ? maxRequests : nil
        policy.pingAckTimeout = pingAckTimeout.duration ?? .zero
        policy.maxRequestsDrain = maxRequestsDrain.style
        policy.drainGrace = drainGrace.duration ?? .zero
        policy.keepaliveInterval = keepaliveInterval.duration
        policy.keepaliveTimeout = keepaliveTimeout.duration ?? .seconds(20)
        var protection = ServerProtectionPolicy()
        protection.maxConnections = maxConnections > 0 ? maxConnections : nil
        protection.headerTimeout = headerTimeout.duration
        protection.sendStallTimeout = sendStallTimeout.duration
        protection.resetFrameRateLimit = resetRateLimit.limit
        protection.controlFrameRateLimit = controlFrameRateLimit.limit
        protection.maximumSequentialContinuationFrames = maxContinuationFrames
        protection.maximumSequentialEmptyDataFrames = maxEmptyDataFrames
        protection.windowUpdateAllowance = windowUpdateAllowance > 0 ? windowUpdateAllowance : nil
        var logger = Logger(label: "goaway.serve", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = verbose ? .debug : .warning
        return HTTP2Server.Configuration(
            host: host,
            port: port,
            tls: tlsCert.map { HTTP2Server.TLS(certificateChainPath: $0, privateKeyPath: tlsKey!) },
            maxConcurrentStreams: maxConcurrentStreams,
            initialWindowSize: initialWindowSize,
            maxFrameSize: maxFrameSize,
            maxHeaderListSize: maxHeaderListSize,
            connection: policy,
            protection: protection,
            logger: logger,
            showDebugData: showDebugData
        )
    }

    func run() async throws {
        let configuration = makeConfiguration()
        do { try configuration.validate() } catch { CLI.fail("serve: \(error)") }
        let demo = DemoHandler(root: root)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? CPU.available)
        let server = HTTP2Server(configuration: configuration, eventLoopGroup: group, handler: demo.handle)
        let scheme = tlsCert == nil ? "http" : "https"
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host

        // The events stream tells us when listening started and when the drain began.
        let reporter = Task {
            var shutdown: (at: ContinuousClock.Instant, before: ServerStatistics)?
            for await event in server.events {
                switch event {
                case .listening(_, let port): CLI.printFlushed("listening on \(scheme)://\(host):\(port)")
                case .shutdownStarted: shutdown = (.now, server.statistics)
                default: break
                }
            }
            return shutdown
        }
        let serviceGroup = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "goaway.serve", factory: { _ in SwiftLogNoOpLogHandler() })
            )
        )
        do {
            try await serviceGroup.run()
        } catch let error as HTTP2ServerError {
            CLI.fail("serve: \(error.message)")
        } catch {
            CLI.fail("serve: \(error)")
        }
        let shutdown = await reporter.value
        CLI.printFlushed(Self.summary(server.statistics, shutdownAt: shutdown?.at, before: shutdown?.before ?? ServerStatistics()))
    }
}

extension ServeCommand {
    /// The line printed at exit: this shutdown's drain (connections closed and in-flight requests
    /// completed since it began), then the server's lifetime totals, labelled apart.
    static func summary(_ stats: ServerStatistics, shutdownAt: ContinuousClock.Instant?, before: ServerStatistics) -> String {
        func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }
        let seconds = String(format: "%.2f", (shutdownAt.map { ContinuousClock.now - $0 } ?? .zero).seconds)
        let closed = plural(stats.connectionsClosed - before.connectionsClosed, "connection")
        let completed = plural(stats.requestsCompletedDuringDrain - before.requestsCompletedDuringDrain, "in-flight request")
        let refused = plural(stats.streamsRefused - before.streamsRefused, "stream")
        var line = "shutdown: drained \(closed), \(completed) completed, \(refused) refused, in \(seconds)s"
        line += "; lifetime: \(plural(stats.requests, "request")) served, \(plural(stats.connectionsAccepted, "connection")),"
        line += " \(plural(stats.connectionsDrained, "drain")), \(plural(stats.requestsCompletedDuringDrain, "request")) completed while draining"
        if !stats.attacksDetected.isEmpty {
            let kinds = stats.attacksDetected.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }
            line += "; protections: " + kinds.joined(separator: ", ")
        }
        return line
    }
}

/// `--max-requests-drain by-peer|answers-first|two-phase`.
enum DrainStyleArgument: String, ExpressibleByArgument, CaseIterable {
    case answersFirst = "answers-first"
    case twoPhase = "two-phase"
    case byPeer = "by-peer"

    var style: DrainStyle {
        switch self {
        case .answersFirst: .answersFirst
        case .twoPhase: .twoPhase
        case .byPeer: .byPeer
        }
    }
}
