// openapi-storm goaway|ahc URL N C: N calls of the generated GreetingAPI client, C in flight, over
// GoAwayClientTransport or AsyncHTTPClientTransport (default configuration: AHC re-sends nothing a
// GOAWAY refused, its issue #505). The mix: GET /, POST /echo JSON, POST /echo binary with a
// `.multiple` body, with a `.single` body. Every answer is checked. AHC speaks HTTP/2 only over TLS
// (no h2c), so URLs are https:// with a self-signed certificate (not verified, loopback only).
// Prints one JSON line: transport, requests, ok, failed, failed_by_cause, elapsed_s.
import AsyncHTTPClient
import Foundation
import GoAwayKit
import GoAwayOpenAPI
import GreetingAPIClient
import NIOSSL
import OpenAPIAsyncHTTPClient
import OpenAPIRuntime

let args = CommandLine.arguments
guard args.count == 5, ["goaway", "ahc"].contains(args[1]), let url = URL(string: args[2]), let n = Int(args[3]), let c = Int(args[4]) else {
    FileHandle.standardError.write(Data("usage: openapi-storm goaway|ahc URL N C\n".utf8))
    exit(2)
}

let transport: any ClientTransport
var shutdown: @Sendable () async throws -> Void
if args[1] == "goaway" {
    var configuration = HTTP2ClientConfiguration.defaults
    configuration.tls.insecure = true
    let http = try HTTP2Client(endpoints: [args[2]], configuration: configuration)
    transport = GoAwayClientTransport(client: http)
    shutdown = { await http.shutdown() }
} else {
    var configuration = HTTPClient.Configuration()
    configuration.httpVersion = .automatic
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.certificateVerification = .none
    configuration.tlsConfiguration = tls
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    transport = AsyncHTTPClientTransport(configuration: .init(client: http))
    shutdown = { try await http.shutdown() }
}
let api = Client(serverURL: url, transport: transport)

/// nil when the call succeeded with the right answer, else its cause.
@Sendable func call(_ i: Int) async -> String? {
    do {
        let payload = "payload \(i) " + String(repeating: "x", count: i % 50)
        switch i % 4 {
        case 0:
            let text = try await String(collecting: api.getGreeting().ok.body.plainText, upTo: 1 << 16)
            return text.isEmpty ? "empty greeting" : nil
        case 1:
            let order = try await api.echo(body: .json(.init(item: i, note: payload))).ok.body.json
            return order.item == i && order.note == payload ? nil : "wrong echo"
        default:
            let body: HTTPBody
            if i % 4 == 3 {
                let (stream, continuation) = AsyncStream.makeStream(of: ArraySlice<UInt8>.self)
                continuation.yield(ArraySlice(payload.utf8))
                continuation.finish()
                body = HTTPBody(stream, length: .unknown)
            } else {
                body = HTTPBody(payload)
            }
            let echoed = try await String(collecting: api.echo(body: .binary(body)).ok.body.binary, upTo: 1 << 16)
            return echoed == payload ? nil : "wrong echo"
        }
    } catch let error as ClientError {
        if let ours = error.http2ClientError { return "\(ours.code)" }
        return cause(String(describing: error.underlyingError))
    } catch {
        return cause(String(describing: error))
    }
}

/// A short, groupable name for an error: `StreamClosed(errorCode: CANCEL)` without the stream id.
@Sendable func cause(_ description: String) -> String {
    if description.hasPrefix("StreamClosed"), let range = description.range(of: "errorCode: ") {
        let code = description[range.upperBound...].prefix { $0 != "," && $0 != ")" }
        return "StreamClosed(errorCode: \(code))"
    }
    return String(description.prefix(60))
}

let started = ContinuousClock.now
let failures = await withTaskGroup(of: String?.self) { group in
    var failed: [String: Int] = [:]
    var next = 0
    for _ in 0..<min(c, n) {
        let i = next
        next += 1
        group.addTask { await call(i) }
    }
    while let failure = await group.next() {
        if let failure { failed[failure, default: 0] += 1 }
        if next < n {
            let i = next
            next += 1
            group.addTask { await call(i) }
        }
    }
    return failed
}
let elapsed = ContinuousClock.now - started
try await shutdown()
let failed = failures.values.reduce(0, +)
let causes = failures.sorted { $0.key < $1.key }.map { "\"\($0.key.replacingOccurrences(of: "\"", with: "'"))\":\($0.value)" }.joined(separator: ",")
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
print("{\"transport\":\"\(args[1])\",\"requests\":\(n),\"ok\":\(n - failed),\"failed\":\(failed),\"failed_by_cause\":{\(causes)},\"elapsed_s\":\(String(format: "%.2f", seconds))}")
