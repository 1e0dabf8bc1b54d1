/// An HTTP/2 frame type (RFC 9113 §6). Unknown types are kept: §5.5 says they are ignored, and a
/// trace shows them rather than hiding them.
public struct FrameType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The frame type octet.
    public var rawValue: UInt8
    /// The frame type with this octet.
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The frame type with this octet.
    public init(_ rawValue: UInt8) { self.rawValue = rawValue }

    /// DATA (§6.1).
    public static let data = FrameType(0x0)
    /// HEADERS (§6.2).
    public static let headers = FrameType(0x1)
    /// PRIORITY (§6.3, deprecated).
    public static let priority = FrameType(0x2)
    /// RST_STREAM (§6.4).
    public static let rstStream = FrameType(0x3)
    /// SETTINGS (§6.5).
    public static let settings = FrameType(0x4)
    /// PUSH_PROMISE (§6.6).
    public static let pushPromise = FrameType(0x5)
    /// PING (§6.7).
    public static let ping = FrameType(0x6)
    /// GOAWAY (§6.8).
    public static let goAway = FrameType(0x7)
    /// WINDOW_UPDATE (§6.9).
    public static let windowUpdate = FrameType(0x8)
    /// CONTINUATION (§6.10).
    public static let continuation = FrameType(0x9)
    /// RFC 7838 §4 (ALTSVC) and RFC 8336 (ORIGIN): seen in the wild, named for readability.
    public static let altSvc = FrameType(0xa)
    /// ORIGIN (RFC 8336).
    public static let origin = FrameType(0xc)
    /// PRIORITY_UPDATE (RFC 9218).
    public static let priorityUpdate = FrameType(0x10)

    /// The RFC name (`GOAWAY`), or `UNKNOWN(0x..)`.
    public var name: String {
        switch rawValue {
        case 0x0: "DATA"
        case 0x1: "HEADERS"
        case 0x2: "PRIORITY"
        case 0x3: "RST_STREAM"
        case 0x4: "SETTINGS"
        case 0x5: "PUSH_PROMISE"
        case 0x6: "PING"
        case 0x7: "GOAWAY"
        case 0x8: "WINDOW_UPDATE"
        case 0x9: "CONTINUATION"
        case 0xa: "ALTSVC"
        case 0xc: "ORIGIN"
        case 0x10: "PRIORITY_UPDATE"
        default: "UNKNOWN(0x\(String(rawValue, radix: 16)))"
        }
    }

    /// The RFC name.
    public var description: String { name }

    /// The flags this type defines, in bit order: (bit, name). Other bits are shown as hex.
    public var definedFlags: [(UInt8, String)] {
        switch self {
        case .data: [(0x1, "END_STREAM"), (0x8, "PADDED")]
        case .headers: [(0x1, "END_STREAM"), (0x4, "END_HEADERS"), (0x8, "PADDED"), (0x20, "PRIORITY")]
        case .settings, .ping: [(0x1, "ACK")]
        case .pushPromise: [(0x4, "END_HEADERS"), (0x8, "PADDED")]
        case .continuation: [(0x4, "END_HEADERS")]
        default: []
        }
    }

    /// `END_STREAM|END_HEADERS`, `none`, or `ACK|0x40` for bits the type does not define.
    public func flagNames(_ flags: UInt8) -> String {
        if flags == 0 { return "none" }
        var names: [String] = []
        var rest = flags
        for (bit, name) in definedFlags where flags & bit != 0 {
            names.append(name)
            rest &= ~bit
        }
        if rest != 0 { names.append("0x" + String(rest, radix: 16)) }
        return names.joined(separator: "|")
    }
}

/// The 9-byte frame header (RFC 9113 §4.1).
public struct FrameHeader: Hashable, Sendable {
    /// Every frame starts with 9 octets (§4.1).
    public static let size = 9

    /// Payload length in octets.
    public var length: Int
    /// The frame type.
    public var type: FrameType
    /// The flags octet.
    public var flags: UInt8
    /// The stream (0 for the connection).
    public var streamID: StreamID

    /// A frame header.
    public init(length: Int, type: FrameType, flags: UInt8, streamID: StreamID) {
        self.length = length
        self.type = type
        self.flags = flags
        self.streamID = streamID
    }

    /// Parses the first 9 bytes; `nil` when fewer are given. The reserved bit of the stream id is
    /// ignored, as §4.1 requires.
    public init?<C: Collection>(parsing bytes: C) where C.Element == UInt8 {
        guard bytes.count >= Self.size else { return nil }
        var i = bytes.startIndex
        func next() -> UInt8 {
            defer { i = bytes.index(after: i) }
            return bytes[i]
        }
        let length = Int(next()) << 16 | Int(next()) << 8 | Int(next())
        let type = FrameType(next())
        let flags = next()
        let sid = UInt32(next()) << 24 | UInt32(next()) << 16 | UInt32(next()) << 8 | UInt32(next())
        self.init(length: length, type: type, flags: flags, streamID: StreamID(Int32(bitPattern: sid & 0x7FFF_FFFF)))
    }

    /// Whether a flag bit is set.
    public func has(_ flag: UInt8) -> Bool { flags & flag != 0 }
    /// END_STREAM on DATA or HEADERS.
    public var endStream: Bool { (type == .data || type == .headers) && has(0x1) }
    /// END_HEADERS on HEADERS, PUSH_PROMISE or CONTINUATION.
    public var endHeaders: Bool { (type == .headers || type == .pushPromise || type == .continuation) && has(0x4) }
    /// ACK on SETTINGS or PING.
    public var isAck: Bool { (type == .settings || type == .ping) && has(0x1) }
}

/// One whole frame: header and payload bytes.
public struct RawFrame: Hashable, Sendable {
    /// The 9-octet header.
    public var header: FrameHeader
    /// The payload bytes.
    public var payload: [UInt8]
    /// A frame of this header and payload.
    public init(header: FrameHeader, payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }
}

/// Cuts one direction's byte stream into frames, whatever the read/write boundaries were.
///
/// A value type fed by the shell: the client's outbound side starts with the 24-byte connection
/// preface (`prefaceLength: 24`), which is not a frame; a server traces the same preface inbound.
public struct FrameSplitter: Sendable {
    /// The client connection preface (RFC 9113 §3.4).
    public static let clientPreface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private var prefaceLeft: Int
    private var buffer: [UInt8] = []
    /// A frame longer than this means the bytes are not HTTP/2 (TLS records, HTTP/1): stop parsing.
    public let maxFrameLength: Int
    /// Set once the bytes turned out not to be HTTP/2; nothing more is parsed.
    public private(set) var broken = false

    /// `prefaceLength`: bytes of connection preface to skip first (24 on the server's inbound side).
    public init(prefaceLength: Int = 0, maxFrameLength: Int = 1 << 24) {
        self.prefaceLeft = prefaceLength
        self.maxFrameLength = maxFrameLength
    }

    /// Bytes buffered waiting for the rest of a frame.
    public var pending: Int { buffer.count }

    /// Appends bytes and returns the frames they complete, in order.
    public mutating func feed<C: Collection>(_ bytes: C) -> [RawFrame] where C.Element == UInt8 {
        guard !broken else { return [] }
        var slice = bytes[...]
        if prefaceLeft > 0 {
            let n = min(prefaceLeft, slice.count)
            prefaceLeft -= n
            slice = slice.dropFirst(n)
        }
        buffer.append(contentsOf: slice)
        var frames: [RawFrame] = []
        var start = 0
        while let header = FrameHeader(parsing: buffer[start...]) {
            if header.length > maxFrameLength {
                broken = true
                break
            }
            let end = start + FrameHeader.size + header.length
            guard end <= buffer.count else { break }
            frames.append(RawFrame(header: header, payload: Array(buffer[(start + FrameHeader.size)..<end])))
            start = end
        }
        buffer.removeFirst(start)
        return frames
    }
}
