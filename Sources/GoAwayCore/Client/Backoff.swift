/// Exponential back-off with jitter between connection attempts to one endpoint.
public struct Backoff: Hashable, Sendable {
    /// The delay after the first failure. Default 50 ms.
    public var initial: Duration
    /// The longest delay. Default 5 s.
    public var maximum: Duration
    /// Growth per further failure. Default 2.
    public var multiplier: Double
    /// ±fraction of the delay, drawn uniformly (gRPC uses 0.2).
    public var jitter: Double

    /// Back-off with the given shape; every parameter has the documented default.
    public init(initial: Duration = .milliseconds(50), maximum: Duration = .seconds(5), multiplier: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// 50 ms doubling to 5 s, ±20% jitter.
    public static var defaults: Backoff { Backoff() }

    /// Delay before attempt number `failures + 1`, given `failures` consecutive failures (0 -> none).
    /// `random` is a value in [0, 1) so the function stays pure.
    public func delay(afterFailures failures: Int, random: Double) -> Duration {
        guard failures > 0 else { return .zero }
        var base = Double(initial.nanosecondsClamped)
        for _ in 1..<failures {
            base *= multiplier
            if base >= Double(maximum.nanosecondsClamped) { break }
        }
        base = min(base, Double(maximum.nanosecondsClamped))
        let factor = 1 + jitter * (2 * random - 1)
        return .nanoseconds(Int64(base * factor))
    }
}

/// A small deterministic generator (SplitMix64) so the pool's jitter is reproducible in tests.
public struct JitterRandom: Hashable, Sendable {
    /// The generator's state; the next value follows from it alone.
    public var state: UInt64
    /// A generator that starts from `seed`.
    public init(seed: UInt64) { self.state = seed }
    /// The next pseudo-random value.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
