// The README's server example, verbatim (ReadmeExamplesTests checks it). Run: swift run example-server
import GoAwayKit
import Logging
import ServiceLifecycle

let logger = Logger(label: "example-server")

var config = HTTP2Server.Configuration(host: "127.0.0.1", port: 8080)
config.connection.maxAge = .seconds(600)              // ±10% jitter
config.connection.maxRequestsPerConnection = 10_000

// The handler is @Sendable: it runs concurrently for many streams, so anything it captures must be
// Sendable (values, actors, a Mutex), never a plain class.
let server = HTTP2Server(configuration: config) { request, body, context in
    switch request.path {
    case "/upload":
        let bytes = try await body.collect(upTo: 1 << 20)
        return ServerResponse(status: .ok, text: "got \(bytes.readableBytes) bytes\n")
    case "/stream":
        return ServerResponse(HTTPResponse(status: .ok), body: .stream { writer in
            for i in 1...3 {
                try await writer.write("chunk \(i)\n")   // waits for the peer's flow-control window
            }
        })
    default:
        return ServerResponse(status: .ok, text: "hello\n")
    }
}

// SIGTERM or SIGINT: stop accepting, drain every connection in two phases, return when all are closed.
try await withThrowingDiscardingTaskGroup { group in
    group.addTask {
        try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
    }
    print("listening on port \(try await server.port)")   // `port` waits until the server is bound
}
