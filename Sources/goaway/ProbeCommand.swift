import ArgumentParser
import Foundation
import GoAwayKit

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
    }

    func run() async throws {
        var planner = ProbePlanner.Configuration()
        planner.maxTime = maxTime.duration!
        planner.interval = interval.duration!
        planner.maxRequests = maxRequests
        planner.probePings = pings
        let tls = HTTP2ClientConfiguration.TLS(trustRootFiles: cacert, insecure: insecure)
        let printer = trace ? FrameTracePrinter(reveal: showDebugData) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : nil
        let report: ProbeReport
        do {
            report = try await GoAwayProbe.run(url: url, configuration: planner, tls: tls, frameTrace: printer?.trace)
        } catch {
            CLI.fail("probe \(url): \(error)", exitCode: 1)
        }
        if json {
            CLI.printFlushed(report.json(reveal: showDebugData))
        } else {
            for line in report.textLines(reveal: showDebugData) { CLI.printFlushed(line) }
        }
        if report.connections.first?.connectedAt == nil { throw ExitCode(1) }
    }
}
