/// An HTTP/2 stream identifier: 31 bits, odd when the client opened it, 0 for the connection.
public struct StreamID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible,
    ExpressibleByIntegerLiteral
{
    /// The 31-bit identifier as an integer.
    public var rawValue: Int32
    /// The stream with this identifier.
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// The stream with this identifier.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    /// A stream id written as a number: `let id: StreamID = 3`.
    public init(integerLiteral value: Int32) { self.rawValue = value }

    /// Stream 0: the connection itself. GOAWAY, PING and SETTINGS are only valid here.
    public static let root = StreamID(0)
    /// 2^31-1: the last-stream-id of a shutdown notice ("stop soon, everything so far is fine").
    public static let max = StreamID(Int32.max)

    /// Odd ids are opened by the client, even ones (pushes) by the server.
    public var isClientInitiated: Bool { rawValue % 2 == 1 }
    /// Ids grow with every new stream of a connection, so order is age.
    public static func < (lhs: StreamID, rhs: StreamID) -> Bool { lhs.rawValue < rhs.rawValue }
    /// The number.
    public var description: String { String(rawValue) }
}

/// A point in time on a monotonic clock, in nanoseconds since an arbitrary origin.
///
/// The core never reads a clock: the shell passes `now` in (from `NIODeadline.now()` or a test's
/// manual clock), so every decision is a pure function of its inputs.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: Int64
    /// The instant this many nanoseconds after the origin.
    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The origin (tests start their manual clocks here).
    public static let zero = Instant(nanoseconds: 0)

    /// The instant `rhs` later (wrapping, never trapping, on overflow).
    public static func + (lhs: Instant, rhs: Duration) -> Instant {
        Instant(nanoseconds: lhs.nanoseconds &+ rhs.nanosecondsClamped)
    }
    /// How long from `rhs` to `lhs`.
    public static func - (lhs: Instant, rhs: Instant) -> Duration {
        .nanoseconds(lhs.nanoseconds &- rhs.nanoseconds)
    }
    /// Earlier first.
    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
    /// `t+1.5s`.
    public var description: String { "t+\(Double(nanoseconds) / 1e9)s" }
}

extension Duration {
    /// Whole nanoseconds, clamped to `Int64`.
    /// (One 128-bit division: `components` divided twice and multiplied back, ~250 instructions
    /// under callgrind, and the pool and connection machines do this several times a request.)
    @inlinable
    public var nanosecondsClamped: Int64 {
        Int64(clamping: attoseconds / 1_000_000_000)
    }

    /// Seconds as a `Double`, for reports.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }

    /// `self * factor`, for jitter.
    public func scaled(by factor: Double) -> Duration {
        .nanoseconds(Int64((Double(nanosecondsClamped) * factor).rounded()))
    }
}
