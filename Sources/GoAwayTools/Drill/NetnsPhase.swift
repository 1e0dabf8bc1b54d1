import GoAwayKit
import Foundation
import GoAwayCore

#if canImport(Glibc)
import Glibc
#endif

/// One (client mode, phase) of the netns drill: fresh server hosts, DNS (and HAProxy) pointed at
/// them, the client host at load, the phase's steps, then the accounting. An actor: the steps run
/// one after another from one task; `run()` owns the rest.
actor PhaseRun {
    let runner: NetnsDrillRunner
    let topology: NetnsTopology
    let dns: DNSHost
    let serials: NetnsDrillRunner.Serials
    let mode: DrillClientMode
    let phase: DrillPhase
    var network: DrillNetwork { topology.network }

    private struct ServerHost {
        var role: DrillNetwork.Role
        var address: String
        var process: NetnsProcess
    }

    private var slots: [ServerHost] = []
    /// new-addresses: the hosts that replace `slots[i]`, started before the load.
    private var spares: [ServerHost] = []
    /// Every server process of the phase (all generations), with its address.
    private var processes: [(address: String, process: NetnsProcess)] = []
    /// Replaced hosts: their tombstone process and when their drain ended.
    private var retired: [(address: String, process: NetnsProcess)] = []
    private var roles: [DrillNetwork.Role] = []
    private var hosts: [DrillTopologyInfo.Host] = []
    private var balancer: BalancerHost?
    private var startNs: Int64 = 0
    private var net = DrillNetworkPhase()
    private var newHostDNS: [(address: String, replaced: String, atMs: Double)] = []
    private var restartsMs: [Double] = []
    private var kills = 0
    private var partitioned: Int?
    private var stepMarks: [DrillTimeline.Mark] = []
    private var stuck: [String] = []

    init(runner: NetnsDrillRunner, topology: NetnsTopology, dns: DNSHost, serials: NetnsDrillRunner.Serials, mode: DrillClientMode, phase: DrillPhase) {
        self.runner = runner
        self.topology = topology
        self.dns = dns
        self.serials = serials
        self.mode = mode
        self.phase = phase
    }

    func hostsSeen() -> [DrillTopologyInfo.Host] { hosts }

    private func now() -> Double { DrillClock.ms(since: startNs) }

    func run() async throws -> DrillReport.PhaseResult {
        do {
            let result = try await runPhase()
            await cleanUp()
            return result
        } catch {
            await cleanUp()
            throw error
        }
    }

    private func runPhase() async throws -> DrillReport.PhaseResult {
        let plan = runner.plan
        for i in 0..<plan.servers { slots.append(try await newServer(label: "s\(i)", tombstone: phase == .newAddresses)) }
        if phase == .newAddresses {
            // The replacements start (and listen) before the load, as a new pod is ready before the
            // old one is told to go: a step is then only the DNS change and the drain, on time.
            for i in 0..<plan.servers { spares.append(try await newServer(label: "s\(i)", tombstone: true)) }
        }
        let url = "http://\(network.serviceName):\(network.port)"
        if phase == .balancer {
            let lb = try BalancerHost(topology: topology, backends: slots.map(\.address))
            balancer = lb
            try await lb.waitReady()
            try await dns.set([network.address(.balancer)])
            net.dnsChanges.append(DrillDNSChange(atMs: 0, removed: [], added: [network.address(.balancer)]))
        } else {
            try await dns.set(slots.map(\.address))
            net.dnsChanges.append(DrillDNSChange(atMs: 0, removed: [], added: slots.map(\.address)))
        }

        let spec = DrillNode.ClientSpec(
            url: url, mode: mode, phase: phase, concurrency: plan.concurrency,
            durationMs: plan.phaseDuration.nanosecondsClamped / 1_000_000, watchdogMs: runner.watchdog.nanosecondsClamped / 1_000_000)
        let specJSON = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        let client = try topology.spawn(.client, [runner.binary, "drill-node", "client", "--spec", specJSON])
        guard let started = await client.line(startingWith: "S ", timeout: .seconds(20)), let ns = Int64(started.dropFirst(2)) else {
            throw NetnsTopology.CommandFailed(description: "the client host did not start: \(client.stderrLastLine)")
        }
        startNs = ns

        let steps = plan.steps(for: phase)
        let stepsTask = Task {
            for step in steps {
                let wait = step.at.nanosecondsClamped - (DrillClock.nowNs() - ns)
                if wait > 0 { try? await Task.sleep(for: .nanoseconds(wait)) }
                await self.perform(step.action)
            }
        }
        let limit = plan.phaseDuration + runner.watchdog + .seconds(40)
        let resultLine = await client.line(startingWith: "J ", timeout: limit)
        _ = await client.wait(timeout: .seconds(10))
        if await bounded(until: .now + .seconds(40), { await stepsTask.value }) == nil {
            stuck.append("a step (replace, reload, drain, partition...) did not finish within 40 s")
        }
        guard let resultLine, let outcome = try? JSONDecoder().decode(DrillLoad.Result.self, from: Data(resultLine.dropFirst(2).utf8)) else {
            throw NetnsTopology.CommandFailed(description: "the client host gave no result: \(client.stderrLastLine)")
        }
        // What the servers said up to here belongs to the phase; their own shutdown comes next.
        let linesAtEnd = processes.map { $0.process.lines.count }
        await stopAll()
        return account(outcome, linesAtEnd: linesAtEnd)
    }

    // MARK: hosts

    private func newServer(label: String, tombstone: Bool) async throws -> ServerHost {
        let role = DrillNetwork.Role.server(serial: serials.take())
        try await topology.addHost(role)
        roles.append(role)
        hosts.append(.init(namespace: network.namespace(role), role: "server \(label) (\(mode.rawValue) \(phase.rawValue))", address: network.address(role)))
        let process = try await startServer(role, tombstone: tombstone)
        return ServerHost(role: role, address: network.address(role), process: process)
    }

    private func startServer(_ role: DrillNetwork.Role, tombstone: Bool) async throws -> NetnsProcess {
        let plan = runner.plan
        var args = [
            runner.binary, "drill-node", "server", "--address", network.address(role), "--port", String(network.port),
            "--phase", phase.rawValue, "--storm-max-requests", String(plan.stormMaxRequests),
            "--phase-seconds", String(plan.phaseDuration.drillSeconds),
        ]
        if tombstone { args.append("--tombstone") }
        let process = try topology.spawn(role, args)
        guard await process.line(startingWith: "L", timeout: .seconds(15)) != nil else {
            process.signal(SIGKILL)
            throw NetnsTopology.CommandFailed(description: "server host \(network.address(role)) did not start: \(process.stderrLastLine)")
        }
        processes.append((network.address(role), process))
        return process
    }

    // MARK: steps

    private func perform(_ action: DrillStep.Action) async {
        stepMarks.append(DrillTimeline.Mark(atMs: now(), label: action.label))
        do {
            switch action {
            case .replace(let i): try await replace(i)
            case .reloadBalancer: try await reloadBalancer()
            case .drainBackend(let i): try await drainBackend(i)
            case .partition(let i):
                try await topology.partition(slots[i].role)
                partitioned = i
                net.partition = .init(address: slots[i].address, linkDownMs: now(), detectionMs: nil, strandedRequests: 0)
            case .kill(let i):
                slots[i].process.signal(SIGKILL)
                _ = await slots[i].process.wait(timeout: .seconds(5))
                kills += 1
            case .start(let i):
                slots[i].process = try await startServer(slots[i].role, tombstone: false)
            case .restart(let i):
                let began = now()
                await slots[i].process.stop()
                slots[i].process = try await startServer(slots[i].role, tombstone: false)
                restartsMs.append(now() - began)
            }
        } catch {
            stuck.append("step \(action.label) failed: \(error)")
        }
    }

    /// A new host with a new address, DNS switched to it, the old one drained (its tombstone stays).
    private func replace(_ i: Int) async throws {
        let old = slots[i]
        let began = now()
        let new = i < spares.count ? spares[i] : try await newServer(label: "s\(i)", tombstone: true)
        slots[i] = new
        try await dns.set(slots.map(\.address))
        // The record's time: when the client's resolver first answers with it.
        let at = now()
        net.dnsChanges.append(DrillDNSChange(atMs: at, removed: [old.address], added: [new.address]))
        newHostDNS.append((new.address, old.address, at))
        old.process.signal(SIGTERM)
        if await old.process.line(startingWith: "R", timeout: .seconds(15)) == nil {
            stuck.append("server \(old.address) did not finish its drain within 15 s")
        }
        retired.append((old.address, old.process))
        restartsMs.append(now() - began)
    }

    private func reloadBalancer() async throws {
        guard let lb = balancer else { return }
        let before = lb.command("show info\n").flatMap(Self.pid(fromInfo:))
        lb.reload()
        net.balancerReloads += 1
        // The new worker answers the runtime API once it took over (seconds on a loaded machine).
        for _ in 0..<200 {
            try await Task.sleep(for: .milliseconds(50))
            if let pid = lb.command("show info\n").flatMap(Self.pid(fromInfo:)), pid != before { return }
        }
        stuck.append("haproxy reload \(net.balancerReloads): no new worker within 10 s")
    }

    static func pid(fromInfo info: String) -> String? {
        info.split(separator: "\n").first { $0.hasPrefix("Pid:") }.map { String($0.dropFirst(4)).trimmingCharacters(in: .whitespaces) }
    }

    /// Drain backend `i` in HAProxy, wait for its sessions to end, restart its server, put it back.
    private func drainBackend(_ i: Int) async throws {
        guard let lb = balancer else { return }
        _ = lb.command(DrillNetwork.backendStateCommand(server: i, state: "drain"))
        for _ in 0..<40 {
            if lb.sessions(server: i) == 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let began = now()
        await slots[i].process.stop()
        slots[i].process = try await startServer(slots[i].role, tombstone: false)
        restartsMs.append(now() - began)
        _ = lb.command(DrillNetwork.backendStateCommand(server: i, state: "ready"))
        net.backendDrains += 1
    }

    // MARK: end

    private func stopAll() async {
        if let lb = balancer {
            lb.process.signal(SIGTERM)
            if await lb.process.wait(timeout: .seconds(5)) == nil { lb.process.signal(SIGKILL) }
        }
        for (i, slot) in slots.enumerated() {
            if i == partitioned {
                slot.process.signal(SIGKILL)
                _ = await slot.process.wait(timeout: .seconds(5))
            } else {
                // Drained and stopped once it says R (a tombstone would wait for another signal).
                slot.process.signal(SIGTERM)
                _ = await slot.process.line(startingWith: "R", timeout: .seconds(8))
                slot.process.signal(SIGKILL)
                _ = await slot.process.wait(timeout: .seconds(5))
            }
        }
        for (_, process) in retired {
            process.signal(SIGKILL)
            _ = await process.wait(timeout: .seconds(5))
        }
        for (_, process) in processes where process.exitCode == nil { await process.stop(grace: .seconds(3)) }
        // Let the last lines of every pipe arrive.
        for (_, process) in processes { _ = await process.line(startingWith: "\u{0}eof", timeout: .seconds(2)) }
    }

    private func cleanUp() async {
        balancer?.process.signal(SIGKILL)
        for (_, process) in processes { process.signal(SIGKILL) }
        for role in roles { await topology.removeHost(role) }
    }

    private func account(_ outcome: DrillLoad.Result, linesAtEnd: [Int]) -> DrillReport.PhaseResult {
        var processed: [Int: Int] = [:]
        var processedAt: [String: [Double]] = [:]
        var byAddress: [String: Set<Int>] = [:]
        var goawaysByCode: [String: Int] = [:]
        var goawaysByReason: [String: Int] = [:]
        var drains: [Double] = []
        for (k, entry) in processes.enumerated() {
            for (n, line) in entry.process.lines.enumerated() {
                let f = line.split(separator: " ")
                switch f.first {
                case "P" where f.count == 3:
                    guard let id = Int(f[1]), let ns = Int64(f[2]) else { continue }
                    processed[id, default: 0] += 1
                    processedAt[entry.address, default: []].append(Double(ns - startNs) / 1e6)
                    byAddress[entry.address, default: []].insert(id)
                case "G" where f.count == 3 && n < linesAtEnd[k]:
                    goawaysByCode[String(f[1]), default: 0] += 1
                    goawaysByReason[String(f[2]), default: 0] += 1
                case "D" where f.count == 2 && n < linesAtEnd[k]:
                    if let ms = Double(f[1]) { drains.append(ms) }
                default:
                    break
                }
            }
        }
        for (address, process) in retired {
            let all = process.lines
            let end = processes.firstIndex { $0.process === process }.map { linesAtEnd[$0] } ?? all.count
            if let r = all.firstIndex(of: "R") {
                net.retiredAddressConnections += all[r..<min(max(r, end), all.count)].filter { $0 == "T" }.count
            }
            _ = address
        }
        net.newHosts = newHostDNS.map { h in
            .init(
                address: h.address, replaced: h.replaced,
                firstTrafficMs: DrillNetworkPhase.firstTraffic(dnsAtMs: h.atMs, processedAtMs: processedAt[h.address] ?? []), dnsAtMs: h.atMs)
        }
        net.goawaysReceivedByCode = outcome.goAwaysByCode
        net.resentByReason = outcome.timeline.resends.reduce(into: [:]) { $0[$1.label, default: 0] += 1 }
        if var p = net.partition {
            p.detectionMs = DrillNetworkPhase.detection(linkDownMs: p.linkDownMs, address: p.address, lanes: outcome.timeline.lanes)
            p.strandedRequests = (byAddress[p.address] ?? []).intersection(outcome.ledger.unanswered()).count
            net.partition = p
        }

        var result = DrillReport.PhaseResult(
            mode: mode, phase: phase,
            tally: outcome.ledger.tally(processed: processed, resent: outcome.resent, elapsed: .milliseconds(Int64(outcome.elapsedSeconds * 1000))),
            elapsedSeconds: outcome.elapsedSeconds)
        result.goawaysByCode = goawaysByCode
        result.goawaysByReason = goawaysByReason
        result.goawaysReceived = outcome.goAwaysReceived
        result.connectionsOpened = outcome.connectionsOpened
        result.connectionsOpenedAtLoadEnd = outcome.connectionsOpenedAtLoadEnd
        result.drainMs = .init(milliseconds: drains)
        result.restartMs = .init(milliseconds: restartsMs)
        result.hardKills = kills
        result.stuck = outcome.stuck + stuck
        var timeline = outcome.timeline
        timeline.steps = stepMarks
        timeline.losses = outcome.ledger.lossMarks(processed: processed)
        result.timeline = timeline
        result.network = net
        return result
    }
}
