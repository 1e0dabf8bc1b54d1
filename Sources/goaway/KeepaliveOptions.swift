import ArgumentParser
import GoAwayKit

/// `--keepalive S` / `--keepalive-timeout S` for `get` and `load`: the dead-peer health check.
struct KeepaliveOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "PING after this many seconds without a frame from the server (default 30 while requests wait; also pings idle connections when set).",
        valueName: "seconds"))
    var keepalive: Double?
    @Option(help: ArgumentHelp("Seconds for the server to ack that PING; then the connection counts as dead (default 20).", valueName: "seconds"))
    var keepaliveTimeout: Double?

    func validate() throws {
        if let keepalive, !(keepalive > 0) { throw ValidationError("--keepalive must be more than 0 seconds") }
        if let keepaliveTimeout, !(keepaliveTimeout > 0) { throw ValidationError("--keepalive-timeout must be more than 0 seconds") }
    }

    func apply(to config: inout HTTP2ClientConfiguration) {
        if let keepalive {
            let interval = Duration.milliseconds(Int64(keepalive * 1000))
            config.readIdleTimeout = interval
            config.pool.keepaliveInterval = interval
        }
        if let keepaliveTimeout { config.keepaliveTimeout = .milliseconds(Int64(keepaliveTimeout * 1000)) }
    }
}
