/// One receive window we grant the peer — a stream's or the connection's — as a value: bytes in,
/// WINDOW_UPDATE increments out (RFC 9113 §6.9). No I/O.
///
/// ```
///            received(data:paddingBytes:)          consumed(_:)
///  peer ──DATA──▶ [ held: delivered, unread ] ──reader──▶ [ credit ] ──≥ threshold──▶ WINDOW_UPDATE
///                 padding and undelivered bytes ───────────▲
/// ```
/// - `outstanding`: flow-controlled bytes the peer sent that we have not granted back
///   (our window as the peer sees it is `target - outstanding`). It never exceeds `target` for an
///   honest peer; swift-nio-http2 enforces that before we see the frame.
/// - `held`: bytes delivered to a reader that has not consumed them. Held bytes are never granted
///   back, so a stalled reader holds at most `target` bytes: that is the memory bound.
/// - Padding (the pad length octet and the pad, §6.1) is flow-controlled but never delivered, so
///   it is credit at once. Counted once, here.
/// - A WINDOW_UPDATE goes out when the credit reaches `threshold` (default half the target, as
///   Go, swift-nio-http2 and grpc do), so a fast reader costs one frame per half window.
/// - `close()`: the stream ended (END_STREAM received, reset): no more updates.
///
/// Uses: the connection window takes `received(..., delivered: false)` (credit on arrival; the
/// stream windows bound what each stream may buffer, so one slow stream cannot starve the others);
/// a stream whose body is read takes `delivered: true` and `consumed(_:)` as the reader reads.
public struct InboundWindow: Hashable, Sendable {
    /// SETTINGS_INITIAL_WINDOW_SIZE, and the connection window, before any SETTINGS (§6.9.2).
    public static let protocolDefault = 65_535
    /// The largest window HTTP/2 allows, 2^31-1 (§6.9.1).
    public static let maximum = Int(Int32.max)

    /// The window we want the peer to have.
    public let target: Int
    /// Credit at which a WINDOW_UPDATE is worth sending.
    public let threshold: Int
    /// Flow-controlled bytes the peer sent (or could send) and we have not granted back.
    public private(set) var outstanding: Int
    /// Delivered to the reader, not yet consumed.
    public private(set) var held = 0
    /// Closed: the stream ended, nothing more is granted.
    public private(set) var isClosed = false

    /// - Parameters:
    ///   - target: the window we want the peer to have (1...2^31-1).
    ///   - advertised: what the peer believes it has now; the connection starts at 65,535 whatever
    ///     the SETTINGS say, so `openingIncrement()` raises it. Default: `target` (a stream whose
    ///     SETTINGS_INITIAL_WINDOW_SIZE was `target`).
    ///   - threshold: default `target / 2` (at least 1).
    public init(target: Int, advertised: Int? = nil, threshold: Int? = nil) {
        precondition((1...Self.maximum).contains(target), "a window is 1...2^31-1")
        self.target = target
        self.threshold = max(1, min(threshold ?? target / 2, target))
        self.outstanding = max(0, target - (advertised ?? target))
    }

    /// The window as the peer sees it.
    public var peerWindow: Int { target - outstanding }
    /// Consumed (or never delivered) bytes not yet granted back.
    public var credit: Int { outstanding - held }

    /// The flow-controlled length of a DATA frame: its data, and when PADDED the pad length octet
    /// and the padding (`paddingBytes` as swift-nio-http2 reports it: the pad length value).
    public static func flowControlledLength(dataBytes: Int, paddingBytes: Int?) -> Int {
        dataBytes + (paddingBytes.map { $0 + 1 } ?? 0)
    }

    /// A DATA frame arrived. `delivered`: its data goes to a reader who reports `consumed(_:)`
    /// later; otherwise (the connection window, nobody reads) it is credit now. Padding is always
    /// credit now. Returns the WINDOW_UPDATE increment to send, if one is due.
    public mutating func received(dataBytes: Int, paddingBytes: Int?, delivered: Bool) -> Int? {
        outstanding += Self.flowControlledLength(dataBytes: dataBytes, paddingBytes: paddingBytes)
        if delivered { held += dataBytes }
        return dueIncrement()
    }

    /// The reader consumed `bytes` of what was delivered. Returns the increment to send, if due.
    public mutating func consumed(_ bytes: Int) -> Int? {
        held -= min(bytes, held)
        return dueIncrement()
    }

    /// The reader is gone (the body was abandoned or failed): what it held is credit now.
    public mutating func readerGone() -> Int? {
        held = 0
        return dueIncrement()
    }

    /// Grants every byte of credit now, whatever the threshold (the connection window's first
    /// raise from 65,535 to `target`). `nil` when there is none.
    public mutating func openingIncrement() -> Int? {
        guard !isClosed, credit > 0 else { return nil }
        let increment = credit
        outstanding -= increment
        return increment
    }

    /// No more updates (the peer sends nothing more on this stream).
    public mutating func close() { isClosed = true }

    private mutating func dueIncrement() -> Int? {
        guard !isClosed, credit >= threshold else { return nil }
        let increment = credit
        outstanding -= increment
        return increment
    }
}
