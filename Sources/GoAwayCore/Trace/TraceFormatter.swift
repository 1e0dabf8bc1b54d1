/// Renders trace events as the text `goaway get --trace` prints:
///
/// ```
/// [   0.000] -> SETTINGS (stream 0, length 18, flags none)
///            MAX_CONCURRENT_STREAMS: 100
/// [   0.004] <- GOAWAY (stream 0, length 8, flags none)
///            Last-Stream-ID: 3
///            Error-Code: NO_ERROR (0x0)
/// ```
///
/// Times are seconds since `origin` (the first connect). Frames of connections other than the
/// first are tagged `#2`, so interleaved connections stay readable.
public struct TraceFormatter: Sendable {
    /// Times print as seconds since this instant (set by the first event when `nil`).
    public var origin: Instant?
    /// Show GOAWAY debug data and sensitive header values (cookies, authorization) verbatim.
    public var reveal: Bool
    /// The connection printed untagged (the first seen); others are tagged `#N`.
    public var firstConnection: Int?

    /// Continuation lines are indented this far.
    public static let indent = String(repeating: " ", count: 11)
    /// Header values hidden unless `reveal`.
    public static let sensitiveHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie"]

    /// A formatter; `reveal` shows debug data and sensitive headers verbatim.
    public init(origin: Instant? = nil, reveal: Bool = false) {
        self.origin = origin
        self.reveal = reveal
    }

    /// The lines for one event; the first event fixes the origin and the untagged connection.
    public mutating func lines(for event: FrameTraceEvent) -> [String] {
        if origin == nil { origin = event.time }
        if firstConnection == nil { firstConnection = event.connection }
        let stamp = Self.timestamp(event.time - origin!)
        let tag = event.connection == firstConnection ? "" : "#\(event.connection) "
        switch event.kind {
        case .connected(let remote):
            return ["\(stamp) \(tag)connected to \(remote)" + (tag.isEmpty ? "" : " (connection \(event.connection))")]
        case .closed:
            return ["\(stamp) \(tag)connection closed"]
        case .frame(let frame):
            return ["\(stamp) \(tag)\(Self.headline(frame))"] + details(frame).map { Self.indent + $0 }
        }
    }

    /// `[   1.250]`: seconds with milliseconds, right-aligned to 8 characters.
    public static func timestamp(_ d: Duration) -> String {
        let ms = max(0, d.nanosecondsClamped / 1_000_000)
        let frac = String(ms % 1000)
        let text = "\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)"
        return "[" + String(repeating: " ", count: max(0, 8 - text.count)) + text + "]"
    }

    /// `-> HEADERS (stream 1, length 43, flags END_STREAM|END_HEADERS)`
    public static func headline(_ frame: TracedFrame) -> String {
        let h = frame.header
        return "\(frame.direction.rawValue) \(h.type.name) (stream \(h.streamID), length \(h.length), flags \(h.type.flagNames(h.flags)))"
    }

    /// The indented lines under a frame's headline (without the indent).
    public func details(_ frame: TracedFrame) -> [String] {
        var out: [String] = []
        switch frame.payload {
        case .data, .other:
            break
        case .settings(let settings):
            out = settings.map { "\($0.id): \($0.value)" }
        case .ping(let opaque):
            let hex = String(opaque, radix: 16)
            out = ["Opaque-Data: 0x" + String(repeating: "0", count: 16 - hex.count) + hex]
        case .goAway(let last, let code, let debugData):
            out.append("Last-Stream-ID: \(last)" + (last == .max ? " (shutdown notice: a final GOAWAY follows)" : ""))
            out.append("Error-Code: \(code)")
            if !debugData.isEmpty { out.append("Debug-Data: \(debugData.rendered(redact: !reveal))") }
        case .rstStream(let code):
            out = ["Error-Code: \(code)"]
        case .windowUpdate(let increment):
            out = ["Window-Size-Increment: \(increment)"]
        case .pushPromise(let promised, _):
            out = ["Promised-Stream-ID: \(promised)"]
        case .headers, .continuation:
            break
        case .malformed(let why):
            out = ["(malformed: \(why))"]
        }
        if let fields = frame.headerFields {
            for f in fields {
                let shown = !reveal && Self.sensitiveHeaders.contains(f.name.lowercased())
                    ? "<redacted \(f.value.utf8.count) bytes>" : f.value
                out.append("\(f.name): \(shown)")
            }
        } else if let error = frame.headerError {
            out.append("(header block not decoded: \(error))")
        } else if case .headers = frame.payload, !frame.header.endHeaders {
            out.append("(header block continues in CONTINUATION frames)")
        }
        return out
    }
}
