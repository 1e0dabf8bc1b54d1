import ArgumentParser
import Foundation
import GoAwayKit
import GoAwayTools
import HTTPTypes

struct ProbeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Find a server's connection limits: requests per connection, idle timeout, max age, PING policy.",
        discussion: """
            Runs phases on fresh connections: requests back to back until GOAWAY (counts them), one
            request then silence (idle timeout), slow requests spaced below the idle timeout (max
            age), and with --pings PINGs every second (too_many_pings policy). Durations take 30,
            1.5s, 250ms, 5m.
            """)

    @Argument(help: "URL (http:// = h2c prior knowledge, https:// = TLS with ALPN h2); its path is requested.") var url: String
    @Option(help: "Stop after this long, whatever was found.") var maxTime = DurationArgument(argument: "120s")!
    @Option(help: "Spacing of the max-age phase's requests (lowered to half the idle timeout).") var interval = DurationArgument(argument: "1s")!
    @Option(help: "Stop counting requests per connection after this many.") var maxRequests = 2000
    @Flag(help: "Also probe the PING policy (may earn a too_many_pings GOAWAY).") var pings = false
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: "Print every frame both ways to stderr.") var trace = false
    @Flag(help: "Show GOAWAY debug data unredacted.") var showDebugData = false
    @Flag(help: "Skip TLS certificate verification (tests only).") var insecure = false
    @Option(help: "PEM file with extra trust roots.") var cacert: [String] = []

    func validate() throws {
        guard maxTime.duration != nil else { throw ValidationError("--max-time must be positive") }
        guard interval.duration != nil else { throw ValidationError("--interval must be positive") }
        guard maxRequests >= 1 else { throw ValidationError("--max-requests must be at least 1") }
        try validateURL(url)
        try validateTrustRoots(cacert)
    }

    /// One request with the pooled client first: a target that is not an h2 server (refused, DNS,
    /// TLS, HTTP/1.x, ALPN) is named in one line and exit 1, instead of a report of zeros.
    private func preflight(_ tls: HTTP2ClientConfiguration.TLS) async {
        var config = HTTP2ClientConfiguration()
        config.tls = tls
        config.pool.retry = .disabled
        config.pool.retry.maxAttempts = 1
        config.requestTimeout = .seconds(20)
        let client: HTTP2Client
        do {
            client = try HTTP2Client(endpoints: [url], configuration: config)
        } catch {
            CLI.fail("probe \(url): \(CLI.describe(error))", exitCode: 2)
        }
        var failure: HTTP2ClientError?
        do {
            let head = HTTPRequest(method: .get, scheme: nil, authority: nil, path: HTTP2Endpoint.pathAndQuery(of: url))
            _ = try await client.execute(head, maxResponseBytes: 1 << 20)
        } catch let e as HTTP2ClientError {
            failure = e
        } catch {}
        await client.shutdown()
        if let failure, failure.code == .connectionFailed || failure.code == .connectTimeout {
            CLI.fail("probe \(url): \(failure.message)", exitCode: 1)
        }
    }

    func run() async throws {
        var planner = ProbePlanner.Configuration()
        planner.maxTime = maxTime.duration!
        planner.interval = interval.duration!
        planner.maxRequests = maxRequests
        planner.probePings = pings
        let tls = HTTP2ClientConfiguration.TLS(trustRootFiles: cacert, insecure: insecure)
        await preflight(tls)
        let printer = trace ? FrameTracePrinter(reveal: showDebugData) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : nil
        let report: ProbeReport
        do {
            report = try await GoAwayProbe.run(url: url, configuration: planner, tls: tls, frameTrace: printer?.trace)
        } catch {
            CLI.fail("probe \(url): \(CLI.describe(error))", exitCode: 1)
        }
        if json {
            CLI.printFlushed(report.json(reveal: showDebugData))
        } else {
            for line in report.textLines(reveal: showDebugData) { CLI.printFlushed(line) }
        }
        if report.connections.first?.connectedAt == nil { throw ExitCode(1) }
    }
}
