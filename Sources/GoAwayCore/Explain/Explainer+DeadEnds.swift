extension Explainer {
    /// Things people try that do not help, each with the reason. Several correct the loose
    /// advice that circulates (e.g. "raise max concurrent streams" for a GOAWAY).
    static func deadEnds(_ o: GoAwayObservation) -> [Explanation.DeadEnd] {
        var out: [Explanation.DeadEnd] = []
        let code = o.code.map { $0.isDefined ? $0 : HTTP2ErrorCode.internalError }
        if o.kind == .goaway, o.lastStreamID == .root {
            out.append(.init(
                attempt: "Treating Last-Stream-ID 0 as \"abort everything\"",
                reason: "0 means the opposite: the sender processed nothing, so every request on the connection is safe to re-send."
            ))
        }
        if o.notes.contains(.nioCancelMayMeanUnprocessed) {
            out.append(.init(
                attempt: "Trusting the CANCEL code",
                reason: "swift-nio-http2 uses CANCEL for streams a GOAWAY made unprocessed; the stream id against Last-Stream-ID is what tells."
            ))
        }
        if o.code?.isDefined == false {
            out.append(.init(
                attempt: "Special handling for this code",
                reason: "RFC 9113 §7: unknown codes must not trigger special behaviour; treat it as INTERNAL_ERROR."
            ))
        }
        if o.kind != .rstStream || o.code == .refusedStream {
            out.append(.init(
                attempt: "Disabling HTTP/2 and falling back to HTTP/1.1",
                reason: "HTTP/1.1 connections are closed for the same reasons (restarts, nginx keepalive_requests, idle timeouts), and without a Last-Stream-ID the client cannot tell which requests were processed."
            ))
        }
        if o.kind == .goaway || o.kind == .unprocessedAfterGoaway {
            out.append(.init(
                attempt: "Raising max concurrent streams on either side",
                reason: "GOAWAY is the sender's decision to close the connection; hitting SETTINGS_MAX_CONCURRENT_STREAMS yields REFUSED_STREAM or queueing, never a GOAWAY."
            ))
            out.append(.init(
                attempt: "Sending new requests on the same connection",
                reason: "After GOAWAY the receiver must not open new streams (RFC 9113 §6.8); the sender ignores them."
            ))
        }
        if code == nil || code == .noError, o.kind != .rstStream {
            out.append(.init(
                attempt: "Making connections live forever (unlimited keepalive_requests, no max age)",
                reason: "Deploys and load balancers still close connections, and without rotation load never rebalances; make the client re-send instead."
            ))
        }
        if code == .enhanceYourCalm {
            out.append(.init(
                attempt: "Pinging more often to keep the connection alive",
                reason: "The server counts PING strikes; more pings earn more ENHANCE_YOUR_CALM. Ping less often than the server's minimum."
            ))
        }
        if [.protocolError, .compressionError, .frameSizeError, .flowControlError].contains(code) {
            out.append(.init(
                attempt: "Retrying in a loop with back-off",
                reason: "These errors are deterministic: the same request against the same peer fails the same way. Find the offending frame."
            ))
        }
        if o.code != .refusedStream, o.kind != .unprocessedAfterGoaway {
            out.append(.init(
                attempt: "Re-sending every failed request automatically",
                reason: "Requests at or below Last-Stream-ID may have been processed; repeating a non-idempotent one can apply it twice (RFC 9110 §9.2.2). Re-send those only if idempotent, and not again if that retry fails (RFC 9113 §8.7)."
            ))
        }
        return out
    }

    static func stackNotes(_ o: GoAwayObservation) -> [String] {
        var out: [String] = []
        for note in o.notes {
            switch note {
            case .closedAfterGoaway where o.stack == .go:
                out.append("Go re-sends requests above Last-Stream-ID by itself; this error means the request was at or below Last-Stream-ID and the connection closed before it finished.")
            case .closedAfterGoaway:
                out.append("The connection closed after the GOAWAY with this request unfinished.")
            case .goBodyNotReplayable:
                out.append("Go could not re-send because the request body had been consumed and Request.GetBody is nil.")
            case .requestWasSent:
                out.append("grpc-java uses \"Abrupt GOAWAY closed sent stream\" for streams above the GOAWAY's Last-Stream-ID: the RPC went out, but the server did not process it.")
            case .stackRetries:
                out.append("curl retries REFUSED_STREAM on a fresh connection by itself; this line on its own is not a failure.")
            case .nioCancelMayMeanUnprocessed:
                out.append("swift-nio-http2 1.46 closes streams above Last-Stream-ID with CANCEL, although the docs of StreamClosedEvent say REFUSED_STREAM.")
            case .proxyUpstream:
                out.append("This is the proxy's view of its upstream connection: the proxy was the HTTP/2 client, and the original caller got whatever the proxy answered (usually 502 or 503).")
            }
        }
        switch (o.stack, o.kind) {
        case (.node, .goaway) where o.code != nil && o.code != .noError:
            out.append("Node destroys the session with ERR_HTTP2_SESSION_ERROR when a GOAWAY carries a code other than NO_ERROR.")
        case (.node, .unprocessedAfterGoaway):
            out.append("Node throws this from session.request() on a session that already received GOAWAY; the request was never sent.")
        case (.grpcGo, .connectionClosed):
            out.append("grpc-go says \"transport is closing\" when the connection closed under an RPC; newer versions append \"received prior goaway: …\" when a GOAWAY came first.")
        case (.asyncHTTPClient, _):
            out.append("AsyncHTTPClient reports a GOAWAY-closed connection as remoteConnectionClosed and does not re-send (async-http-client#505).")
        default:
            break
        }
        return out
    }
}
