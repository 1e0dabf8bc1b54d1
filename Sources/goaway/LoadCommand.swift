import ArgumentParser
import Foundation
import GoAwayKit
import GoAwayTools
import NIOPosix

struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load a server with the GOAWAY-proof client and count every request's fate.",
        discussion: """
            Prints one JSON line at the end (with --json): requests, succeeded, failed, resent, goaways_received,
            connections_opened, errors, elapsed_s, rps, latency_ms, status. Exits 1 when any request failed.
            --no-resend runs the same client with re-sending off, to show what a naive client loses.
            """)

    @Argument(help: "URLs of one service (http:// = h2c prior knowledge, https:// = TLS with ALPN h2).")
    var urls: [String]
    @Option(name: .short, help: "Number of requests.") var n: Int = 1000
    @Option(name: .short, help: "Concurrency.") var c: Int = 10
    @Option(help: "Stop after this many seconds (also bounded by -n).") var duration: Double?
    @Option(help: "HTTP method.") var method: String = "GET"
    @Option(help: "Request body.") var data: String?
    @Option(help: "Request body from a file.") var dataFile: String?
    @Option(name: .customShort("H"), help: "Header 'name: value' (repeatable).") var header: [String] = []
    @Option(help: "Connections per endpoint at most.") var connections: Int = 8
    @Flag(help: "Do not re-send requests a GOAWAY or REFUSED_STREAM proved unprocessed.") var noResend = false
    @Flag(help: "Print the report as one JSON line.") var json = false
    @Flag(help: "Skip TLS certificate verification (tests only).") var insecure = false
    @Option(help: "PEM file with extra trust roots.") var cacert: [String] = []
    @Option(help: "Per-request timeout in seconds.") var timeout: Double = 30
    @Option(help: "Event loop threads (default: the CPUs this process may run on, so `taskset -c 1` means one).")
    var threads: Int?
    @OptionGroup var keepalive: KeepaliveOptions

    func validate() throws {
        if urls.isEmpty { throw ValidationError("give at least one URL") }
        if n < 1 { throw ValidationError("-n must be at least 1") }
        if c < 1 { throw ValidationError("-c must be at least 1") }
        if data != nil && dataFile != nil { throw ValidationError("use --data or --data-file, not both") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if timeout <= 0 || !timeout.isFinite { throw ValidationError("--timeout must be a positive number of seconds") }
        if connections < 1 { throw ValidationError("--connections must be at least 1") }
        for url in urls { try validateURL(url) }
        try validateTrustRoots(cacert)
        if let dataFile { _ = try readFileArgument(dataFile, flag: "--data-file") }
    }

    func run() async throws {
        var body: [UInt8]?
        if let data { body = Array(data.utf8) }
        if let dataFile { body = try readFileArgument(dataFile, flag: "--data-file") }
        let options = LoadRunner.Options(
            urls: urls, requests: n, concurrency: c, duration: duration.map { .milliseconds(Int64($0 * 1000)) },
            method: method.uppercased(), body: body, headers: try header.map(parseHeader), resend: !noResend,
            connections: connections, insecure: insecure, trustRoots: cacert, requestTimeout: .milliseconds(Int64(timeout * 1000)))
        let tty = isatty(2) == 1
        let total = n
        var progress: (@Sendable (LoadRunner.Progress) -> Void)?
        if tty {
            progress = { (p: LoadRunner.Progress) in
                let line = "\r\(p.done)/\(total) done, \(p.failed) failed, \(p.resent) resent, \(Int(p.elapsed.seconds))s"
                FileHandle.standardError.write(Data(line.utf8))
            }
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? CPU.available)
        var config = HTTP2ClientConfiguration()
        keepalive.apply(to: &config)
        let report: LoadRunner.Report
        do {
            report = try await LoadRunner(options: options).run(configuration: config, eventLoopGroup: group, progress: progress)
        } catch let e as HTTP2ClientError where e.code == .invalidRequest {
            CLI.fail("load: \(e.detail)", exitCode: 2)
        }
        try? await group.shutdownGracefully()
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
        if json {
            print(report.json())
        } else {
            print("requests \(report.requests)  succeeded \(report.succeeded)  failed \(report.failed)  resent \(report.resent)")
            print("goaways received \(report.goaways_received)  connections opened \(report.connections_opened)")
            if report.status.isEmpty {
                // No response at all: no rate or latency to speak of (the errors line says why).
                print(String(format: "elapsed %.2fs  no responses", report.elapsed_s))
            } else {
                print(String(format: "elapsed %.2fs  %.0f req/s  latency p50 %.2fms p90 %.2fms p99 %.2fms max %.2fms",
                    report.elapsed_s, report.rps, report.latency_ms.p50, report.latency_ms.p90, report.latency_ms.p99, report.latency_ms.max))
                print("status \(report.status.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
            }
            if !report.errors.isEmpty { print("errors \(report.errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))") }
        }
        if report.failed > 0 {
            // One line naming the cause of the most frequent failure.
            if let (kind, count) = report.errors.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) {
                let cause = report.error_messages[kind].map { ": \($0)" } ?? ""
                CLI.fail("load: \(report.failed) of \(report.requests) requests failed (\(count) \(kind))\(cause)", exitCode: 1)
            }
            throw ExitCode(1)
        }
    }
}

func parseHeader(_ text: String) throws -> LoadRunner.Options.Header {
    guard let colon = text.firstIndex(of: ":") else { throw ValidationError("header must be 'name: value': \(text)") }
    let name = text[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
    let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    guard !name.isEmpty else { throw ValidationError("empty header name: \(text)") }
    return .init(name: name, value: value)
}
