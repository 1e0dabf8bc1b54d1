/// A client-wide token bucket for re-sends (time passed in). Every stream the client sends
/// deposits `ratio` tokens, and the bucket also refills at `minPerSecond`; a re-send takes one
/// token. So re-sends stay at most `ratio` of the streams sent plus `minPerSecond`, whatever the
/// server refuses — a server that refuses everything sees a few hundred streams, not a storm.
///
/// Defaults, in the range of the references:
/// - Finagle `RetryBudget`: 20% of requests (`percentCanRetry`), 10 retries per second minimum
///   (`minRetriesPerSec`), over a 10 s window (`ttl`).
/// - Envoy retry budgets: `budget_percent` 20%, `min_retry_concurrency` 3.
/// - gRPC throttling (gRFC A6): `maxTokens` 10, `tokenRatio` 0.1.
///
/// We take Finagle's numbers (ratio 0.2, 10/s, 10 s), with one difference: the deposit is per
/// stream *sent*, re-sends included, not per logical request. A server that refuses a fraction p
/// of streams at random needs p/(1-p) re-sends per request (25% for p = 20%), which a per-request
/// 20% budget cannot pay; per stream, the need is p per stream, so 20% refusals balance with the
/// 10/s floor as margin. Work the budget cannot pay yet is not failed: it waits for a token, up to
/// its deadline (the pool's `retryDue`).
///
/// The bucket holds at most `minPerSecond × window` plus `ratio` × the streams of the busier of
/// the current and the previous window, and starts full at the floor (`minPerSecond × window`,
/// Finagle's reserve), so a short burst of refusals is paid at once.
public struct RetryBudget: Hashable, Sendable {
    /// The budget's rates.
    public struct Configuration: Hashable, Sendable {
        /// Tokens per stream sent. Default 0.2.
        public var ratio: Double
        /// Tokens per second, whatever the traffic. Default 10.
        public var minPerSecond: Double
        /// The window the capacity is measured over. Default 10 s.
        public var window: Duration

        /// A budget of `ratio` tokens per stream plus `minPerSecond`, measured over `window`.
        public init(ratio: Double = 0.2, minPerSecond: Double = 10, window: Duration = .seconds(10)) {
            self.ratio = ratio
            self.minPerSecond = minPerSecond
            self.window = window
        }

        /// Finagle's: 0.2 per stream, 10 per second, 10 s.
        public static var defaults: Configuration { Configuration() }
        var reserve: Double { max(1, minPerSecond * Double(window.nanosecondsClamped) / 1e9) }
    }

    /// Its rates.
    public let configuration: Configuration
    /// Tokens now (a re-send takes one).
    public private(set) var tokens: Double
    /// `configuration.reserve` and `window` in nanoseconds, worked out once: the pool deposits on
    /// every stream it sends.
    let reserve: Double
    let windowNanoseconds: Int64
    var refilledAt: Instant?
    var windowStart: Instant?
    var sendsThisWindow = 0
    var sendsLastWindow = 0

    /// A full bucket (the floor, `minPerSecond × window`).
    public init(_ configuration: Configuration = .defaults) {
        self.configuration = configuration
        self.reserve = configuration.reserve
        self.windowNanoseconds = configuration.window.nanosecondsClamped
        self.tokens = reserve
    }

    var capacity: Double {
        reserve + configuration.ratio * Double(max(sendsThisWindow, sendsLastWindow))
    }

    /// A stream was sent (first send or re-send).
    public mutating func deposit(now: Instant) {
        advance(now)
        sendsThisWindow += 1
        tokens = min(capacity, tokens + configuration.ratio)
    }

    /// Takes a token for one re-send, if there is one.
    public mutating func tryWithdraw(now: Instant) -> Bool {
        advance(now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// How long until the floor alone refills one token (sends may bring it sooner).
    public func timeUntilToken() -> Duration {
        guard tokens < 1 else { return .zero }
        guard configuration.minPerSecond > 0 else { return configuration.window }
        return .nanoseconds(Int64(((1 - tokens) / configuration.minPerSecond * 1e9).rounded(.up)))
    }

    private mutating func advance(_ now: Instant) {
        if let last = refilledAt, now > last {
            let seconds = Double(now.nanoseconds &- last.nanoseconds) / 1e9
            tokens = min(capacity, tokens + seconds * configuration.minPerSecond)
        }
        refilledAt = max(refilledAt ?? now, now)
        let start = windowStart ?? now
        let elapsed = now.nanoseconds &- start.nanoseconds
        if elapsed >= windowNanoseconds {
            sendsLastWindow = elapsed - windowNanoseconds >= windowNanoseconds ? 0 : sendsThisWindow
            sendsThisWindow = 0
            windowStart = now
        } else if windowStart == nil {
            windowStart = now
        }
    }
}
