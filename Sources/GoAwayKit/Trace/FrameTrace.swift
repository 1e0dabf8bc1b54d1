import GoAwayCore
import Logging
import Synchronization

/// Where a connection's frame trace goes: every frame both ways, with its wire length and flags
/// (see `FrameTraceHandler`). Set `HTTP2ClientConfiguration.frameTrace` or
/// `HTTP2Server.Configuration.frameTrace` to switch it on; `nil` (the default) costs nothing.
///
/// Two values are equal when they are the same trace (made by the same `init` call), so
/// configurations stay `Hashable`.
public struct FrameTrace: Sendable, Hashable {
    /// Called with each frame event (on the connection's event loop).
    public let sink: @Sendable (FrameTraceEvent) -> Void
    private let token: Token

    private final class Token: Sendable {}

    /// `sink` is called on the connection's event loop, in wire order per connection; keep it quick.
    public init(_ sink: @escaping @Sendable (FrameTraceEvent) -> Void) {
        self.sink = sink
        self.token = Token()
    }

    /// The same trace: made by the same `init` call.
    public static func == (a: FrameTrace, b: FrameTrace) -> Bool { a.token === b.token }
    /// Hashes the trace's identity.
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(token)) }

    /// Formats the trace as `goaway get --trace` prints it and calls `line` once per event with
    /// that event's lines joined by newlines.
    /// `reveal` shows GOAWAY debug data and cookies/authorization verbatim (default: redacted).
    public static func lines(reveal: Bool = false, _ line: @escaping @Sendable (String) -> Void) -> FrameTrace {
        FrameTracePrinter(reveal: reveal, output: line).trace
    }

    /// Logs each trace line at `level` (default `.debug`) with `goaway.connection` metadata.
    public static func logger(_ logger: Logger, level: Logger.Level = .debug, reveal: Bool = false) -> FrameTrace {
        let formatter = FormatterBox(TraceFormatter(reveal: reveal))
        return FrameTrace { event in
            let lines = formatter.state.withLock { $0.lines(for: event) }
            logger.log(level: level, "\(lines.joined(separator: "\n"))", metadata: ["goaway.connection": "\(event.connection)"])
        }
    }
}

private final class FormatterBox: Sendable {
    let state: Mutex<TraceFormatter>
    init(_ f: TraceFormatter) { state = Mutex(f) }
}

/// Collects trace events in memory: for tests and for a closing verdict.
public final class FrameTraceRecorder: Sendable {
    private let storage = Mutex<[FrameTraceEvent]>([])
    /// An empty recorder.
    public init() {}
    /// A trace that appends every event here.
    public var trace: FrameTrace { FrameTrace { [self] e in storage.withLock { $0.append(e) } } }
    /// The events so far, in arrival order.
    public var events: [FrameTraceEvent] { storage.withLock { $0 } }
}

/// A trace printed line by line as frames pass, plus the closing verdict once the work is done:
/// what `goaway get --trace` shows.
public final class FrameTracePrinter: Sendable {
    private struct State {
        var formatter: TraceFormatter
        var verdict = TraceVerdict()
    }
    private let state: Mutex<State>
    private let reveal: Bool
    private let output: @Sendable (String) -> Void

    /// `output` is called once per event with its lines joined by newlines (no trailing newline).
    public init(reveal: Bool = false, output: @escaping @Sendable (String) -> Void) {
        self.state = Mutex(State(formatter: TraceFormatter(reveal: reveal)))
        self.reveal = reveal
        self.output = output
    }

    /// A trace that prints each event and records it for the verdict.
    public var trace: FrameTrace {
        FrameTrace { [self] event in
            let lines = state.withLock { s in
                s.verdict.record(event)
                return s.formatter.lines(for: event)
            }
            // One call per event: lines of concurrent connections must not interleave.
            output(lines.joined(separator: "\n"))
        }
    }

    /// One `verdict: …` line per connection that received GOAWAY; none when no GOAWAY came.
    public var verdictLines: [String] { state.withLock { $0.verdict.lines(reveal: reveal) } }
}
