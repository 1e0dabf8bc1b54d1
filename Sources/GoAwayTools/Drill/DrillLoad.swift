import GoAwayKit
import Foundation
import GoAwayCore
import HTTPTypes
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The client side of one drill phase, shared by the loopback drill and the netns drill's client
/// host: `concurrency` workers keep an `HTTP2Client` busy until the deadline, every request's
/// outcome goes into a `DrillLedger`, and the client's events onto a `DrillTimeline`.
///
/// `drive()` returns when the load has ended (every request answered or given up by the
/// watchdog); `finish()` then takes the client's counters, shuts it down (bounded) and returns the
/// result.
final class DrillLoad: Sendable {
    let client: HTTP2Client
    let concurrency: Int
    let duration: Duration
    let watchdog: Duration
    /// Monotonic time (`DrillClock`) of the phase start: timeline offsets are from it.
    let startNs: Int64

    private let ledger = Mutex(DrillLedger())
    private let counts = Mutex((issued: 0, ok: 0, failed: 0))
    private let seen = Seen()
    private let eventsTask: Task<Void, Never>

    /// What the event consumer builds (a class, so its task can hold it).
    private final class Seen: Sendable {
        let timeline = Mutex(DrillTimeline())
        let goAwayCodes = Mutex([String: Int]())
    }

    init(client: HTTP2Client, concurrency: Int, duration: Duration, watchdog: Duration, startNs: Int64 = DrillClock.nowNs()) {
        self.client = client
        self.concurrency = concurrency
        self.duration = duration
        self.watchdog = watchdog
        self.startNs = startNs
        let seen = self.seen
        let events = client.events
        eventsTask = Task {
            for await event in events {
                let at = DrillClock.ms(since: startNs)
                let mapped: DrillTimeline.Event?
                switch event {
                case .connectionOpened(let id, let endpoint): mapped = .opened(connection: id, endpoint: endpoint)
                case .goAwayReceived(let id, let code, let last, _):
                    let name = code.name ?? code.hex
                    seen.goAwayCodes.withLock { $0[name, default: 0] += 1 }
                    mapped = .goAway(connection: id, code: name, lastStreamID: last)
                case .connectionClosed(let id): mapped = .closed(connection: id)
                case .requestResent(let reason): mapped = .resent(reason: reason.rawValue)
                // A connection that was accepted but failed before it was ready ends its lane too.
                case .connectFailed(let id, _, _): mapped = .closed(connection: id)
                default: mapped = nil
                }
                if let mapped { seen.timeline.withLock { $0.apply(mapped, atMs: at) } }
            }
        }
    }

    /// A fleet step, marked on the timeline now.
    func mark(_ label: String) {
        let at = DrillClock.ms(since: startNs)
        seen.timeline.withLock { $0.apply(.step(label), atMs: at) }
    }

    var progress: (ok: Int, failed: Int) { counts.withLock { ($0.ok, $0.failed) } }

    /// Runs the load until the deadline, then waits for what is in flight (at most `watchdog`).
    func drive() async {
        let deadline = ContinuousClock.now + duration
        let inFlight = InFlightRequests<Answer>()
        let watchdogTask = Task { [watchdog] in
            try await Task.sleep(until: deadline + watchdog, clock: .continuous)
            inFlight.fire(Answer(outcome: .hung, latency: nil))
        }
        let client = self.client
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        let id = self.counts.withLock { c -> Int in
                            defer { c.issued += 1 }
                            return c.issued
                        }
                        let kind = DrillRequestKind.forRequest(id)
                        let answer = await inFlight.run(id: id) { await Self.issue(id: id, kind: kind, client: client) }
                        self.record(id: id, kind: kind, answer)
                    }
                }
            }
        }
        watchdogTask.cancel()
    }

    private func record(id: Int, kind: DrillRequestKind, _ answer: Answer) {
        let ended = DrillClock.ms(since: startNs)
        ledger.withLock { $0.record(id: id, idempotent: kind.idempotent, outcome: answer.outcome, latencyNanoseconds: answer.latency, endedMs: ended) }
        counts.withLock { c in
            if case .response = answer.outcome { c.ok += 1 } else { c.failed += 1 }
        }
    }

    /// What the client side of a phase saw. Encoded as JSON by the netns client host.
    struct Result: Sendable, Codable {
        var ledger: DrillLedger
        var elapsedSeconds: Double
        var resent: Int
        var goAwaysReceived: Int
        var goAwaysByCode: [String: Int]
        var connectionsOpened: Int
        /// Connections opened by the end of the load (before the shutdown).
        var connectionsOpenedAtLoadEnd: Int
        var timeline: DrillTimeline
        var stuck: [String]
    }

    /// Takes the counters, shuts the client down (bounded) and closes the timeline. `stuck`: what
    /// the caller already found hanging (kept in the result).
    func finish(stuck: [String] = []) async -> Result {
        let elapsedMs = DrillClock.ms(since: startNs)
        var stuck = stuck
        let stats = client.stats
        if await bounded(until: ContinuousClock.now + .seconds(20), { await self.client.shutdown() }) == nil {
            stuck.append("the client's shutdown did not return within 20 s")
        }
        // The event stream ends with the shutdown; give the consumer a moment for the last ones.
        _ = await bounded(until: ContinuousClock.now + .seconds(2), { await self.eventsTask.value })
        eventsTask.cancel()
        // Every connection opened until the end (one may open after the snapshot above, while
        // the client shuts down): the same set the timeline's lanes are drawn from.
        let opened = client.stats.connectionsOpened
        let issued = counts.withLock { $0.issued }
        let ledger = ledger.withLock { ledger in
            // Defence in depth: an id issued but never recorded is a request nobody answered.
            for id in 0..<issued where !ledger.contains(id) {
                ledger.record(id: id, idempotent: DrillRequestKind.forRequest(id).idempotent, outcome: .hung)
            }
            return ledger
        }
        var timeline = seen.timeline.withLock { $0 }
        timeline.setThroughput(endsMs: ledger.endsMs)
        timeline.durationMs = max(timeline.durationMs, elapsedMs)
        return Result(
            ledger: ledger, elapsedSeconds: elapsedMs / 1000, resent: stats.resentTotal, goAwaysReceived: stats.goAwaysReceived,
            goAwaysByCode: seen.goAwayCodes.withLock { $0 }, connectionsOpened: opened, connectionsOpenedAtLoadEnd: stats.connectionsOpened, timeline: timeline, stuck: stuck)
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

/// One monotonic clock for every process of a drill (CLOCK_MONOTONIC is the same in every network
/// namespace), so the client host's events and the orchestrator's steps share a time axis.
enum DrillClock {
    static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    static func ms(since startNs: Int64) -> Double {
        Double(nowNs() - startNs) / 1e6
    }
}
