/// The closing verdict of a trace: for every connection that received a GOAWAY, which of our
/// streams the peer processed, which it did not, and whether those were re-sent elsewhere.
///
/// Fed the same events the trace prints, in order. Pure: the classification follows RFC 9113
/// §6.8/§8.7 — a stream above the (lowest) last-stream-id, or reset with REFUSED_STREAM, was not
/// processed; one at or below it was or may have been. "Re-sent" is recognised by a later stream
/// on another connection carrying the same method, authority and path.
public struct TraceVerdict: Sendable {
    struct Stream {
        var id: StreamID
        var openedAt: Instant
        var request: String
        var completed = false
        var reset: HTTP2ErrorCode?
    }

    struct Connection {
        var streams: [Stream] = []
        var goAways: [(last: StreamID, code: HTTP2ErrorCode, debug: GoAwayDebugData, at: Instant)] = []
    }

    private var connections: [Int: Connection] = [:]
    private var order: [Int] = []

    /// An empty verdict.
    public init() {}

    /// Takes the next trace event into account.
    public mutating func record(_ event: FrameTraceEvent) {
        if connections[event.connection] == nil {
            connections[event.connection] = Connection()
            order.append(event.connection)
        }
        guard case .frame(let frame) = event.kind else { return }
        let sid = frame.header.streamID
        switch (frame.direction, frame.payload) {
        case (.sent, .headers):
            guard !connections[event.connection]!.streams.contains(where: { $0.id == sid }) else { return }
            connections[event.connection]!.streams.append(
                Stream(id: sid, openedAt: event.time, request: Self.requestKey(frame.headerFields)))
        case (.received, .goAway(let last, let code, let debug)):
            connections[event.connection]!.goAways.append((last, code, debug, event.time))
        case (.received, .rstStream(let code)):
            update(event.connection, sid) { if $0.reset == nil && !$0.completed { $0.reset = code } }
        case (.received, _) where frame.header.endStream:
            update(event.connection, sid) { $0.completed = true }
        default:
            break
        }
    }

    private mutating func update(_ connection: Int, _ sid: StreamID, _ body: (inout Stream) -> Void) {
        guard let i = connections[connection]!.streams.firstIndex(where: { $0.id == sid }) else { return }
        body(&connections[connection]!.streams[i])
    }

    static func requestKey(_ fields: [HeaderField]?) -> String {
        guard let fields else { return "" }
        func v(_ n: String) -> String { fields.first { $0.name == n }?.value ?? "" }
        return "\(v(":method")) \(v(":authority"))\(v(":path"))"
    }

    /// What happened to one of our streams on a connection that received GOAWAY.
    public struct StreamFate: Hashable, Sendable {
        /// What became of the stream.
        public enum Fate: Hashable, Sendable {
            /// At or below last-stream-id and its response ended.
            case processed
            /// At or below last-stream-id but it did not end: the peer may have acted on it.
            case mayHaveBeenProcessed(reset: HTTP2ErrorCode?)
            /// Above last-stream-id, or refused: safe to re-send, whatever the method.
            case notProcessed(refused: Bool)
        }
        /// The stream.
        public var stream: StreamID
        /// What became of it.
        public var fate: Fate
        /// Connection and stream that carried the same request later, if any.
        public var resentOn: StreamRef?
        /// A stream's fate, and where it was re-sent if it was.
        public init(stream: StreamID, fate: Fate, resentOn: StreamRef? = nil) {
            self.stream = stream
            self.fate = fate
            self.resentOn = resentOn
        }
    }

    /// A stream of a connection.
    public struct StreamRef: Hashable, Sendable {
        /// The connection number.
        public var connection: Int
        /// The stream.
        public var stream: StreamID
        /// A stream of a connection.
        public init(connection: Int, stream: StreamID) {
            self.connection = connection
            self.stream = stream
        }
    }

    /// What a connection that received GOAWAY did with our streams.
    public struct ConnectionVerdict: Hashable, Sendable {
        /// The connection number.
        public var connection: Int
        /// Every last-stream-id received, in order (a shutdown notice first, then the final one).
        public var lastStreamIDs: [StreamID]
        /// The final GOAWAY's error code.
        public var code: HTTP2ErrorCode
        /// The final GOAWAY's debug data.
        public var debugData: GoAwayDebugData
        /// Our streams on it, by id.
        public var streams: [StreamFate]
    }

    /// One entry per connection that received a GOAWAY, in connection order.
    public var verdicts: [ConnectionVerdict] {
        var used: Set<StreamRef> = []
        var result: [ConnectionVerdict] = []
        for cid in order {
            let c = connections[cid]!
            guard let firstGoAway = c.goAways.first else { continue }
            let last = c.goAways.map(\.last).min()!
            let final = c.goAways.last!
            var fates: [StreamFate] = []
            for s in c.streams.sorted(by: { $0.id < $1.id }) {
                let refused = s.reset == .refusedStream
                var fate: StreamFate
                if s.id > last || refused {
                    fate = StreamFate(stream: s.id, fate: .notProcessed(refused: refused && s.id <= last))
                    // The same request on another connection, opened after the GOAWAY (or the reset).
                    if let match = laterStream(request: s.request, after: min(firstGoAway.at, s.openedAt), excluding: cid, used: used) {
                        used.insert(match)
                        fate.resentOn = match
                    }
                } else if s.completed {
                    fate = StreamFate(stream: s.id, fate: .processed)
                } else {
                    fate = StreamFate(stream: s.id, fate: .mayHaveBeenProcessed(reset: s.reset))
                }
                fates.append(fate)
            }
            result.append(ConnectionVerdict(
                connection: cid, lastStreamIDs: c.goAways.map(\.last), code: final.code,
                debugData: c.goAways.last { !$0.debug.isEmpty }?.debug ?? final.debug, streams: fates))
        }
        return result
    }

    private func laterStream(request: String, after: Instant, excluding: Int, used: Set<StreamRef>) -> StreamRef? {
        guard !request.isEmpty else { return nil }
        for cid in order where cid != excluding {
            for s in connections[cid]!.streams where s.request == request && s.openedAt >= after {
                let pair = StreamRef(connection: cid, stream: s.id)
                if !used.contains(pair) { return pair }
            }
        }
        return nil
    }

    /// `verdict: GOAWAY last-stream-id 3 (NO_ERROR): stream 1, 3 processed; stream 5 not processed → re-sent on connection 2 (stream 1)`
    public func lines(reveal: Bool = false) -> [String] {
        let many = Set(order).count > 1
        return verdicts.map { v in
            let ids = v.lastStreamIDs.map(\.description).joined(separator: " then ")
            var head = "verdict: GOAWAY last-stream-id \(ids) (\(v.code.name ?? v.code.hex)"
            if !v.debugData.isEmpty { head += ", debug data \"\(v.debugData.rendered(redact: !reveal))\"" }
            head += ")"
            if many { head += " on connection \(v.connection)" }
            guard !v.streams.isEmpty else { return head + ": no streams of ours on it" }
            return head + ": " + Self.describe(v.streams)
        }
    }

    static func describe(_ fates: [StreamFate]) -> String {
        var parts: [String] = []
        let processed = fates.filter { $0.fate == .processed }.map(\.stream.description)
        if !processed.isEmpty { parts.append("stream \(processed.joined(separator: ", ")) processed") }
        for f in fates {
            switch f.fate {
            case .processed:
                continue
            case .mayHaveBeenProcessed(let reset):
                let why = reset.map { "reset \($0.name ?? $0.hex)" } ?? "no complete response"
                parts.append("stream \(f.stream) may have been processed (\(why)): re-sent only if idempotent")
            case .notProcessed(let refused):
                let why = refused ? "REFUSED_STREAM" : "above last-stream-id"
                let resend = f.resentOn.map { "re-sent on connection \($0.connection) (stream \($0.stream))" } ?? "not re-sent"
                parts.append("stream \(f.stream) not processed (\(why)) → \(resend)")
            }
        }
        return parts.joined(separator: "; ")
    }
}
