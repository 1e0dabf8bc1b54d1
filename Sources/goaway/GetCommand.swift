import ArgumentParser
import Foundation
import GoAwayKit
import HTTPTypes

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

    func run() async throws {
        var config = HTTP2ClientConfiguration()
        config.tls.insecure = insecure
        config.tls.trustRootFiles = cacert
        config.requestTimeout = .milliseconds(Int64(timeout * 1000))
        config.responseIdleTimeout = config.requestTimeout
        config.revealDebugData = showDebugData
        keepalive.apply(to: &config)
        let printer = trace ? FrameTracePrinter(reveal: showDebugData) { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        } : nil
        config.frameTrace = printer?.trace
        let client = try HTTP2Client(endpoints: [url], configuration: config)
        let m = (method ?? (d == nil ? "GET" : "POST")).uppercased()
        guard let httpMethod = HTTPRequest.Method(m) else { throw ValidationError("bad method \(m)") }
        var request = HTTPRequest(method: httpMethod, scheme: nil, authority: nil, path: HTTP2Endpoint.pathAndQuery(of: url))
        for h in try header.map(parseHeader) {
            if let name = HTTPField.Name(h.name) { request.headerFields.append(HTTPField(name: name, value: h.value)) }
        }
        do {
            let response = try await client.execute(request, body: d.map { .string($0) } ?? .empty)
            if i {
                var head = "HTTP/2 \(response.status.code)\n"
                for f in response.head.headerFields { head += "\(f.name.canonicalName): \(f.value)\n" }
                FileHandle.standardOutput.write(Data((head + "\n").utf8))
            }
            for try await chunk in response.body {
                FileHandle.standardOutput.write(Data(chunk.readableBytesView))
            }
            await client.shutdown()
            printVerdict(printer)
        } catch {
            await client.shutdown()
            printVerdict(printer)
            FileHandle.standardError.write(Data("goaway get: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    private func printVerdict(_ printer: FrameTracePrinter?) {
        guard let printer else { return }
        for line in printer.verdictLines { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
