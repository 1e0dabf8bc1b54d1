// The README's Hummingbird example, verbatim (ReadmeExamplesTests checks it). Run: swift run example-hummingbird
import GoAwayHummingbird
import GoAwayKit
import Hummingbird
import Logging
import ServiceLifecycle

let logger = Logger(label: "example-hummingbird")

let router = Router(context: GoAwayRequestContext.self)   // instead of BasicRequestContext
router.get("/hello") { _, _ in "hello\n" }
router.get("/orders/{id}") { _, context in
    "order \(try context.parameters.require("id", as: Int.self))\n"
}

var config = HTTP2Server.Configuration(host: "127.0.0.1", port: 8080)
config.connection.maxAge = .seconds(600)              // ±10% jitter
config.connection.maxRequestsPerConnection = 10_000

let server = HTTP2Server(configuration: config, router: router)
try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
