/// Identifies one connection of the pool.
public struct ConnectionID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The number; ids grow in the order they are made.
    public var rawValue: Int
    /// The id numbered `rawValue`.
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    /// Orders by number (creation order).
    public static func < (l: ConnectionID, r: ConnectionID) -> Bool { l.rawValue < r.rawValue }
    /// `cN`, as logs and events name it.
    public var description: String { "c\(rawValue)" }
}

/// Identifies one logical request (it keeps its id across re-sends).
public struct RequestID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The number; ids grow in the order they are made.
    public var rawValue: Int
    /// The id numbered `rawValue`.
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    /// Orders by number (creation order).
    public static func < (l: RequestID, r: RequestID) -> Bool { l.rawValue < r.rawValue }
    /// `rN`, as logs and events name it.
    public var description: String { "r\(rawValue)" }
}

/// Pool sizing, re-send budget, back-off and keepalive.
public struct PoolConfiguration: Hashable, Sendable {
    /// Connections per endpoint, at most. Default 8. More connections instead of a raised stream limit.
    public var maxConnectionsPerEndpoint: Int
    /// Connections kept per endpoint even when idle (make-before-break applies to them). Default 0.
    public var minConnectionsPerEndpoint: Int
    /// Streams assumed for a connection whose SETTINGS have not arrived yet. Default 100
    /// (RFC 9113 §6.5.2 recommends peers allow at least 100).
    public var assumedMaxConcurrentStreams: Int
    /// Streams we use on one connection at most, even when the peer allows more. Default 100.
    public var maxConcurrentStreamsCap: Int
    /// Re-send rules and budgets (see `RetryPolicy`).
    public var retry: RetryPolicy
    /// Delay between connection attempts to a failing endpoint. Default 50 ms doubling to 5 s, ±20%.
    public var backoff: Backoff
    /// How long an endpoint may keep failing to connect (from the start of its first failed
    /// attempt) before its circuit opens and requests fail fast with the cause. Default 10 s;
    /// `HTTP2Client` sets it to its `connectTimeout`.
    public var connectBudget: Duration
    /// Keepalive PING interval, `nil` for none. Doubled on GOAWAY(ENHANCE_YOUR_CALM, "too_many_pings") (gRFC A8).
    public var keepaliveInterval: Duration?
    /// Seed of the jitter generator (tests fix it; the client seeds it randomly).
    public var seed: UInt64

    /// Every parameter defaults to the value its property documents.
    public init(
        maxConnectionsPerEndpoint: Int = 8,
        minConnectionsPerEndpoint: Int = 0,
        assumedMaxConcurrentStreams: Int = 100,
        maxConcurrentStreamsCap: Int = 100,
        retry: RetryPolicy = .defaults,
        backoff: Backoff = .defaults,
        connectBudget: Duration = .seconds(10),
        keepaliveInterval: Duration? = nil,
        seed: UInt64 = 0x5EED
    ) {
        self.maxConnectionsPerEndpoint = maxConnectionsPerEndpoint
        self.minConnectionsPerEndpoint = minConnectionsPerEndpoint
        self.assumedMaxConcurrentStreams = assumedMaxConcurrentStreams
        self.maxConcurrentStreamsCap = maxConcurrentStreamsCap
        self.retry = retry
        self.backoff = backoff
        self.connectBudget = connectBudget
        self.keepaliveInterval = keepaliveInterval
        self.seed = seed
    }

    /// Every documented default.
    public static var defaults: PoolConfiguration { PoolConfiguration() }
}
