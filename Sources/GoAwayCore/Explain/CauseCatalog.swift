/// The causes we rank and, per cause, what to change where. Config names are the real ones
/// (checked against each project's docs); defaults are stated only where they are documented.
enum CauseID: String, CaseIterable, Sendable {
    case gracefulRestart = "graceful-restart"
    case loadBalancer = "load-balancer"
    case maxRequests = "max-requests"
    case maxAge = "max-age"
    case idleTimeout = "idle-timeout"
    case tooManyPings = "too-many-pings"
    case abuseProtection = "abuse-protection"
    case flowControl = "flow-control"
    case invalidHeader = "invalid-header"
    case protocolViolation = "protocol-violation"
    case internalFailure = "internal-failure"
    case settingsTimeout = "settings-timeout"
    case streamState = "stream-state"
    case frameSize = "frame-size"
    case compression = "compression"
    case streamLimit = "stream-limit"
    case cancelled = "cancelled"
    case connectFailed = "connect-failed"
    case tlsRequirements = "tls-requirements"
    case http11Required = "http11-required"
    case connectionLost = "connection-lost"
    case unknownCode = "unknown-code"

    var title: String {
        switch self {
        case .gracefulRestart: "Graceful shutdown: a deploy, restart, reload or scale-in of the server or a proxy"
        case .loadBalancer: "A load balancer or proxy draining or rebalancing connections"
        case .maxRequests: "The per-connection request limit was reached"
        case .maxAge: "The connection reached its maximum age"
        case .idleTimeout: "The connection was idle too long"
        case .tooManyPings: "Keepalive PINGs faster than the server permits (too_many_pings)"
        case .abuseProtection: "The peer's abuse protection tripped (rapid resets, frame floods)"
        case .flowControl: "A peer sent more data than the flow-control window allowed"
        case .invalidHeader: "A header field HTTP/2 forbids (connection-specific or uppercase names)"
        case .protocolViolation: "A protocol violation by one side or an intermediary"
        case .internalFailure: "The sender failed internally (crash, overload, bug, forced close)"
        case .settingsTimeout: "SETTINGS were not acknowledged in time"
        case .streamState: "A frame arrived for a stream that was already closed"
        case .frameSize: "A frame exceeded SETTINGS_MAX_FRAME_SIZE or had a wrong length"
        case .compression: "Header compression (HPACK) state went out of sync"
        case .streamLimit: "The server refused the stream: concurrent-stream limit, overload or shutdown"
        case .cancelled: "The request was cancelled: a deadline or timeout, or the caller gave up"
        case .connectFailed: "The TCP connection behind a CONNECT tunnel failed"
        case .tlsRequirements: "The TLS version or cipher is below what HTTP/2 requires"
        case .http11Required: "The server wants HTTP/1.1 for this request"
        case .connectionLost: "The connection was closed or lost without a visible GOAWAY"
        case .unknownCode: "An error code RFC 9113 does not define (an extension or a buggy peer)"
        }
    }

    /// Server- and infrastructure-side changes for this cause, per stack.
    var fixes: [(stack: String, text: String)] {
        switch self {
        case .gracefulRestart:
            [
                ("GoAwayKit", "HTTP2Server drains in two phases (GOAWAY 2^31-1, then the final GOAWAY two round trips later, a wait bounded by connection.pingAckTimeout, default 5 s; a max-requests drain answers first and sends one GOAWAY); set HTTP2Server.Configuration.connection.drainGrace (default 30 s) longer than your slowest request so in-flight streams finish."),
                ("Go", "Use http.Server.Shutdown(ctx) with a deadline longer than your slowest request; it sends a single GOAWAY without the shutdown notice (golang/go#78968), so clients must re-send streams above Last-Stream-ID."),
                ("gRPC", "Stop servers with GracefulStop() (grpc-go) or shutdown() + awaitTermination() (grpc-java), never an immediate stop; gRPC servers send the two-phase GOAWAY."),
                ("Node.js", "Call http2session.close() (or server.close()) so streams finish; http2session.goaway(code, lastStreamID) sends a GOAWAY without destroying the session."),
                ("nginx", "Reload gracefully (nginx -s reload); bound the wait with worker_shutdown_timeout instead of killing workers."),
                ("Envoy", "Drain before stopping: drain_timeout on the HTTP connection manager (default 5 s) spaces the notice and the final GOAWAY; --drain-time-s and --drain-strategy govern hot restarts."),
                ("Cloud load balancers", "Let the load balancer drain a target before it stops: AWS deregistration_delay.timeout_seconds (default 300 s), GCP backend-service connectionDraining.drainingTimeoutSec."),
            ]
        case .loadBalancer:
            [
                ("Cloud load balancers", "AWS ALB closes client HTTP/2 connections after about 10,000 requests (reported in golang/go#18639 and async-http-client#488), after client_keep_alive.seconds (default 3600 s) and when idle for idle_timeout.timeout_seconds (default 60 s). GCP's external Application Load Balancer closes idle client connections after its HTTP keepalive timeout (610 s by default) and during Google Front End maintenance. Clients have to re-send; the LB cannot be told not to."),
                ("Envoy", "Connection rotation comes from max_connection_duration, max_requests_per_connection and drains on listener or cluster updates; watch the downstream_cx_drain_close and upstream_cx_close_notify stats."),
                ("GoAwayKit", "HTTP2Client opens a replacement connection on GOAWAY and re-sends requests above Last-Stream-ID, so rebalancing costs no request."),
            ]
        case .maxRequests:
            [
                ("nginx", "keepalive_requests (default 1000 since 1.19.10; it replaced http2_max_requests in 1.19.7) ends an HTTP/2 connection with GOAWAY after that many requests. Raising it lowers the rate; clients must still re-send unprocessed requests."),
                ("Envoy", "common_http_protocol_options.max_requests_per_connection (unset means unlimited)."),
                ("GoAwayKit", "HTTP2Server.Configuration.connection.maxRequestsPerConnection (default: no limit): the server drains gracefully when it is reached."),
                ("Cloud load balancers", "AWS ALB ends client HTTP/2 connections after about 10,000 requests; this is not configurable."),
            ]
        case .maxAge:
            [
                ("gRPC", "Server MAX_CONNECTION_AGE (grpc-go keepalive.ServerParameters.MaxConnectionAge, core GRPC_ARG_MAX_CONNECTION_AGE_MS, grpc-java maxConnectionAge) plus MAX_CONNECTION_AGE_GRACE for in-flight RPCs; gRFC A9 asks for ±10% jitter."),
                ("Envoy", "common_http_protocol_options.max_connection_duration; the drain that follows uses drain_timeout."),
                ("GoAwayKit", "HTTP2Server.Configuration.connection.maxAge (default: off; ±10% jitter) and maxAgeGrace (default 30 s) for the streams still open."),
                ("Cloud load balancers", "AWS ALB client_keep_alive.seconds (default 3600 s) closes long-lived client connections."),
            ]
        case .idleTimeout:
            [
                ("nginx", "keepalive_timeout (default 75 s; for HTTP/2 it replaced http2_idle_timeout in 1.19.7)."),
                ("Envoy", "common_http_protocol_options.idle_timeout (default 1 h)."),
                ("gRPC", "Server MAX_CONNECTION_IDLE (grpc-go keepalive.ServerParameters.MaxConnectionIdle, core GRPC_ARG_MAX_CONNECTION_IDLE_MS)."),
                ("GoAwayKit", "HTTP2Server.Configuration.connection.idleTimeout (default 5 minutes; nil disables)."),
                ("Cloud load balancers", "AWS ALB idle_timeout.timeout_seconds (default 60 s); GCP external Application Load Balancer HTTP keepalive timeout (610 s by default)."),
                ("Go", "Close idle connections on the client first: http.Transport.IdleConnTimeout shorter than every server and LB idle timeout on the path."),
            ]
        case .tooManyPings:
            [
                ("gRPC", "Client: keepalive time (GRPC_ARG_KEEPALIVE_TIME_MS, grpc-go keepalive.ClientParameters.Time, grpc-java keepAliveTime) must be at least the server's minimum, which is 5 minutes by default (grpc-go keepalive.EnforcementPolicy.MinTime, core GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, grpc-java permitKeepAliveTime). Do not ping without active RPCs (GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, PermitWithoutStream) unless the server sets permit_without_stream. Or lower the server's MinTime / raise GRPC_ARG_HTTP2_MAX_PING_STRIKES to match the clients."),
                ("Go", "An http2.Transport ReadIdleTimeout shorter than the server's ping policy triggers the same answer from gRPC servers; keep it at or above the server's minimum."),
                ("GoAwayKit", "A GoAwayKit server answers with too_many_pings after connection.maxPingStrikes (default 2) PINGs closer together than connection.minimumPeerPingInterval (default 10 s) while no stream is open; keep client keepalive intervals above it, or raise these."),
            ]
        case .abuseProtection:
            [
                ("Any stack", "Check whether the client resets many streams right after opening them (the rapid-reset pattern, CVE-2023-44487) or sends floods of SETTINGS, PING or empty frames; fix the client rather than loosening the server."),
                ("Envoy", "Limits live in http2_protocol_options (max_outbound_frames, max_consecutive_inbound_frames_with_empty_payload, max_inbound_priority_frames_per_stream) and the overload manager."),
            ]
        case .flowControl:
            [
                ("Any stack", "Capture a frame trace (GODEBUG=http2debug=2, NODE_DEBUG=http2, nghttp -v, curl -v) and report it to the side that over-sent; check proxies that rewrite SETTINGS_INITIAL_WINDOW_SIZE or WINDOW_UPDATE."),
                ("Envoy", "initial_stream_window_size and initial_connection_window_size in http2_protocol_options must be consistent on both hops."),
            ]
        case .invalidHeader:
            [
                ("Any stack", "Send lowercase header names and drop connection-specific fields (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade); TE may only be \"trailers\" (RFC 9113 §8.2.2). Proxies that convert HTTP/1.1 to HTTP/2 must strip them."),
            ]
        case .protocolViolation:
            [
                ("Any stack", "Find the offending frame with a trace (GODEBUG=http2debug=2, NODE_DEBUG=http2, nghttp -v, curl -v) and upgrade or fix the side that sent it; an intermediary between client and server is a frequent culprit."),
            ]
        case .internalFailure:
            [
                ("Any stack", "Read the sender's error log at the time of the frame: INTERNAL_ERROR is its own failure (crash, out of memory, an upstream error in a proxy, a forced close after the drain deadline), not the client's."),
            ]
        case .settingsTimeout:
            [
                ("Any stack", "The peer did not ACK SETTINGS in time: look for a stalled event loop or a middlebox that buffers frames; raise the sender's settings-ACK timeout only after ruling those out."),
            ]
        case .streamState:
            [
                ("Any stack", "A frame arrived on a stream already closed: usually a race in a proxy or a peer that keeps sending DATA after RST_STREAM. Upgrade the intermediary and capture a frame trace."),
            ]
        case .frameSize:
            [
                ("Any stack", "Never send frames larger than the peer's SETTINGS_MAX_FRAME_SIZE (default 16,384 bytes); check proxies that advertise a larger size than their backend accepts."),
            ]
        case .compression:
            [
                ("Any stack", "HPACK tables are out of sync: a bug in one side or an intermediary, or a header block above the decoder's limits. The connection is unusable; capture a trace and report it."),
            ]
        case .streamLimit:
            [
                ("GoAwayKit", "HTTP2Client re-sends REFUSED_STREAM requests automatically; they were not processed (RFC 9113 §8.7)."),
                ("nginx", "http2_max_concurrent_streams (default 128) limits parallel streams per connection; excess streams are refused."),
                ("Go", "http2.Server.MaxConcurrentStreams (default 250); the Go transport retries REFUSED_STREAM itself."),
                ("Envoy", "http2_protocol_options.max_concurrent_streams; retry_policy retry_on: refused-stream re-sends refused streams, which is always safe."),
                ("Node.js", "settings.maxConcurrentStreams on the server; the client has to re-send refused streams itself."),
            ]
        case .cancelled:
            [
                ("Any stack", "Find who cancelled: a client deadline (gRPC deadline, Go context), a proxy timeout (Envoy route timeout, default 15 s; nginx proxy_read_timeout / grpc_read_timeout, default 60 s), or the user going away."),
            ]
        case .connectFailed:
            [
                ("Any stack", "The proxy lost or could not open the TCP connection to the CONNECT target: check the proxy's log, DNS and firewalls for that host."),
            ]
        case .tlsRequirements:
            [
                ("Any stack", "Use TLS 1.2 or later with an AEAD cipher suite not on the RFC 9113 Appendix A list, and no renegotiation (RFC 9113 §9.2)."),
            ]
        case .http11Required:
            [
                ("Any stack", "Retry this request over HTTP/1.1 (curl --http1.1); it usually means the server wants TLS renegotiation for a client certificate or a connection-based auth scheme (NTLM, Negotiate). Fix it on the server by requesting client certificates during the handshake."),
            ]
        case .connectionLost:
            [
                ("Any stack", "Log GOAWAYs on both sides to see whether one preceded the close; make idle timeouts shrink toward the client (client < load balancer < server) so the client closes idle connections first; enable HTTP/2 PING keepalive to detect dead connections (Go http2.Transport.ReadIdleTimeout, gRPC keepalive)."),
                ("GoAwayKit", "HTTP2Server.Configuration.connection.keepaliveInterval (default: off) and keepaliveTimeout (default 20 s) close connections whose peer stopped answering; HTTP2Client re-sends requests that were provably not processed."),
            ]
        case .unknownCode:
            [
                ("Any stack", "Decide as for INTERNAL_ERROR (RFC 9113 §7) and look the value up in the IANA HTTP/2 Error Code registry; no extension codes are widely deployed, so a peer bug is the likelier source."),
            ]
        }
    }
}
