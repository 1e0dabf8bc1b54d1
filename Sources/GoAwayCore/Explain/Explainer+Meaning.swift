extension Explainer {
    static func meaning(_ o: GoAwayObservation, showDebugData: Bool) -> [String] {
        var lines: [String] = []
        switch o.kind {
        case .goaway:
            lines.append(
                "A GOAWAY frame (always sent on stream 0, the connection itself) tells the receiver to open no new streams on this connection. Its Last-Stream-ID is the highest stream the sender might have acted on; everything above it was not processed and never will be."
            )
        case .rstStream:
            let stream = o.streamID.map { "stream \($0)" } ?? "one stream"
            lines.append(
                "RST_STREAM ends \(stream) with an error code; the connection and its other streams carry on. It is not a GOAWAY, but it often comes with one."
            )
        case .unprocessedAfterGoaway:
            lines.append(
                "The connection had received a GOAWAY, so this request was either never sent on it or was above the GOAWAY's Last-Stream-ID. Either way the server did not process it."
            )
        case .connectionClosed:
            lines.append(
                "The connection ended while the request was in flight, and the message shows neither a GOAWAY nor an error code. If the peer sent a GOAWAY first, its Last-Stream-ID (visible in a debug log) decides which requests were processed."
            )
        }
        switch o.sender {
        case .client: lines.append("The client sent this frame; the server logged it.")
        case .server, .unknown: break
        }
        if let code = o.code { lines.append(CodeKnowledge.meaning(code)) }
        if o.kind == .goaway { lines.append(lastStreamMeaning(o.lastStreamID)) }
        if let token = knownToken(o.debugData) {
            lines.append("The debug data is the token \(token): \(tokenMeaning(token)). Debug data is diagnostic only and changes nothing in the protocol.")
        } else if let data = o.debugData, !data.isEmpty {
            lines.append(
                showDebugData
                    ? "The frame carries \(data.bytes.count) bytes of debug data, shown as sent: diagnostic only, and possibly sensitive."
                    : "The frame carries \(data.bytes.count) bytes of debug data: diagnostic only, and possibly sensitive, so it is redacted unless you pass --show-debug-data."
            )
        }
        return lines
    }

    static func lastStreamMeaning(_ last: StreamID?) -> String {
        guard let last else {
            return "The message does not show Last-Stream-ID. Your stack's debug log does (Go: GODEBUG=http2debug=2; Node: the 'goaway' event's lastStreamID; curl -v: \"received GOAWAY, error=…, last_stream=…\")."
        }
        if last == .root {
            return "Last-Stream-ID 0: the sender processed no stream on this connection, so every request sent on it is safe to re-send on a new connection, even a POST."
        }
        if last == .max {
            return "Last-Stream-ID 2^31-1 (2147483647) is a shutdown notice: nothing is refused yet and in-flight streams continue. After at least one round trip the sender follows with a second GOAWAY carrying the real Last-Stream-ID."
        }
        var text = "Last-Stream-ID \(last): streams up to \(last) may have been processed; streams above it were not."
        if last.isClientInitiated {
            let count = (Int(last.rawValue) + 1) / 2
            text += " Client streams use odd IDs (1, 3, 5 …), so this covers the first \(count) request\(count == 1 ? "" : "s") the client opened on this connection."
        }
        return text
    }

    /// Debug-data tokens that are protocol vocabulary rather than data. Matching is by whole
    /// string, so recognising one can never reveal anything beyond the token itself.
    static let explainedTokens: [String: String] = [
        "too_many_pings": "the server received keepalive PINGs more often than its policy allows",
        "max_age": "the connection reached the server's maximum connection age",
        "max_requests": "the connection served the server's maximum number of requests",
        "idle_timeout": "the connection was idle longer than the server allows",
        "max_idle": "the connection was idle longer than the server allows",
        "keepalive_timeout": "the peer did not answer keepalive PINGs in time",
        "ping_ack_timeout": "the peer did not answer a PING in time",
        "shutdown": "the server is shutting down",
        "graceful_shutdown": "the server is shutting down gracefully",
        "server_shutdown": "the server is shutting down",
        "graceful_stop": "the server is stopping gracefully (grpc-go GracefulStop)",
        "drain": "the server is draining its connections",
        "peer_goaway": "the sender is closing because its peer sent a GOAWAY first",
        "rapid_reset": "the client reset too many streams too quickly",
        "ping_flood": "the client sent too many PINGs",
        "settings_flood": "the client sent too many SETTINGS frames",
        "continuation_flood": "the client sent too many CONTINUATION frames",
        "empty_frames": "the client sent too many empty frames",
        "window_update_abuse": "the client sent abusive WINDOW_UPDATE frames",
    ]

    static func knownToken(_ data: GoAwayDebugData?) -> String? {
        guard let text = data?.unredacted.lowercased(), explainedTokens[text] != nil else { return nil }
        return text
    }

    static func tokenMeaning(_ token: String) -> String { explainedTokens[token] ?? token }
}
