/// Follows HTTP/2 frame boundaries in the raw inbound bytes, without decoding anything: the client
/// preface (24 bytes), then 9-byte frame headers and the payload lengths they announce.
///
/// Why: swift-nio-http2 holds a partial frame or an unfinished header block (HEADERS without
/// END_HEADERS, waiting for CONTINUATION) silently, so the handler above it cannot tell a peer
/// that trickles or stops mid-frame (slowloris) from an idle one. Work per frame is a few integer
/// operations; payload bytes are skipped, never read.
public struct FrameBoundaryScanner: Sendable {
    private static let prefaceLength = 24
    private static let headers: UInt8 = 0x1
    private static let pushPromise: UInt8 = 0x5
    private static let continuation: UInt8 = 0x9
    private static let endHeaders: UInt8 = 0x4

    private var prefaceRemaining = FrameBoundaryScanner.prefaceLength
    /// Bytes of the current frame header seen so far (0 = at a frame boundary).
    private var headerFill = 0
    private var length = 0
    private var type: UInt8 = 0
    private var flags: UInt8 = 0
    private var payloadRemaining = 0
    /// Frames completed so far (a running count; the detector notices when it changes).
    public private(set) var framesCompleted = 0
    /// A HEADERS or PUSH_PROMISE without END_HEADERS has not been ended by a CONTINUATION yet.
    public private(set) var headerBlockOpen = false

    /// A scanner at the start of a connection (before the preface).
    public init() {}

    /// The bytes so far stop before the end of the preface (the magic and the first frame, which
    /// must be SETTINGS), inside a frame, or inside a header block.
    public var isWaiting: Bool {
        framesCompleted == 0 || headerFill > 0 || payloadRemaining > 0 || headerBlockOpen
    }

    /// Follows the frame boundaries through the next bytes the peer sent, in order.
    public mutating func scan(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        let n = bytes.count
        if prefaceRemaining > 0 {
            let take = min(prefaceRemaining, n)
            prefaceRemaining -= take
            i = take
        }
        while i < n {
            if payloadRemaining > 0 {
                let take = min(payloadRemaining, n - i)
                payloadRemaining -= take
                i += take
                if payloadRemaining == 0 { frameCompleted() }
                continue
            }
            let byte = bytes[i]
            i += 1
            switch headerFill {
            case 0: length = Int(byte)
            case 1, 2: length = length << 8 | Int(byte)
            case 3: type = byte
            case 4: flags = byte
            default: break  // stream id: not needed
            }
            headerFill += 1
            if headerFill == 9 {
                headerFill = 0
                payloadRemaining = length
                if length == 0 { frameCompleted() }
            }
        }
    }

    /// `scan(_:)` over an array (tests).
    public mutating func scan(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { scan($0) }
    }

    private mutating func frameCompleted() {
        framesCompleted &+= 1
        switch type {
        case Self.headers, Self.pushPromise: headerBlockOpen = flags & Self.endHeaders == 0
        case Self.continuation where flags & Self.endHeaders != 0: headerBlockOpen = false
        default: break
        }
    }
}
