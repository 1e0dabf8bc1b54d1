/// Whether a request that did not complete may be sent again, and why.
///
/// RFC 9113 §8.7 gives two guarantees that a request was *not processed*: the stream is above the
/// GOAWAY's last-stream-id, or the peer reset it with REFUSED_STREAM. A request that never reached
/// the wire (its connection went away first) is trivially unprocessed too. Those may be re-sent
/// whatever the method, as long as the body can be produced again. Everything else may have been
/// processed: only idempotent methods (RFC 9110 §9.2.2) are re-sent, once by default, because the
/// RFC says a client SHOULD NOT retry a request whose retry already failed.
///
/// swift-nio-http2 closes streams above a GOAWAY's last-stream-id with reason `CANCEL`, so the
/// classification compares ids and never trusts that reason code.
public enum RetryDecision: Hashable, Sendable {
    case resend(ResendReason)
    case fail(RequestFailure)

    /// The single pure decision.
    ///
    /// - Parameters:
    ///   - streamID: the stream the request was sent on, `nil` if it never left the client.
    ///   - lastStreamID: the lowest last-stream-id of the GOAWAYs received on that connection, if any.
    ///   - resetCode: the RST_STREAM code the peer sent for the stream, if it reset it.
    ///   - idempotent: the method is idempotent (RFC 9110 §9.2.2).
    ///   - bodyReplayable: the body can be sent again (no body, buffered, or a body factory).
    ///   - attempt: how often the request has been sent so far (`unsent` already counts this
    ///     hand-over when `streamID` is nil).
    ///   - policy: budgets and the master switch (`--no-resend`).
    ///   - deadlineBound: the request has a deadline: refusals by a live server are then re-sent
    ///     until that deadline (the pool enforces it and the client-wide `RetryBudget`), not
    ///     bounded by `maxAttempts`. Bounces off connections going away keep their own cap
    ///     (`maxUnsentRequeues`): each costs a connection, and a peer that lies about last-id
    ///     must not get a connection per bounce until the deadline.
    public static func decide(
        streamID: StreamID?,
        lastStreamID: StreamID?,
        resetCode: HTTP2ErrorCode?,
        idempotent: Bool,
        bodyReplayable: Bool,
        attempt: Attempt,
        policy: RetryPolicy,
        deadlineBound: Bool = false
    ) -> RetryDecision {
        if let reason = notProcessedReason(streamID: streamID, lastStreamID: lastStreamID, resetCode: resetCode) {
            // Two caps: `sends` (attempts the server could have refused for its own reasons) and
            // `unsent` (bounces off connections that were going away; see `ClientPoolStateMachine`).
            let withinBudget = (deadlineBound || attempt.sends < policy.maxAttempts) && attempt.unsent <= policy.maxUnsentRequeues
            guard policy.enabled, bodyReplayable, withinBudget else {
                return .fail(.notProcessed(reason))
            }
            return .resend(reason)
        }
        guard policy.enabled, idempotent, bodyReplayable,
            attempt.possiblyProcessedResends < policy.possiblyProcessedResends,
            attempt.sends < policy.maxAttempts
        else {
            return .fail(.possiblyProcessed)
        }
        return .resend(.idempotentAfterConnectionLoss)
    }

    /// `nil` when the request may have been processed.
    public static func notProcessedReason(
        streamID: StreamID?,
        lastStreamID: StreamID?,
        resetCode: HTTP2ErrorCode?
    ) -> ResendReason? {
        guard let streamID else { return .neverSent }
        if resetCode == .refusedStream { return .refusedStream }
        if let lastStreamID, streamID > lastStreamID { return .aboveLastStreamID }
        return nil
    }
}

/// Why a request was sent again.
public enum ResendReason: String, Hashable, Sendable, CaseIterable {
    /// Its stream was above the last-stream-id of a GOAWAY: never processed.
    case aboveLastStreamID = "goaway"
    /// The peer reset its stream with REFUSED_STREAM: never processed.
    case refusedStream = "refused_stream"
    /// The connection went away before the request's HEADERS were written.
    case neverSent = "never_sent"
    /// Idempotent request whose connection was lost mid-flight (may have been processed).
    case idempotentAfterConnectionLoss = "idempotent_retry"
}

/// Why the pool gave up on a request. The shell maps it onto the public error type.
public enum RequestFailure: Hashable, Sendable {
    /// Provably not processed, but it could not be re-sent (body not replayable, re-sending off,
    /// or the attempt budget is spent). The caller may safely send it again.
    case notProcessed(ResendReason)
    /// The server may have acted on it; the client will not guess.
    case possiblyProcessed
    /// No connection could be established within the attempt budget.
    case connectionFailed
    /// The client is shutting down.
    case shutdown
    /// No response head before the request's deadline (`requestArrived(deadline:)`).
    case requestTimeout
}

/// How often one request has been sent.
public struct Attempt: Hashable, Sendable {
    /// Times the request was handed to a connection (1 after the first send).
    public var sends: Int
    /// Re-sends that were made although the request may have been processed.
    public var possiblyProcessedResends: Int
    /// Bounces off connections that were going away: handed to one that could no longer open a
    /// stream, or refused / above the last-stream-id of one that had sent GOAWAY. Not in `sends`.
    public var unsent: Int
    /// A count; zero by default.
    public init(sends: Int = 0, possiblyProcessedResends: Int = 0, unsent: Int = 0) {
        self.sends = sends
        self.possiblyProcessedResends = possiblyProcessedResends
        self.unsent = unsent
    }
}

/// Re-send budgets.
public struct RetryPolicy: Hashable, Sendable {
    /// Off: every failure surfaces to the caller (what a naive client does; `goaway load --no-resend`).
    public var enabled: Bool
    /// Total sends of one request, first one included, for a request without a deadline (with
    /// one, not-processed work is re-sent until the deadline, under the `budget`); also the
    /// connect failures in a row that open an endpoint's circuit. Default 5 (Go uses 6, OkHttp 20).
    public var maxAttempts: Int
    /// Re-sends of idempotent requests that may have been processed. Default 1 (RFC 9113 §8.7).
    public var possiblyProcessedResends: Int
    /// Bounces off draining connections (never sent, above last-id, refused while draining). They
    /// cost the server nothing and every drain makes progress, so they get a larger cap than
    /// `maxAttempts`: a request is not failed because several connections drained under it in a
    /// row (a server that GOAWAYs every 10 requests under c=32 does that). Default 50.
    public var maxUnsentRequeues: Int
    /// Client-wide bound on re-sends of provably unprocessed work (see `RetryBudget`).
    public var budget: RetryBudget.Configuration
    /// Delay before a re-send: refused streams (and repeated bounces) back off, jittered, so a
    /// refusing server is not hammered. Default 10 ms doubling to 1 s, ±50%.
    public var backoff: Backoff

    /// Every parameter defaults to the value its property documents.
    public init(enabled: Bool = true, maxAttempts: Int = 5, possiblyProcessedResends: Int = 1, maxUnsentRequeues: Int = 50,
                budget: RetryBudget.Configuration = .defaults,
                backoff: Backoff = Backoff(initial: .milliseconds(10), maximum: .seconds(1), multiplier: 2, jitter: 0.5)) {
        self.enabled = enabled
        self.maxAttempts = maxAttempts
        self.possiblyProcessedResends = possiblyProcessedResends
        self.maxUnsentRequeues = maxUnsentRequeues
        self.budget = budget
        self.backoff = backoff
    }

    /// Every documented default.
    public static var defaults: RetryPolicy { RetryPolicy() }
    /// No re-sends at all: every failure reaches the caller.
    public static var disabled: RetryPolicy { RetryPolicy(enabled: false) }
}

/// RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE are idempotent.
public func isIdempotentMethod(_ method: String) -> Bool {
    switch method {
    case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE": true
    default: false
    }
}
