import ArgumentParser
import Foundation
import GoAwayKit
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
    @Option(help: "Comma-separated phases to run, in order.") var phases = "rolling-restart,goaway-storm,max-age,hard-kill"
    @Option(help: "Client modes: both, goawaykit or naive.") var mode = "both"
    @Option(help: "Max requests per connection in the storm phase.") var stormMaxRequests = 100
    @Flag(help: "Print the report as one JSON document.") var json = false

    func validate() throws {
        _ = try makePlan()
    }

    func makePlan() throws -> DrillPlan {
        guard let total = duration.duration else { throw ValidationError("--duration must be positive") }
        var selected: [DrillPhase] = []
        for name in phases.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            guard let phase = DrillPhase(flag: name) else {
                throw ValidationError("unknown phase '\(name)' (rolling-restart, goaway-storm, max-age, hard-kill)")
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
            stormMaxRequests: stormMaxRequests)
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
        let report: DrillReport
        do {
            report = try await DrillRunner(plan: plan).run(progress: progress)
        } catch {
            if tty { FileHandle.standardError.write(Data("\n".utf8)) }
            CLI.fail("drill could not run: \(error)", exitCode: 1)
        }
        if tty { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        print(json ? report.json() : report.renderText())
        let code = report.verdict?.exitCode ?? 1
        if code != 0 { throw ExitCode(code) }
    }
}
