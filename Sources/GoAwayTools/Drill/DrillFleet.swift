import GoAwayKit
import GoAwayCore
import HTTPTypes
import NIOCore
import NIOPosix
import Synchronization

/// The servers of one drill phase: `HTTP2Server`s on loopback that the drill restarts, kills and
/// starts again on the same port (SO_REUSEADDR), and what they reported while it did.
///
/// An actor: steps run one at a time from the phase's schedule task; event consumers and
/// handlers only touch the lock-guarded boxes.
actor DrillFleet {
    private struct Slot {
        var port: Int
        var server: HTTP2Server?
        var run: Task<Void, Never>?
        var events: Task<Void, Never>?
    }

    let policy: ServerConnectionPolicy
    let registry: DrillProcessedRegistry
    let observations = DrillFleetObservations()
    private let group: any EventLoopGroup
    private var slots: [Slot] = []

    init(policy: ServerConnectionPolicy, registry: DrillProcessedRegistry, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.policy = policy
        self.registry = registry
        self.group = group
    }

    /// Starts `count` servers on free ports; returns the ports.
    func start(count: Int) async throws -> [Int] {
        for _ in 0..<count {
            slots.append(try await launch(port: 0))
        }
        return slots.map(\.port)
    }

    func perform(_ action: DrillStep.Action) async throws {
        switch action {
        case .restart(let i):
            let began = ContinuousClock.now
            await stopGracefully(i)
            slots[i] = try await launch(port: slots[i].port)
            observations.box.withLock { $0.restartsMs.append((ContinuousClock.now - began).drillSeconds * 1000) }
        case .kill(let i):
            guard let server = slots[i].server else { return }
            server.terminateAbruptly()
            await slots[i].run?.value
            await slots[i].events?.value
            slots[i].server = nil
            observations.box.withLock { $0.kills += 1 }
        case .start(let i):
            guard slots[i].server == nil else { return }
            slots[i] = try await launch(port: slots[i].port)
        case .replace, .reloadBalancer, .drainBackend, .partition:
            // netns steps (NetnsDrill); the plan never gives them to a loopback fleet.
            break
        }
    }

    /// Drains and stops every server.
    func stop() async {
        for i in slots.indices { await stopGracefully(i) }
    }

    private func stopGracefully(_ i: Int) async {
        guard let server = slots[i].server else { return }
        server.shutdownGracefully()
        await slots[i].run?.value
        await slots[i].events?.value
        slots[i].server = nil
    }

    private func launch(port: Int) async throws -> Slot {
        let configuration = HTTP2Server.Configuration(host: "127.0.0.1", port: port, connection: policy)
        // The old listener is closed once its run() returned, but the kernel may lag a moment.
        var attempt = 0
        while true {
            let server = HTTP2Server(configuration: configuration, eventLoopGroup: group, handler: Self.handler(registry))
            let events = server.events
            let observations = self.observations
            let eventsTask = Task { for await event in events { observations.record(event) } }
            let runTask = Task { _ = try? await server.run() }
            do {
                let bound = try await server.port
                return Slot(port: bound, server: server, run: runTask, events: eventsTask)
            } catch {
                await runTask.value
                await eventsTask.value
                attempt += 1
                guard attempt < 20 else { throw error }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    /// `DemoHandler`, plus: count the request id (header `x-drill-id`) as processed before any
    /// work, and echo the id back so the client can tell its own response.
    static func handler(_ registry: DrillProcessedRegistry) -> HTTP2Server.Handler {
        handler(processed: { registry.processed($0) })
    }

    /// The same, reporting each processed id to `processed` (the netns server host writes it out).
    static func handler(processed: @escaping @Sendable (Int) -> Void) -> HTTP2Server.Handler {
        let demo = DemoHandler(serverName: "goaway-drill")
        return { request, body, context in
            let raw = request.headerFields[.drillID]
            if let raw, let id = Int(raw) { processed(id) }
            var body = body
            if request.method == .post, request.path?.hasPrefix("/delay/") == true {
                // The demo's delay route ignores bodies: read it so the upload completes.
                _ = try await body.collect(upTo: 1 << 20)
                body = .empty
            }
            var response = try await demo.handle(request, body, context)
            if let raw { response.head.headerFields[.drillID] = raw }
            return response
        }
    }
}

extension HTTPField.Name {
    /// The drill's request id, sent by the client and echoed by the fleet.
    static let drillID = HTTPField.Name("x-drill-id")!
}

/// How often each request id reached a handler, across the whole fleet of one phase.
final class DrillProcessedRegistry: Sendable {
    private let counts = Mutex<[Int: Int]>([:])
    func processed(_ id: Int) { counts.withLock { $0[id, default: 0] += 1 } }
    var snapshot: [Int: Int] { counts.withLock { $0 } }
}

/// What the fleet's servers reported: GOAWAYs, drains, restarts, kills.
final class DrillFleetObservations: Sendable {
    struct Values: Sendable {
        var goawaysByCode: [String: Int] = [:]
        var goawaysByReason: [String: Int] = [:]
        var drainsMs: [Double] = []
        var restartsMs: [Double] = []
        var kills = 0
    }
    let box = Mutex(Values())

    func record(_ event: ServerEvent) {
        switch event {
        case .goAwaySent(_, _, let code, let reason, _):
            box.withLock { v in
                v.goawaysByCode[code.name ?? code.hex, default: 0] += 1
                v.goawaysByReason[reason.rawValue, default: 0] += 1
            }
        case .connectionClosed(_, _, let drain?):
            box.withLock { $0.drainsMs.append(drain.drillSeconds * 1000) }
        default:
            break
        }
    }

    var snapshot: Values { box.withLock { $0 } }
}
