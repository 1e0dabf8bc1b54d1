import GoAwayKit
import Foundation
import GoAwayCore
import HTTPTypes
import Logging
import NIOCore
import Synchronization

/// Runs `goaway drill`: for each client mode and phase of a `DrillPlan`, a fresh fleet of
/// `HTTP2Server`s on loopback, a fresh `HTTP2Client` at steady load, and the phase's steps
/// (restarts, kill) at their times. Every request's fate is decided by `DrillFate` from what the
/// client said and what the servers saw.
///
/// ```swift
/// let report = try await DrillRunner(plan: .defaults).run { print($0.statusLine) }
/// print(report.renderText())
/// exit(report.verdict!.exitCode)
/// ```
package struct DrillRunner: Sendable {
    package var plan: DrillPlan
    /// No answer this long after the phase's load ended: the request counts as lost silently.
    package var watchdog: Duration = .seconds(20)
    package var logger: Logger

    package init(plan: DrillPlan = .defaults, logger: Logger = Logger(label: "goaway.drill", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.plan = plan
        self.logger = logger
    }

    /// Runs every (mode, phase); `progress` gets a snapshot about four times a second.
    package func run(progress: (@Sendable (DrillProgress) -> Void)? = nil) async throws -> DrillReport {
        try plan.validate()
        var report = DrillReport(settings: .init(plan))
        for mode in plan.modes {
            for phase in plan.phases {
                report.phases.append(try await runPhase(mode: mode, phase: phase, progress: progress))
            }
        }
        report.conclude()
        return report
    }

    func runPhase(mode: DrillClientMode, phase: DrillPhase, progress: (@Sendable (DrillProgress) -> Void)?) async throws -> DrillReport.PhaseResult {
        let registry = DrillProcessedRegistry()
        let fleet = DrillFleet(policy: plan.connectionPolicy(for: phase), registry: registry)
        let ports: [Int]
        do {
            ports = try await fleet.start(count: plan.servers)
        } catch {
            await fleet.stop()
            throw error
        }
        logger.debug("phase started", metadata: ["goaway.mode": "\(mode.rawValue)", "goaway.phase": "\(phase.rawValue)", "goaway.ports": "\(ports)"])

        let client: HTTP2Client
        do {
            client = try HTTP2Client(endpoints: ports.map { "http://127.0.0.1:\($0)" }, configuration: Self.clientConfiguration(mode), logger: logger)
        } catch {
            await fleet.stop()
            throw error
        }

        let start = ContinuousClock.now
        let load = DrillLoad(client: client, concurrency: plan.concurrency, duration: plan.phaseDuration, watchdog: watchdog)
        let steps = plan.steps(for: phase)
        let logger = self.logger

        let stepsTask = Task {
            for step in steps {
                try? await Task.sleep(until: start + step.at, clock: .continuous)
                load.mark(step.action.label)
                do {
                    try await fleet.perform(step.action)
                } catch {
                    logger.error("drill step failed", metadata: ["goaway.step": "\(step.action)", "goaway.error": "\(error)"])
                }
            }
        }
        let progressTask: Task<Void, Never>? = progress.map { report in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(250))
                    let c = load.progress
                    report(DrillProgress(mode: mode, phase: phase, elapsed: ContinuousClock.now - start, ok: c.ok, failed: c.failed, resent: client.stats.resentTotal))
                }
            }
        }

        await load.drive()
        // Everything below is bounded too: a restart, shutdown or stop that never ends is reported.
        var stuck: [String] = []
        if await bounded(until: ContinuousClock.now + .seconds(30), { await stepsTask.value }) == nil {
            stuck.append("a fleet step (restart, kill or start) did not finish within 30 s")
        }
        progressTask?.cancel()

        // Before the client's and the fleet's own shutdown add GOAWAYs that are not the phase's.
        let seen = fleet.observations.snapshot
        let outcome = await load.finish(stuck: stuck)
        stuck = outcome.stuck
        if await bounded(until: ContinuousClock.now + .seconds(30), { await fleet.stop() }) == nil {
            stuck.append("the fleet did not stop within 30 s")
        }

        let processed = registry.snapshot
        var result = DrillReport.PhaseResult(
            mode: mode, phase: phase,
            tally: outcome.ledger.tally(processed: processed, resent: outcome.resent, elapsed: .milliseconds(Int64(outcome.elapsedSeconds * 1000))),
            elapsedSeconds: outcome.elapsedSeconds)
        result.goawaysByCode = seen.goawaysByCode
        result.goawaysByReason = seen.goawaysByReason
        result.goawaysReceived = outcome.goAwaysReceived
        result.connectionsOpened = outcome.connectionsOpened
        result.connectionsOpenedAtLoadEnd = outcome.connectionsOpenedAtLoadEnd
        result.drainMs = .init(milliseconds: seen.drainsMs)
        result.restartMs = .init(milliseconds: seen.restartsMs)
        result.hardKills = seen.kills
        result.stuck = stuck
        var timeline = outcome.timeline
        timeline.losses = outcome.ledger.lossMarks(processed: processed)
        result.timeline = timeline
        return result
    }

    /// The client under test: re-sending on for GoAwayKit, off for the naive comparison.
    static func clientConfiguration(_ mode: DrillClientMode) -> HTTP2ClientConfiguration {
        var config = HTTP2ClientConfiguration()
        config.pool.retry.enabled = mode == .goAwayKit
        // A warm connection to every server, so the load (and every restart, kill and rotation)
        // spreads over the whole fleet; without it 32 streams fit on one connection to one server.
        config.pool.minConnectionsPerEndpoint = 1
        config.requestTimeout = .seconds(10)
        config.connectTimeout = .seconds(2)
        return config
    }
}

extension DrillFailure {
    /// The client's typed error, reduced: `notProcessed` and `connectionFailed` mean the request
    /// never reached a server's application.
    init(_ error: any Error) {
        guard let e = error as? HTTP2ClientError else {
            self.init(code: "other", provablyUnprocessed: false)
            return
        }
        self.init(
            code: e.code.description, provablyUnprocessed: e.code == .notProcessed || e.code == .connectionFailed,
            afterResponseBegan: e.code == .responseIncomplete || e.code == .streamReset)
    }
}

extension DrillReport {
    /// One JSON document (`goaway drill --json`): snake_case keys, sorted.
    package func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
