import ArgumentParser
import Foundation
import GoAwayKit
import GoAwayTools
#if canImport(Glibc)
import Glibc
#endif

struct DrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Prove zero lost requests: a fleet on loopback restarts, storms GOAWAYs, rotates and crashes under load.",
        discussion: """
            Starts 3 HTTP/2 servers on loopback and drives the pooled client at steady load (GET and POST with bodies) \
            through four phases: rolling graceful restarts, a GOAWAY storm (max requests per connection), max-age \
            rotation, and one server killed without GOAWAY. Then the same with re-sending off (naive). Every request \
            is checked against what the servers saw. Exits 1 when the GoAwayKit client lost a request (silently, or \
            by failing one that was unprocessed or idempotent); the naive client's losses are the comparison.
            Phases: rolling-restart (restart), goaway-storm (storm), max-age, hard-kill (kill).
            """
    )

    @Option(help: "Load time per client mode, split over the phases (30, 20s, 1m).") var duration = DurationArgument(argument: "20s")!
    @Option(name: [.customShort("c"), .long], help: "Requests in flight at once.") var concurrency = 32
    @Option(name: [.long, .customLong("servers")], help: "Servers in the fleet.") var endpoints = 3
    @Option(help: "Comma-separated phases to run, in order (default: the topology's; netns: new-addresses,haproxy,partition,hard-kill).")
    var phases = ""
    private var phasesGiven: Bool { !phases.trimmingCharacters(in: .whitespaces).isEmpty }
    @Option(help: "Client modes: both, goawaykit or naive.") var mode = "both"
    @Option(help: "Max requests per connection in the storm phase.") var stormMaxRequests = 100
    @Option(help: "loopback (default: servers on 127.0.0.1) or netns (root: hosts in network namespaces, HAProxy, dnsmasq).")
    var topology = "loopback"
    @Flag(help: "Print the report as one JSON document.") var json = false
    @Option(help: "Also write the report as one self-contained HTML file with a timeline (FILE.html).") var report: String?

    func validate() throws {
        _ = try makePlan()
    }

    func makePlan() throws -> DrillPlan {
        guard let topology = DrillTopology(rawValue: topology.lowercased()) else {
            throw ValidationError("--topology must be loopback or netns")
        }
        guard let total = duration.duration else { throw ValidationError("--duration must be positive") }
        var selected: [DrillPhase] = []
        let names = phasesGiven ? phases : topology.defaultPhases.map(\.rawValue).joined(separator: ",")
        for name in names.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let phase = DrillPhase(flag: name) else {
                throw ValidationError("unknown phase '\(name)' (\(topology.supportedPhases.map(\.rawValue).joined(separator: ", ")))")
            }
            selected.append(phase)
        }
        let modes: [DrillClientMode]
        switch mode.lowercased() {
        case "both": modes = [.goAwayKit, .naive]
        case "goawaykit": modes = [.goAwayKit]
        case "naive": modes = [.naive]
        default: throw ValidationError("--mode must be both, goawaykit or naive")
        }
        let plan = DrillPlan(
            duration: total, concurrency: concurrency, servers: endpoints, phases: selected, modes: modes,
            stormMaxRequests: stormMaxRequests, topology: topology)
        if let report, report.isEmpty { throw ValidationError("--report needs a file name") }
        do {
            try plan.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        return plan
    }

    func run() async throws {
        let plan = try makePlan()
        let tty = isatty(2) == 1
        var progress: (@Sendable (DrillProgress) -> Void)?
        if tty {
            progress = { (p: DrillProgress) in
                FileHandle.standardError.write(Data(("\r\u{1B}[K" + p.statusLine).utf8))
            }
        }
        if let file = self.report, !FileManager.default.isWritableFile(atPath: URL(fileURLWithPath: file).deletingLastPathComponent().path) {
            CLI.fail("--report \(file): the folder is not writable", exitCode: 2)
        }
        let report: DrillReport
        do {
            switch plan.topology {
            case .loopback:
                report = try await DrillRunner(plan: plan).run(progress: progress)
            case .netns:
                if let reason = NetnsDrillRunner.preflight() { CLI.fail(reason, exitCode: 2) }
                var phaseLine: (@Sendable (String) -> Void)?
                if tty {
                    phaseLine = { (phase: String) in FileHandle.standardError.write(Data(("\r\u{1B}[K" + phase).utf8)) }
                }
                report = try await NetnsDrillRunner(plan: plan).run(progress: phaseLine)
            }
        } catch {
            if tty { FileHandle.standardError.write(Data("\n".utf8)) }
            CLI.fail("drill could not run: \(error)", exitCode: 1)
        }
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        if let file = self.report {
            do {
                try report.renderHTML().write(toFile: file, atomically: true, encoding: .utf8)
            } catch {
                CLI.fail("--report \(file): cannot write it (\((error as NSError).localizedDescription))", exitCode: 1)
            }
        }
        print(json ? report.json() : report.renderText())
        let code = report.verdict?.exitCode ?? 1
        if code != 0 { throw ExitCode(code) }
    }
}

/// `goaway drill-node server|client`: the programs the netns drill runs inside its namespaces.
/// Hidden: not for people (see `DrillNode`).
struct DrillNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill-node", abstract: "Internal: a host of goaway drill --topology netns.", shouldDisplay: false)

    @Argument var role: String
    @Option var address = "127.0.0.1"
    @Option var port = 8080
    @Option var phase = "rolling-restart"
    @Option var stormMaxRequests = 100
    @Option var phaseSeconds = 5.0
    @Flag var tombstone = false
    @Option var spec = ""

    func run() async throws {
        let code: Int32
        switch role {
        case "server":
            guard let phase = DrillPhase(flag: phase) else { CLI.fail("unknown phase \(phase)") }
            code = await DrillNode.runServer(
                address: address, port: port, phase: phase, stormMaxRequests: stormMaxRequests, phaseSeconds: phaseSeconds, tombstone: tombstone)
        case "client":
            code = await DrillNode.runClient(spec: spec)
        default:
            CLI.fail("drill-node role must be server or client")
        }
        if code != 0 { throw ExitCode(code) }
    }
}
