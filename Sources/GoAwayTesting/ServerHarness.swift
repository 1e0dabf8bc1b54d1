import GoAwayKit
import GoAwayTools
import NIOCore

/// Runs an `HTTP2Server` for the duration of `body`, on a free loopback port.
/// The server is cancelled (connections closed) if `body` returns without having stopped it.
public func withTestServer<T: Sendable>(
    _ configuration: HTTP2Server.Configuration = .init(),
    handler: @escaping HTTP2Server.Handler = DemoHandler().handle,
    _ body: (HTTP2Server, Int) async throws -> T
) async throws -> T {
    var configuration = configuration
    configuration.port = 0
    let server = HTTP2Server(configuration: configuration, handler: handler)
    let runTask = Task { try await server.run() }
    do {
        let port = try await server.port
        let result = try await body(server, port)
        runTask.cancel()
        _ = await runTask.result
        return result
    } catch {
        runTask.cancel()
        _ = await runTask.result
        throw error
    }
}

/// Collects a server's events while the test runs.
public final class EventRecorder: Sendable {
    private let task: Task<[ServerEvent], Never>
    /// Starts collecting `server`'s events (read them with `events` once it stopped).
    public init(_ server: HTTP2Server) {
        let events = server.events
        task = Task {
            var all: [ServerEvent] = []
            for await e in events { all.append(e) }
            return all
        }
    }
    /// All events, once the server's event stream finished (after `run()` returned).
    public var events: [ServerEvent] { get async { await task.value } }
}
