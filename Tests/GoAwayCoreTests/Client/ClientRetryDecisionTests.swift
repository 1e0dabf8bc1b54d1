import Testing

@testable import GoAwayCore

struct ClientRetryDecisionTests {
    struct Row: CustomStringConvertible, Sendable {
        var stream: Int32?
        var last: Int32?
        var reset: HTTP2ErrorCode?
        var idempotent: Bool
        var replayable: Bool
        var sends: Int
        var ppResends: Int = 0
        var unsent: Int = 0
        var policy: RetryPolicy = .defaults
        var expected: RetryDecision
        var description: String {
            "stream \(stream.map(String.init) ?? "-") last \(last.map(String.init) ?? "-") reset \(reset?.name ?? "-") idem \(idempotent) replay \(replayable) sends \(sends)/\(ppResends)"
        }
    }

    static let rows: [Row] = {
        var rows: [Row] = []
        // Above last-stream-id: not processed, any method.
        rows.append(Row(stream: 11, last: 9, idempotent: false, replayable: true, sends: 1, expected: .resend(.aboveLastStreamID)))
        rows.append(Row(stream: 11, last: 9, idempotent: true, replayable: true, sends: 1, expected: .resend(.aboveLastStreamID)))
        // Last-id 0: nothing was processed.
        rows.append(Row(stream: 1, last: 0, idempotent: false, replayable: true, sends: 1, expected: .resend(.aboveLastStreamID)))
        // nio-http2 closes those streams with CANCEL: still classified by id.
        rows.append(Row(stream: 11, last: 9, reset: .cancel, idempotent: false, replayable: true, sends: 1, expected: .resend(.aboveLastStreamID)))
        // At or below last-id, connection lost: idempotent re-sent once, others possiblyProcessed.
        rows.append(Row(stream: 9, last: 9, idempotent: true, replayable: true, sends: 1, expected: .resend(.idempotentAfterConnectionLoss)))
        rows.append(Row(stream: 9, last: 9, idempotent: false, replayable: true, sends: 1, expected: .fail(.possiblyProcessed)))
        rows.append(Row(stream: 9, last: nil, idempotent: true, replayable: true, sends: 1, expected: .resend(.idempotentAfterConnectionLoss)))
        rows.append(Row(stream: 9, last: nil, idempotent: false, replayable: true, sends: 1, expected: .fail(.possiblyProcessed)))
        rows.append(Row(stream: 9, last: nil, idempotent: true, replayable: true, sends: 2, ppResends: 1, expected: .fail(.possiblyProcessed)))
        // The 2^31-1 notice protects every stream.
        rows.append(Row(stream: 101, last: Int32.max, idempotent: false, replayable: true, sends: 1, expected: .fail(.possiblyProcessed)))
        // REFUSED_STREAM: not processed, even below last-id.
        rows.append(Row(stream: 5, last: nil, reset: .refusedStream, idempotent: false, replayable: true, sends: 1, expected: .resend(.refusedStream)))
        rows.append(Row(stream: 5, last: 9, reset: .refusedStream, idempotent: false, replayable: true, sends: 1, expected: .resend(.refusedStream)))
        // Another reset code: possibly processed.
        rows.append(Row(stream: 5, last: nil, reset: .internalError, idempotent: false, replayable: true, sends: 1, expected: .fail(.possiblyProcessed)))
        rows.append(Row(stream: 5, last: nil, reset: .internalError, idempotent: true, replayable: true, sends: 1, expected: .resend(.idempotentAfterConnectionLoss)))
        // Never sent.
        rows.append(Row(stream: nil, last: nil, idempotent: false, replayable: true, sends: 0, unsent: 1, expected: .resend(.neverSent)))
        // Never sent does not spend the attempt budget, but has its own cap.
        rows.append(Row(stream: nil, last: nil, idempotent: false, replayable: true, sends: 4, unsent: 50, expected: .resend(.neverSent)))
        rows.append(Row(stream: 11, last: 9, idempotent: false, replayable: true, sends: 1, unsent: 51, expected: .fail(.notProcessed(.aboveLastStreamID))))
        rows.append(Row(stream: nil, last: nil, idempotent: false, replayable: true, sends: 0, unsent: 51, expected: .fail(.notProcessed(.neverSent))))
        // Body not replayable: typed notProcessed so the caller may re-send.
        rows.append(Row(stream: 11, last: 9, idempotent: false, replayable: false, sends: 1, expected: .fail(.notProcessed(.aboveLastStreamID))))
        rows.append(Row(stream: 5, reset: .refusedStream, idempotent: true, replayable: false, sends: 1, expected: .fail(.notProcessed(.refusedStream))))
        rows.append(Row(stream: 9, last: 9, idempotent: true, replayable: false, sends: 1, expected: .fail(.possiblyProcessed)))
        // Budget: 5 sends by default.
        rows.append(Row(stream: 11, last: 9, idempotent: true, replayable: true, sends: 4, expected: .resend(.aboveLastStreamID)))
        rows.append(Row(stream: 11, last: 9, idempotent: true, replayable: true, sends: 5, expected: .fail(.notProcessed(.aboveLastStreamID))))
        rows.append(Row(stream: 9, last: nil, idempotent: true, replayable: true, sends: 5, expected: .fail(.possiblyProcessed)))
        // Re-sending off (--no-resend).
        rows.append(Row(stream: 11, last: 9, idempotent: true, replayable: true, sends: 1, policy: .disabled, expected: .fail(.notProcessed(.aboveLastStreamID))))
        rows.append(Row(stream: 9, last: nil, idempotent: true, replayable: true, sends: 1, policy: .disabled, expected: .fail(.possiblyProcessed)))
        // Configurable idempotent re-sends.
        rows.append(Row(stream: 9, last: nil, idempotent: true, replayable: true, sends: 2, ppResends: 1, policy: RetryPolicy(possiblyProcessedResends: 2), expected: .resend(.idempotentAfterConnectionLoss)))
        return rows
    }()

    @Test(arguments: rows)
    func decision(_ row: Row) {
        let d = RetryDecision.decide(
            streamID: row.stream.map { StreamID($0) },
            lastStreamID: row.last.map { StreamID($0) },
            resetCode: row.reset,
            idempotent: row.idempotent,
            bodyReplayable: row.replayable,
            attempt: Attempt(sends: row.sends, possiblyProcessedResends: row.ppResends, unsent: row.unsent),
            policy: row.policy
        )
        #expect(d == row.expected, "\(row)")
    }

    @Test func idempotentMethods() {
        #expect(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"].allSatisfy(isIdempotentMethod))
        #expect(!["POST", "PATCH", "CONNECT", "get"].contains(where: isIdempotentMethod))
    }

    @Test func backoffGrowsCapsAndJitters() {
        let b = Backoff(initial: .milliseconds(100), maximum: .seconds(1), multiplier: 2, jitter: 0.2)
        #expect(b.delay(afterFailures: 0, random: 0.5) == .zero)
        #expect(b.delay(afterFailures: 1, random: 0.5) == .milliseconds(100))
        #expect(b.delay(afterFailures: 3, random: 0.5) == .milliseconds(400))
        #expect(b.delay(afterFailures: 30, random: 0.5) == .seconds(1))
        #expect(b.delay(afterFailures: 1, random: 0) == .milliseconds(80))
        #expect(b.delay(afterFailures: 1, random: 0.999_999_999) > .milliseconds(119))
    }

    @Test func configurationSurvivesInit() {
        let c = PoolConfiguration(
            maxConnectionsPerEndpoint: 3, minConnectionsPerEndpoint: 2, assumedMaxConcurrentStreams: 7,
            maxConcurrentStreamsCap: 9, retry: RetryPolicy(enabled: false, maxAttempts: 2, possiblyProcessedResends: 0, maxUnsentRequeues: 7),
            backoff: Backoff(initial: .seconds(1)), keepaliveInterval: .seconds(3), seed: 42)
        #expect(c.maxConnectionsPerEndpoint == 3 && c.minConnectionsPerEndpoint == 2)
        #expect(c.assumedMaxConcurrentStreams == 7 && c.maxConcurrentStreamsCap == 9)
        #expect(c.retry == RetryPolicy(enabled: false, maxAttempts: 2, possiblyProcessedResends: 0, maxUnsentRequeues: 7))
        #expect(c.backoff.initial == .seconds(1) && c.keepaliveInterval == .seconds(3) && c.seed == 42)
    }
}

/// With a deadline, refusals by a live server are re-sent past `maxAttempts` (the deadline and the
/// client-wide budget bound them); bounces off connections going away keep their own cap.
@Test func deadlineLiftsTheSendCapButNotTheBounceCap() {
    let policy = RetryPolicy(maxAttempts: 5, maxUnsentRequeues: 3)
    #expect(RetryDecision.decide(streamID: 1, lastStreamID: nil, resetCode: .refusedStream, idempotent: false, bodyReplayable: true,
                                 attempt: Attempt(sends: 9), policy: policy, deadlineBound: true) == .resend(.refusedStream))
    #expect(RetryDecision.decide(streamID: 1, lastStreamID: nil, resetCode: .refusedStream, idempotent: false, bodyReplayable: true,
                                 attempt: Attempt(sends: 9), policy: policy) == .fail(.notProcessed(.refusedStream)))
    #expect(RetryDecision.decide(streamID: 3, lastStreamID: 1, resetCode: nil, idempotent: false, bodyReplayable: true,
                                 attempt: Attempt(sends: 1, unsent: 4), policy: policy, deadlineBound: true) == .fail(.notProcessed(.aboveLastStreamID)))
}
