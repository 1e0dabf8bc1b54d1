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
public struct DrillRunner: Sendable {
    public var plan: DrillPlan
    /// No answer this long after the phase's load ended: the request counts as lost silently.
    public var watchdog: Duration = .seconds(20)
    public var logger: Logger

    public init(plan: DrillPlan = .defaults, logger: Logger = Logger(label: "goaway.drill", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.plan = plan
        self.logger = logger
    }

    /// Runs every (mode, phase); `progress` gets a snapshot about four times a second.
    public func run(progress: (@Sendable (DrillProgress) -> Void)? = nil) async throws -> DrillReport {
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

    private final class Shared: Sendable {
        let ledger = Mutex(DrillLedger())
        let counts = Mutex((issued: 0, ok: 0, failed: 0))

        func record(id: Int, kind: DrillRequestKind, _ answer: Answer) {
            ledger.withLock { $0.record(id: id, idempotent: kind.idempotent, outcome: answer.outcome, latencyNanoseconds: answer.latency) }
            counts.withLock { c in
                if case .response = answer.outcome { c.ok += 1 } else { c.failed += 1 }
            }
        }
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

        var config = HTTP2ClientConfiguration()
        config.pool.retry.enabled = mode == .goAwayKit
        // A warm connection to every server, so the load (and every restart, kill and rotation)
        // spreads over the whole fleet; without it 32 streams fit on one connection to one server.
        config.pool.minConnectionsPerEndpoint = 1
        config.requestTimeout = .seconds(10)
        config.connectTimeout = .seconds(2)
        let client: HTTP2Client
        do {
            client = try HTTP2Client(endpoints: ports.map { "http://127.0.0.1:\($0)" }, configuration: config, logger: logger)
        } catch {
            await fleet.stop()
            throw error
        }

        let shared = Shared()
        let start = ContinuousClock.now
        let deadline = start + plan.phaseDuration
        let steps = plan.steps(for: phase)
        let logger = self.logger

        let stepsTask = Task {
            for step in steps {
                try? await Task.sleep(until: start + step.at, clock: .continuous)
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
                    let c = shared.counts.withLock { $0 }
                    report(DrillProgress(mode: mode, phase: phase, elapsed: ContinuousClock.now - start, ok: c.ok, failed: c.failed, resent: client.stats.resentTotal))
                }
            }
        }

        let concurrency = plan.concurrency
        let inFlight = InFlightRequests<Answer>()
        let watchdogTask = Task { [watchdog] in
            try await Task.sleep(until: deadline + watchdog, clock: .continuous)
            inFlight.fire(Answer(outcome: .hung, latency: nil))
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        let id = shared.counts.withLock { c -> Int in
                            defer { c.issued += 1 }
                            return c.issued
                        }
                        let kind = DrillRequestKind.forRequest(id)
                        let answer = await inFlight.run(id: id) { await Self.issue(id: id, kind: kind, client: client) }
                        shared.record(id: id, kind: kind, answer)
                    }
                }
            }
        }
        watchdogTask.cancel()
        let elapsed = ContinuousClock.now - start
        // Everything below is bounded too: a restart, shutdown or stop that never ends is reported.
        var stuck: [String] = []
        if await bounded(until: ContinuousClock.now + .seconds(30), { await stepsTask.value }) == nil {
            stuck.append("a fleet step (restart, kill or start) did not finish within 30 s")
        }
        progressTask?.cancel()

        // Before the client's and the fleet's own shutdown add GOAWAYs that are not the phase's.
        let stats = client.stats
        let seen = fleet.observations.snapshot
        if await bounded(until: ContinuousClock.now + .seconds(20), { await client.shutdown() }) == nil {
            stuck.append("the client's shutdown did not return within 20 s")
        }
        if await bounded(until: ContinuousClock.now + .seconds(30), { await fleet.stop() }) == nil {
            stuck.append("the fleet did not stop within 30 s")
        }

        let issued = shared.counts.withLock { $0.issued }
        let ledger = shared.ledger.withLock { ledger in
            // Defence in depth: an id issued but never recorded is a request nobody answered.
            for id in 0..<issued where !ledger.contains(id) {
                ledger.record(id: id, idempotent: DrillRequestKind.forRequest(id).idempotent, outcome: .hung)
            }
            return ledger
        }
        var result = DrillReport.PhaseResult(
            mode: mode, phase: phase,
            tally: ledger.tally(processed: registry.snapshot, resent: stats.resentTotal, elapsed: elapsed),
            elapsedSeconds: elapsed.drillSeconds)
        result.goawaysByCode = seen.goawaysByCode
        result.goawaysByReason = seen.goawaysByReason
        result.goawaysReceived = stats.goAwaysReceived
        result.connectionsOpened = stats.connectionsOpened
        result.drainMs = .init(milliseconds: seen.drainsMs)
        result.restartMs = .init(milliseconds: seen.restartsMs)
        result.hardKills = seen.kills
        result.stuck = stuck
        return result
    }

    struct Answer: Sendable {
        var outcome: DrillClientOutcome
        var latency: Int64?
    }

    /// One request of the mix.
    private static func issue(id: Int, kind: DrillRequestKind, client: HTTP2Client) async -> Answer {
        var head = HTTPRequest(method: HTTPRequest.Method(kind.method)!, scheme: nil, authority: nil, path: kind.path)
        head.headerFields[.drillID] = String(id)
        let payload = kind.bodySize > 0 ? payload(id: id, size: kind.bodySize) : nil
        let began = ContinuousClock.now
        do {
            let response = try await client.execute(head, body: payload.map { .bytes($0) } ?? .empty)
            let bytes = try await response.body.collect(upTo: 1 << 20)
            var matched = response.status == .ok && response.head.headerFields[.drillID] == String(id)
            if kind.path == "/echo" { matched = matched && bytes == payload }
            return Answer(outcome: .response(matched: matched), latency: (ContinuousClock.now - began).nanosecondsClamped)
        } catch {
            return Answer(outcome: .failed(DrillFailure(error)), latency: nil)
        }
    }

    /// `drill <id> ` repeated to `size` bytes: each echo is checkable.
    static func payload(id: Int, size: Int) -> ByteBuffer {
        let unit = Array("drill \(id) ".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        while bytes.count < size { bytes.append(unit[bytes.count % unit.count]) }
        return ByteBuffer(bytes: bytes)
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
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
