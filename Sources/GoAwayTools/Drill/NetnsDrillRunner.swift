import GoAwayKit
import Foundation
import GoAwayCore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `goaway drill --topology netns`: the drill on real hosts. Builds the namespaces
/// (`NetnsTopology`), runs dnsmasq for `fleet.test`, and per (client mode, phase) starts fresh
/// server hosts (`goaway drill-node server`), HAProxy when the phase needs it, and the client host
/// (`goaway drill-node client`, `HTTP2Client` on `http://fleet.test:8080`). The phase's steps
/// (`DrillPlan.steps`) run here; the fates are decided by `DrillFate` from the client's ledger and
/// the ids the servers reported, as on loopback.
package struct NetnsDrillRunner: Sendable {
    package var plan: DrillPlan
    /// The `goaway` executable the namespaces run (this one, by default).
    package var binary: String
    package var watchdog: Duration = .seconds(20)

    package init(plan: DrillPlan, binary: String = NetnsDrillRunner.currentExecutable) {
        self.plan = plan
        self.binary = binary
    }

    package static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The one-line reason this machine cannot run it (not root, a missing package), or nil.
    package static func preflight() -> String? { NetnsTopology.preflight() }

    /// The client of the netns drill: as on loopback, except that the partition phase tightens the
    /// dead-peer health check (a PING after 1 s without a frame while streams are open, 1 s for its
    /// ack; defaults 30 s and 20 s) so the detection fits in a drill phase.
    static func clientConfiguration(_ mode: DrillClientMode, phase: DrillPhase) -> HTTP2ClientConfiguration {
        var config = DrillRunner.clientConfiguration(mode)
        if phase == .partition {
            config.readIdleTimeout = .seconds(1)
            config.keepaliveTimeout = .seconds(1)
        }
        return config
    }

    package func run(progress: (@Sendable (String) -> Void)? = nil) async throws -> DrillReport {
        try plan.validate()
        await NetnsTopology.removeStale()
        let network = DrillNetwork(pid: getpid())
        let topology = NetnsTopology(network: network)
        NetnsInterrupt.install(topology)
        defer { NetnsInterrupt.clear() }
        do {
            let report = try await run(topology, progress: progress)
            await topology.teardown()
            return report
        } catch {
            // Interrupted: the signal handler is tearing down and exits 130; do not race it.
            if NetnsInterrupt.interrupted { try? await Task.sleep(for: .seconds(60)) }
            await topology.teardown()
            throw error
        }
    }

    private func run(_ topology: NetnsTopology, progress: (@Sendable (String) -> Void)?) async throws -> DrillReport {
        let network = topology.network
        try await topology.setUp()
        var info = DrillTopologyInfo(
            serviceName: network.serviceName, port: network.port,
            haproxyVersion: await NetnsTopology.version("haproxy"), dnsmasqVersion: await NetnsTopology.version("dnsmasq"))
        info.hosts = [
            .init(namespace: network.switchNamespace, role: "bridge br0", address: "-"),
            .init(namespace: network.namespace(.client), role: "client (HTTP2Client)", address: network.address(.client)),
            .init(namespace: network.namespace(.balancer), role: "HAProxy (h2 → h2)", address: network.address(.balancer)),
            .init(namespace: network.namespace(.dns), role: "dnsmasq (\(network.serviceName))", address: network.address(.dns)),
        ]
        let dns = try DNSHost(topology: topology)
        defer { dns.process.signal(SIGKILL) }
        try await dns.waitReady()

        var report = DrillReport(settings: .init(plan))
        let serials = Serials()
        for mode in plan.modes {
            for phase in plan.phases {
                progress?("\(mode.rawValue) \(phase.rawValue)")
                let phaseRun = PhaseRun(runner: self, topology: topology, dns: dns, serials: serials, mode: mode, phase: phase)
                let result = try await phaseRun.run()
                for host in await phaseRun.hostsSeen() where !info.hosts.contains(where: { $0.namespace == host.namespace }) {
                    info.hosts.append(host)
                }
                report.phases.append(result)
            }
        }
        report.topology = info
        report.conclude()
        return report
    }

    final class Serials: Sendable {
        private let next = Mutex(0)
        func take() -> Int {
            next.withLock { n in
                defer { n += 1 }
                return n
            }
        }
    }
}

/// dnsmasq in the DNS host, serving `fleet.test` from a hosts file it re-reads on SIGHUP.
final class DNSHost: Sendable {
    let process: NetnsProcess
    let hostsFile: String
    let network: DrillNetwork

    init(topology: NetnsTopology) throws {
        network = topology.network
        hostsFile = topology.runDirectory + "/hosts"
        let config = topology.runDirectory + "/dnsmasq.conf"
        try "".write(toFile: hostsFile, atomically: true, encoding: .utf8)
        try network.dnsmasqConfig(hostsFile: hostsFile).write(toFile: config, atomically: true, encoding: .utf8)
        process = try topology.spawn(.dns, [NetnsTopology.executable("dnsmasq") ?? "dnsmasq", "-k", "-C", config])
    }

    func waitReady() async throws {
        // dnsmasq prints nothing on success; it is up when it is still running a moment later.
        if let code = await process.wait(timeout: .milliseconds(300)) {
            throw NetnsTopology.CommandFailed(description: "dnsmasq exited (\(code)): \(process.stderrLastLine)")
        }
    }

    /// Serves exactly `addresses` for the name from now on: returns once the client host's
    /// resolver answers with them (dnsmasq re-reads its hosts file on SIGHUP, asynchronously).
    func set(_ addresses: [String]) async throws {
        let tmp = hostsFile + ".new"
        try network.hostsFile(addresses: addresses).write(toFile: tmp, atomically: false, encoding: .utf8)
        rename(tmp, hostsFile)
        process.signal(SIGHUP)
        let ip = NetnsTopology.executable("ip") ?? "ip"
        for _ in 0..<100 {
            let answer = try? await NetnsTopology.run([ip, "netns", "exec", network.namespace(.client), "getent", "ahostsv4", network.serviceName], timeout: .seconds(5))
            let seen = Set((answer ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
            if seen == Set(addresses) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw NetnsTopology.CommandFailed(description: "dnsmasq did not serve \(network.serviceName) = \(addresses.joined(separator: ", ")) within 2 s")
    }
}

/// HAProxy in master-worker mode in the LB host.
final class BalancerHost: Sendable {
    let process: NetnsProcess
    let socket: String

    init(topology: NetnsTopology, backends: [String]) throws {
        socket = topology.runDirectory + "/haproxy.sock"
        let config = topology.runDirectory + "/haproxy.cfg"
        try topology.network.haproxyConfig(backends: backends, adminSocket: socket).write(toFile: config, atomically: true, encoding: .utf8)
        process = try topology.spawn(.balancer, [NetnsTopology.executable("haproxy") ?? "haproxy", "-W", "-db", "-f", config])
    }

    /// Up when its runtime API answers.
    func waitReady() async throws {
        for _ in 0..<100 {
            if let code = process.exitCode {
                throw NetnsTopology.CommandFailed(description: "haproxy exited (\(code)): \(process.stderrLastLine)")
            }
            if NetnsTopology.adminCommand(socket, "show info\n")?.contains("Name: HAProxy") == true { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw NetnsTopology.CommandFailed(description: "haproxy did not come up within 5 s: \(process.stderrLastLine)")
    }

    /// Master-worker reload: a new worker takes the listener, the old one finishes its connections.
    func reload() { process.signal(SIGUSR2) }

    func command(_ line: String) -> String? { NetnsTopology.adminCommand(socket, line) }

    /// Current sessions on backend server `i` (`show stat`'s scur), nil when unknown.
    func sessions(server i: Int) -> Int? {
        guard let stat = command("show stat\n") else { return nil }
        for line in stat.split(separator: "\n") {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            if f.count > 4, f[0] == "servers", f[1] == "s\(i)" { return Int(f[4]) }
        }
        return nil
    }
}
