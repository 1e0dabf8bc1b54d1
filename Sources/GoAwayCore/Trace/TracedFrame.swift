/// Which way a frame went, seen from the side that traces.
public enum TraceDirection: String, Hashable, Sendable {
    case sent = "->"
    case received = "<-"
}

/// A SETTINGS parameter (RFC 9113 §6.5.2), unknown ids kept.
public struct SettingID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The setting identifier as on the wire.
    public var rawValue: UInt16
    /// The setting with this identifier.
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    /// The setting with this identifier.
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    /// SETTINGS_HEADER_TABLE_SIZE.
    public static let headerTableSize = SettingID(0x1)
    /// SETTINGS_ENABLE_PUSH.
    public static let enablePush = SettingID(0x2)
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    public static let maxConcurrentStreams = SettingID(0x3)
    /// SETTINGS_INITIAL_WINDOW_SIZE.
    public static let initialWindowSize = SettingID(0x4)
    /// SETTINGS_MAX_FRAME_SIZE.
    public static let maxFrameSize = SettingID(0x5)
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    public static let maxHeaderListSize = SettingID(0x6)

    /// The RFC name (`MAX_CONCURRENT_STREAMS`), or the number.
    public var description: String {
        switch rawValue {
        case 0x1: "HEADER_TABLE_SIZE"
        case 0x2: "ENABLE_PUSH"
        case 0x3: "MAX_CONCURRENT_STREAMS"
        case 0x4: "INITIAL_WINDOW_SIZE"
        case 0x5: "MAX_FRAME_SIZE"
        case 0x6: "MAX_HEADER_LIST_SIZE"
        case 0x8: "ENABLE_CONNECT_PROTOCOL"
        case 0x9: "NO_RFC7540_PRIORITIES"
        default: "UNKNOWN(0x\(String(rawValue, radix: 16)))"
        }
    }
}

/// What a frame's payload says, decoded as far as a trace needs. Header blocks are HPACK and need
/// the connection's decoder state, so the shell decodes them and fills `TracedFrame.headerFields`.
public enum FramePayload: Hashable, Sendable {
    case data
    /// The header block fragment with padding and priority fields removed.
    case headers(fragment: [UInt8])
    case pushPromise(promisedStreamID: StreamID, fragment: [UInt8])
    case continuation(fragment: [UInt8])
    case settings([Setting])
    case ping(opaque: UInt64)
    case goAway(lastStreamID: StreamID, code: HTTP2ErrorCode, debugData: GoAwayDebugData)
    case rstStream(HTTP2ErrorCode)
    case windowUpdate(increment: UInt32)
    case other
    /// The payload does not match its type's layout (a peer bug worth seeing, not a crash).
    case malformed(String)

    /// One setting of a SETTINGS frame.
    public struct Setting: Hashable, Sendable {
        /// Which setting.
        public var id: SettingID
        /// Its value.
        public var value: UInt32
        /// A setting and its value.
        public init(_ id: SettingID, _ value: UInt32) {
            self.id = id
            self.value = value
        }
    }

    /// Decodes `frame`'s payload by its type (RFC 9113 §6).
    public static func decode(_ frame: RawFrame) -> FramePayload {
        let h = frame.header
        let p = frame.payload
        func u32(_ at: Int) -> UInt32 {
            UInt32(p[at]) << 24 | UInt32(p[at + 1]) << 16 | UInt32(p[at + 2]) << 8 | UInt32(p[at + 3])
        }
        switch h.type {
        case .data:
            return .data
        case .headers:
            guard let fragment = unpad(p, padded: h.has(0x8), skip: h.has(0x20) ? 5 : 0) else {
                return .malformed("padding or priority longer than the payload")
            }
            return .headers(fragment: fragment)
        case .pushPromise:
            guard let rest = unpad(p, padded: h.has(0x8), skip: 0), rest.count >= 4 else {
                return .malformed("short PUSH_PROMISE")
            }
            let promised = StreamID(Int32(bitPattern: (UInt32(rest[0]) << 24 | UInt32(rest[1]) << 16 | UInt32(rest[2]) << 8 | UInt32(rest[3])) & 0x7FFF_FFFF))
            return .pushPromise(promisedStreamID: promised, fragment: Array(rest.dropFirst(4)))
        case .continuation:
            return .continuation(fragment: p)
        case .settings:
            guard p.count % 6 == 0 else { return .malformed("length \(p.count) is not a multiple of 6") }
            var settings: [Setting] = []
            for at in stride(from: 0, to: p.count, by: 6) {
                settings.append(Setting(SettingID(UInt16(p[at]) << 8 | UInt16(p[at + 1])), u32(at + 2)))
            }
            return .settings(settings)
        case .ping:
            guard p.count == 8 else { return .malformed("length \(p.count), PING needs 8") }
            return .ping(opaque: UInt64(u32(0)) << 32 | UInt64(u32(4)))
        case .goAway:
            guard p.count >= 8 else { return .malformed("length \(p.count), GOAWAY needs at least 8") }
            return .goAway(
                lastStreamID: StreamID(Int32(bitPattern: u32(0) & 0x7FFF_FFFF)),
                code: HTTP2ErrorCode(u32(4)),
                debugData: GoAwayDebugData(Array(p.dropFirst(8))))
        case .rstStream:
            guard p.count == 4 else { return .malformed("length \(p.count), RST_STREAM needs 4") }
            return .rstStream(HTTP2ErrorCode(u32(0)))
        case .windowUpdate:
            guard p.count == 4 else { return .malformed("length \(p.count), WINDOW_UPDATE needs 4") }
            return .windowUpdate(increment: u32(0) & 0x7FFF_FFFF)
        default:
            return .other
        }
    }

    private static func unpad(_ p: [UInt8], padded: Bool, skip: Int) -> [UInt8]? {
        var start = 0
        var end = p.count
        if padded {
            guard let pad = p.first else { return nil }
            start = 1
            end -= Int(pad)
        }
        start += skip
        guard start <= end else { return nil }
        return Array(p[start..<end])
    }
}

/// One frame as the trace reports it.
public struct TracedFrame: Hashable, Sendable {
    /// Sent or received.
    public var direction: TraceDirection
    /// The frame header as on the wire.
    public var header: FrameHeader
    /// The decoded payload.
    public var payload: FramePayload
    /// Decoded header block (HEADERS/PUSH_PROMISE with END_HEADERS, the whole block incl.
    /// CONTINUATIONs), in wire order; `nil` for other frames or when decoding failed.
    public var headerFields: [HeaderField]?
    /// Why `headerFields` is missing when it should be there.
    public var headerError: String?

    /// A traced frame.
    public init(direction: TraceDirection, header: FrameHeader, payload: FramePayload,
                headerFields: [HeaderField]? = nil, headerError: String? = nil) {
        self.direction = direction
        self.header = header
        self.payload = payload
        self.headerFields = headerFields
        self.headerError = headerError
    }

    /// A traced frame decoded from raw bytes.
    public init(direction: TraceDirection, raw: RawFrame) {
        self.init(direction: direction, header: raw.header, payload: FramePayload.decode(raw))
    }
}

/// A decoded header field.
public struct HeaderField: Hashable, Sendable {
    /// The name (lowercase in HTTP/2).
    public var name: String
    /// The value.
    public var value: String
    /// A header field.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What a trace sink receives: a connection opened, a frame, or the connection closed.
public struct FrameTraceEvent: Hashable, Sendable {
    /// What happened.
    public enum Kind: Hashable, Sendable {
        case connected(remote: String)
        case frame(TracedFrame)
        case closed
    }
    /// Numbers the connections of one trace (the client's connection id).
    public var connection: Int
    /// When (monotonic).
    public var time: Instant
    /// What happened.
    public var kind: Kind

    /// A trace event.
    public init(connection: Int, time: Instant, kind: Kind) {
        self.connection = connection
        self.time = time
        self.kind = kind
    }
}
