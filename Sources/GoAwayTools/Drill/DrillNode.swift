import GoAwayKit
import Foundation
import GoAwayCore
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The two programs the netns drill runs inside its namespaces (`goaway drill-node …`, hidden):
/// a server host and the client host. Both talk to the orchestrator through stdout lines:
///
/// | line            | from   | meaning                                                        |
/// |-----------------|--------|----------------------------------------------------------------|
/// | `L`             | server | listening                                                       |
/// | `P <id> <ns>`   | server | request `id` reached the handler at monotonic time `ns`         |
/// | `G <code> <why>`| server | a GOAWAY went out                                               |
/// | `D <ms>`        | server | a connection's drain took `ms`                                  |
/// | `R`             | server | drained and stopped after SIGTERM; a tombstone listens from now |
/// | `T`             | server | the tombstone took a connection: someone used a retired address |
/// | `S <ns>`        | client | the load started at monotonic time `ns`                         |
/// | `p <ok> <failed> <resent>` | client | progress                                             |
/// | `J <json>`      | client | the result (`DrillLoad.Result`), last                           |
package enum DrillNode {
    /// One write(2) per line (short lines to a pipe are atomic), so a SIGKILL loses no whole line
    /// and a request id is out before its response is.
    static func emit(_ line: String) {
        var bytes = Array((line + "\n").utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + off, $0.count - off) }
            if n <= 0 { return }
            off += n
        }
    }

    /// A server host: `HTTP2Server` with the drill's handler on `address:port`, the phase's
    /// connection policy. SIGTERM drains it; with `tombstone`, a plain TCP listener then stays on
    /// the retired address and reports every connection it gets (until SIGTERM again).
    package static func runServer(address: String, port: Int, phase: DrillPhase, stormMaxRequests: Int, phaseSeconds: Double, tombstone: Bool) async -> Int32 {
        let plan = DrillPlan(duration: .milliseconds(Int64(phaseSeconds * 1000)), phases: [phase], stormMaxRequests: stormMaxRequests, topology: .netns)
        var configuration = HTTP2Server.Configuration(host: address, port: port, connection: plan.connectionPolicy(for: phase))
        configuration.backlog = 1024
        let server = HTTP2Server(configuration: configuration, handler: DrillFleet.handler(processed: { id in emit("P \(id) \(DrillClock.nowNs())") }))
        let events = server.events
        let eventsTask = Task {
            for await event in events {
                switch event {
                case .goAwaySent(_, _, let code, let reason, _): emit("G \(code.name ?? code.hex) \(reason.rawValue)")
                case .connectionClosed(_, _, let drain?): emit("D \(Int(drain.drillSeconds * 1000))")
                case .listening: emit("L")
                default: break
                }
            }
        }
        let terms = SignalWaiter(SIGTERM)
        let run = Task { try await server.run() }
        do {
            _ = try await server.port
        } catch {
            FileHandle.standardError.write(Data("goaway drill-node: cannot listen on \(address):\(port): \(error)\n".utf8))
            return 1
        }
        await terms.next()
        server.shutdownGracefully()
        _ = try? await run.value
        await eventsTask.value
        emit("R")
        guard tombstone else { return 0 }
        let channel = try? await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                emit("T")
                return channel.close()
            }
            .bind(host: address, port: port).get()
        await terms.next()
        try? await channel?.close()
        return 0
    }

    /// What the orchestrator tells the client host (JSON in `--spec`).
    package struct ClientSpec: Sendable, Codable {
        package var url: String
        package var mode: DrillClientMode
        package var phase: DrillPhase
        package var concurrency: Int
        package var durationMs: Int64
        package var watchdogMs: Int64
    }

    /// The client host: `HTTP2Client` on the spec's URL at steady load, then one result line.
    package static func runClient(spec json: String) async -> Int32 {
        guard let spec = try? JSONDecoder().decode(ClientSpec.self, from: Data(json.utf8)) else {
            FileHandle.standardError.write(Data("goaway drill-node: bad --spec\n".utf8))
            return 2
        }
        let client: HTTP2Client
        do {
            client = try HTTP2Client(endpoints: [spec.url], configuration: NetnsDrillRunner.clientConfiguration(spec.mode, phase: spec.phase))
        } catch {
            FileHandle.standardError.write(Data("goaway drill-node: \(error)\n".utf8))
            return 1
        }
        let load = DrillLoad(
            client: client, concurrency: spec.concurrency, duration: .milliseconds(spec.durationMs), watchdog: .milliseconds(spec.watchdogMs))
        emit("S \(load.startNs)")
        let progress = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                let p = load.progress
                emit("p \(p.ok) \(p.failed) \(client.stats.resentTotal)")
            }
        }
        await load.drive()
        progress.cancel()
        let result = await load.finish()
        let encoder = JSONEncoder()
        guard let data = try? encoder.encode(result) else { return 1 }
        emit("J " + String(decoding: data, as: UTF8.self))
        return 0
    }
}

/// Waits for a signal, any number of times (the default action is turned off). Each `next()`
/// takes one delivery; deliveries before the wait are kept.
final class SignalWaiter: Sendable {
    private final class Box: Sendable {
        let state = Mutex<(pending: Int, waiter: CheckedContinuation<Void, Never>?)>((0, nil))
    }
    private let box: Box
    /// Kept alive for as long as the waiter (a Mutex: DispatchSource is not Sendable).
    private let source: Mutex<(any DispatchSourceSignal)?>

    init(_ sig: Int32) {
        signal(sig, SIG_IGN)
        let box = Box()
        self.box = box
        let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        s.setEventHandler {
            let waiter = box.state.withLock { st -> CheckedContinuation<Void, Never>? in
                if let w = st.waiter {
                    st.waiter = nil
                    return w
                }
                st.pending += 1
                return nil
            }
            waiter?.resume()
        }
        s.resume()
        source = Mutex(s)
    }

    func next() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let ready = box.state.withLock { st -> Bool in
                if st.pending > 0 {
                    st.pending -= 1
                    return true
                }
                st.waiter = c
                return false
            }
            if ready { c.resume() }
        }
    }
}
