extension Explainer {
    /// The client-side fix for the stack that printed the message first (it is what the reader
    /// controls), then GoAwayKit's, then server-side fixes for the likely causes.
    static func fixes(_ o: GoAwayObservation, causes: [Explanation.Cause]) -> [Explanation.Fix] {
        var out: [Explanation.Fix] = []
        // Re-send advice is for the side that received the frame; when the client sent it (nginx
        // logging a client's reset) only the cause fixes apply.
        if o.sender != .client {
            out = clientFixes(o).map { .init(stack: $0.stack, cause: nil, text: $0.text) }
            out.append(.init(stack: "GoAwayKit", cause: nil, text: goAwayKitClient))
        }
        for cause in fixedCauses(causes) {
            guard let id = CauseID(rawValue: cause.id) else { continue }
            for fix in id.fixes { out.append(.init(stack: fix.stack, cause: cause.id, text: fix.text)) }
        }
        var seen = Set<String>()
        return out.filter { seen.insert($0.stack + "\u{0}" + $0.text).inserted }
    }

    /// All high-likelihood causes, topped up with medium ones to two, at most three: enough to
    /// cover the likely story without burying the reader in every stack's settings.
    static func fixedCauses(_ causes: [Explanation.Cause]) -> [Explanation.Cause] {
        let high = causes.filter { $0.likelihood == .high }
        if high.count >= 2 { return Array(high.prefix(3)) }
        return Array(causes.filter { $0.likelihood != .low }.prefix(2))
    }

    static let goAwayKitClient =
        "GoAwayKit's HTTP2Client stops using a connection on GOAWAY, opens a replacement, and re-sends requests above Last-Stream-ID and REFUSED_STREAM automatically; requests that may have been processed are re-sent only when idempotent."

    static func clientFixes(_ o: GoAwayObservation) -> [(stack: String, text: String)] {
        let grpc = (
            stack: "gRPC",
            text: "gRPC retries transparently only RPCs that never left the client or that the server never handed to the application (gRFC A6). For idempotent methods add a retryPolicy to the service config (retryableStatusCodes: [\"UNAVAILABLE\"]) so RPCs cut off by a GOAWAY are re-sent."
        )
        let anyStack = (
            stack: "Any stack",
            text: "Stop opening streams on the connection, open a new one, re-send requests above Last-Stream-ID (any method) and re-send unfinished requests at or below it only if idempotent."
        )
        switch o.stack {
        case .go:
            return [("Go", "Go's http2.Transport re-sends requests above Last-Stream-ID and REFUSED_STREAM itself (up to 6 attempts with back-off) when it can replay the body: build requests with http.NewRequest over a bytes.Reader, strings.Reader or bytes.Buffer, or set Request.GetBody. Requests at or below Last-Stream-ID come back as errors; re-send those only if idempotent. Set http2.Transport.ReadIdleTimeout and PingTimeout to detect dead connections.")]
        case .node:
            return [("Node.js", "Handle session.on('goaway', (errorCode, lastStreamID, opaqueData) => …): evict the session from your pool at once (also on 'close' and 'error'), open a new one, and re-send requests whose stream.id is above lastStreamID. ERR_HTTP2_GOAWAY_SESSION means a pool handed out a session that had already received GOAWAY.")]
        case .grpcGo, .grpcJava, .grpcCore, .grpcJS:
            return [grpc]
        case .swiftNIO, .asyncHTTPClient:
            return [("AsyncHTTPClient / swift-nio-http2", "AsyncHTTPClient does not re-send after a GOAWAY (async-http-client#505): catch HTTPClientError.remoteConnectionClosed and NIOHTTP2Errors.StreamClosed and re-send idempotent requests, or use GoAwayKit's HTTP2Client, which classifies each stream by its id against Last-Stream-ID.")]
        case .curl:
            return [("curl", "curl re-sends REFUSED_STREAM on a fresh connection itself. For other failures use --retry N (with --retry-all-errors for errors 92 and 18) on idempotent transfers only.")]
        case .pythonH2:
            return [("Python (httpx / h2)", "httpx does not re-send after ConnectionTerminated: catch httpx.RemoteProtocolError and re-send when the request's stream id was above last_stream_id, or when the method is idempotent.")]
        case .okhttp:
            return [("OkHttp", "OkHttp re-sends refused and unprocessed calls on a new connection unless the body is one-shot (RequestBody.isOneShot()) or retryOnConnectionFailure is off (it is on by default).")]
        case .nginx where !o.notes.contains(.proxyUpstream):
            return [anyStack]
        case .nginx:
            return [("nginx", "For grpc_pass and proxy_pass, nginx passes a failed request to the next upstream per grpc_next_upstream / proxy_next_upstream (default: error timeout); non-idempotent requests only with non_idempotent.")]
        case .envoy:
            return [("Envoy", "Add retry_policy with retry_on: refused-stream to the route (always safe: refused streams were not processed); add reset only on routes whose requests are idempotent. The upstream_cx_close_notify stat counts GOAWAYs from upstreams.")]
        case .flags, .unknown:
            return [anyStack]
        }
    }
}
