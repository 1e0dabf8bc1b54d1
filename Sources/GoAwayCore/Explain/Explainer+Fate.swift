extension Explainer {
    /// Which requests were processed and which may be re-sent. The rules (RFC 9113 §6.8, §8.7):
    /// above Last-Stream-ID or REFUSED_STREAM means not processed, safe to re-send whatever the
    /// method; at or below it and unfinished means maybe processed, re-send only if idempotent.
    static func requestFate(_ o: GoAwayObservation) -> Explanation.RequestFate {
        typealias G = Explanation.RequestFate.Group
        switch o.kind {
        case .unprocessedAfterGoaway:
            var reason = "The server never processed it (RFC 9113 §6.8): re-send it on a new connection, whatever its method."
            if o.notes.contains(.goBodyNotReplayable) {
                reason += " Go could not do that itself because the body was already consumed; give the request a GetBody."
            }
            return .init(
                summary: "This request was not processed: re-send it on a new connection, even if it is a POST.",
                groups: [G(requests: "This request", processed: .no, resend: .safe, reason: reason)]
            )
        case .connectionClosed:
            return .init(
                summary: "This request may have been processed: re-send it only if it is idempotent.",
                groups: [
                    G(requests: "This request (in flight when the connection closed)", processed: .maybe, resend: .idempotentOnly,
                      reason: "Without a GOAWAY there is no Last-Stream-ID to prove it was not processed (RFC 9113 §8.7)."),
                    G(requests: "Requests not yet sent", processed: .no, resend: .safe,
                      reason: "They never reached the server; send them on a new connection."),
                ]
            )
        case .rstStream:
            return rstFate(o)
        case .goaway:
            return goawayFate(o)
        }
    }

    static func rstFate(_ o: GoAwayObservation) -> Explanation.RequestFate {
        typealias G = Explanation.RequestFate.Group
        let stream = o.streamID.map { "The request on stream \($0)" } ?? "The reset request"
        if o.code == .refusedStream {
            return .init(
                summary: "The request was refused before any processing: re-send it, even if it is a POST.",
                groups: [G(requests: stream, processed: .no, resend: .safe,
                           reason: "REFUSED_STREAM guarantees the server did not act on it (RFC 9113 §8.7).")]
            )
        }
        if o.notes.contains(.nioCancelMayMeanUnprocessed) {
            return .init(
                summary: "Compare the stream id with the GOAWAY's Last-Stream-ID: above it, not processed (re-send anything); otherwise re-send only if idempotent.",
                groups: [
                    G(requests: "\(stream), if its id is above the GOAWAY's Last-Stream-ID", processed: .no, resend: .safe,
                      reason: "swift-nio-http2 closes unprocessed streams with CANCEL after a GOAWAY; the stream id, not the code, tells."),
                    G(requests: "\(stream), otherwise", processed: .maybe, resend: .idempotentOnly,
                      reason: "A cancelled stream may have been partly or fully processed."),
                ]
            )
        }
        if o.sender == .client {
            return .init(
                summary: "The client abandoned this request; the server may have processed some or all of it.",
                groups: [G(requests: stream, processed: .maybe, resend: .idempotentOnly,
                           reason: "The reset came from the client; whether to send again is the client's choice, and only safe for idempotent requests.")]
            )
        }
        return .init(
            summary: "The request may have been processed: re-send it only if it is idempotent.",
            groups: [G(requests: stream, processed: .maybe, resend: .idempotentOnly,
                       reason: "Only REFUSED_STREAM or a GOAWAY's Last-Stream-ID proves a request unprocessed (RFC 9113 §8.7).")]
        )
    }

    static func goawayFate(_ o: GoAwayObservation) -> Explanation.RequestFate {
        typealias G = Explanation.RequestFate.Group
        let graceful = o.code == nil || o.code == .noError
        let cutOff = o.notes.contains(.closedAfterGoaway)
        guard let last = o.lastStreamID else {
            return .init(
                summary: "Requests not yet sent are safe to re-send; requests in flight may have been processed unless your client reports them as above Last-Stream-ID.",
                groups: [
                    G(requests: "Requests in flight when the GOAWAY arrived", processed: .maybe, resend: .idempotentOnly,
                      reason: "The message does not show Last-Stream-ID, so nothing proves they were not processed."),
                    G(requests: "Requests not yet sent, and any the client reports as refused or above Last-Stream-ID", processed: .no, resend: .safe,
                      reason: "The server never acted on them (RFC 9113 §6.8)."),
                ]
            )
        }
        if last == .root {
            return .init(
                summary: "No request on this connection was processed: all of them are safe to re-send on a new connection.",
                groups: [G(requests: "Every request sent on this connection", processed: .no, resend: .safe,
                           reason: "Last-Stream-ID 0 means the sender acted on no stream (RFC 9113 §6.8).")]
            )
        }
        if last == .max && graceful {
            return .init(
                summary: "Nothing was refused yet: in-flight requests continue; send new requests on a new connection.",
                groups: [
                    G(requests: "Requests in flight on this connection", processed: .inProgress, resend: .notNeeded,
                      reason: "A shutdown notice keeps every open stream; the final GOAWAY will name which were accepted."),
                    G(requests: "New requests", processed: .no, resend: .safe,
                      reason: "This connection takes no new streams; open a new one."),
                ]
            )
        }
        let next = Int64(last.rawValue) + (last.isClientInitiated ? 2 : 1)
        var groups = [
            G(requests: "Streams above \(last) (\(next) and up)", processed: .no, resend: .safe,
              reason: "Above Last-Stream-ID: not processed and never will be (RFC 9113 §6.8); re-send them on a new connection, whatever the method."),
        ]
        if graceful && !cutOff {
            groups.append(G(requests: "Unfinished streams at or below \(last)", processed: .inProgress, resend: .notNeeded,
                            reason: "The sender intends to finish them. If the connection closes first they become possibly processed: re-send then only if idempotent."))
        } else {
            let why = graceful
                ? "The connection closed before they finished; the server may have acted on them."
                : "The connection is closing because of an error; the server may have acted on them."
            groups.append(G(requests: "Unfinished streams at or below \(last)", processed: .maybe, resend: .idempotentOnly,
                            reason: why + " Re-send only idempotent requests (RFC 9110 §9.2.2), and not again if that retry fails."))
        }
        groups.append(G(requests: "Completed streams at or below \(last)", processed: .yes, resend: .notNeeded,
                        reason: "Their responses arrived; nothing to do."))
        let summary = cutOff
            ? "The failed request was at or below Last-Stream-ID \(last) and was cut off: it may have been processed, so re-send it only if it is idempotent. Requests above \(last) were not processed."
            : "Requests above Last-Stream-ID \(last) were not processed and are safe to re-send; unfinished ones at or below it \(graceful ? "should complete" : "may have been processed: re-send only idempotent ones")."
        return .init(summary: summary, groups: groups)
    }
}
