// ahc-load URL N C: N GETs with C in flight through one AsyncHTTPClient (HTTP/2 only, h2c prior
// knowledge is not supported by AHC, so URLs are https:// with a self-signed certificate, or
// http:// for HTTP/1.1). Default configuration otherwise: no retry of GOAWAY casualties (AHC
// issue #505). Prints one JSON line: requests, succeeded, failed, errors, elapsed_s, rps.
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

let args = CommandLine.arguments
guard args.count >= 4, let n = Int(args[2]), let c = Int(args[3]) else {
    FileHandle.standardError.write(Data("usage: ahc-load URL N C\n".utf8))
    exit(2)
}
let url = args[1]

var config = HTTPClient.Configuration()
config.httpVersion = .automatic
var tls = TLSConfiguration.makeClientConfiguration()
tls.certificateVerification = .none  // loopback benchmark with a self-signed certificate
config.tlsConfiguration = tls
config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: c)
let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)

actor Tally {
    let n: Int
    init(n: Int) { self.n = n }
    var issued = 0, ok = 0, failed = 0
    var errors: [String: Int] = [:]
    func next() -> Bool {
        guard issued < n else { return false }
        issued += 1
        return true
    }
    func success() { ok += 1 }
    func failure(_ e: any Error) {
        failed += 1
        errors[String(describing: e).prefix(60).description, default: 0] += 1
    }
}
let tally = Tally(n: n)
let start = ContinuousClock.now
await withTaskGroup(of: Void.self) { group in
    for _ in 0..<c {
        group.addTask {
            while await tally.next() {
                do {
                    let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    await tally.success()
                } catch {
                    await tally.failure(error)
                }
            }
        }
    }
}
let elapsed = ContinuousClock.now - start
try? await client.shutdown()
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let result: [String: Any] = [
    "requests": n, "succeeded": await tally.ok, "failed": await tally.failed, "errors": await tally.errors,
    "elapsed_s": seconds, "rps": Double(n) / seconds,
]
let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: data, as: UTF8.self))
