import ArgumentParser
import Foundation
import GoAwayKit
import HTTPTypes
#if canImport(Glibc)
import Glibc
#endif

struct GetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Send one request with the GOAWAY-proof client; the body goes to stdout.")

    @Argument(help: "URL (http:// = h2c prior knowledge, https:// = TLS with ALPN h2).") var url: String
    @Option(name: .customShort("X"), help: "Method.") var method: String?
    @Option(name: .short, help: "Request body.") var d: String?
    @Option(name: .customShort("H"), help: "Header 'name: value' (repeatable).") var header: [String] = []
    @Flag(name: .short, help: "Print the response status line and headers first.") var i = false
    @Flag(help: "Skip TLS certificate verification (tests only).") var insecure = false
    @Option(help: "PEM file with extra trust roots.") var cacert: [String] = []
    @Option(help: "Timeout in seconds.") var timeout: Double = 30
    @Flag(help: "Print every frame both ways to stderr, then a verdict on any GOAWAY.") var trace = false
    @Flag(help: "Show GOAWAY debug data (and cookie/authorization values in the trace) unredacted.") var showDebugData = false
    @OptionGroup var keepalive: KeepaliveOptions

    @Flag(help: "Do not re-send a request a GOAWAY or REFUSED_STREAM proved unprocessed (or an idempotent one cut off).")
    var noResend = false

    func validate() throws {
        try validateURL(url)
        if timeout <= 0 || !timeout.isFinite { throw ValidationError("--timeout must be a positive number of seconds") }
        try validateTrustRoots(cacert)
    }

    func run() async throws {
        var config = HTTP2ClientConfiguration()
        config.tls.insecure = insecure
        config.tls.trustRootFiles = cacert
        config.requestTimeout = .milliseconds(Int64(timeout * 1000))
        config.responseIdleTimeout = config.requestTimeout
        // The connect budget ends before the request's: a dead target is named, not a bare timeout.
        config.connectTimeout = min(config.connectTimeout, .milliseconds(Int64(timeout * 800)))
        config.revealDebugData = showDebugData
        keepalive.apply(to: &config)
        if noResend { config.pool.retry = .disabled }
        let printer = trace ? FrameTracePrinter(reveal: showDebugData) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        } : nil
        config.frameTrace = printer?.trace
        let m = (method ?? (d == nil ? "GET" : "POST")).uppercased()
        guard let httpMethod = HTTPRequest.Method(m) else { throw ValidationError("bad method \(m)") }
        var request = HTTPRequest(method: httpMethod, scheme: nil, authority: nil, path: HTTP2Endpoint.pathAndQuery(of: url))
        for h in try header.map(parseHeader) {
            if let name = HTTPField.Name(h.name) { request.headerFields.append(HTTPField(name: name, value: h.value)) }
        }
        let client = try makeClient(command: "get", urls: [url], configuration: config)
        // A reader that went away (`| head -c 1`) is EPIPE, not a signal: stop quietly, exit 1.
        signal(SIGPIPE, SIG_IGN)
        do {
            let response = try await client.execute(request, body: d.map { .string($0) } ?? .empty)
            var open = true
            if i {
                var head = "HTTP/2 \(response.status.code)\n"
                for f in response.head.headerFields { head += "\(f.name.canonicalName): \(f.value)\n" }
                open = StandardOutput.write(Array((head + "\n").utf8))
            }
            if open {
                for try await chunk in response.body {
                    guard StandardOutput.write(chunk.readableBytesView) else { open = false; break }
                }
            }
            await client.shutdown()
            printVerdict(printer)
            if !open { throw ExitCode(1) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            await client.shutdown()
            printVerdict(printer)
            CLI.fail("get: \(CLI.describe(error))", exitCode: 1)
        }
    }

    private func printVerdict(_ printer: FrameTracePrinter?) {
        guard let printer else { return }
        for line in printer.verdictLines { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
