import Testing
@testable import GoAwayCore

/// One verbatim-looking message per form the issue lists, with what the parser must extract.
/// `name` doubles as the golden file name for the message's text explanation.
struct MessageCase: Sendable, CustomTestStringConvertible {
    var name: String
    var message: String
    var stack: GoAwayObservation.Stack
    var kind: GoAwayObservation.Kind
    var code: HTTP2ErrorCode? = nil
    var lastStreamID: StreamID? = nil
    var streamID: StreamID? = nil
    var debug: String? = nil
    var sender: GoAwayObservation.Sender = .server

    var testDescription: String { name }
}

let messageCases: [MessageCase] = [
    // Go x/net/http2
    .init(name: "go-goaway-no-error", message: #"http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug="""#,
          stack: .go, kind: .goaway, code: .noError, lastStreamID: 1),
    .init(name: "go-goaway-1999-in-url-error", message: #"Get "https://api.example.com/v1/items": http2: server sent GOAWAY and closed the connection; LastStreamID=1999, ErrCode=NO_ERROR, debug="""#,
          stack: .go, kind: .goaway, code: .noError, lastStreamID: 1999),
    .init(name: "go-goaway-too-many-pings", message: #"http2: server sent GOAWAY and closed the connection; LastStreamID=0, ErrCode=ENHANCE_YOUR_CALM, debug="too_many_pings""#,
          stack: .go, kind: .goaway, code: .enhanceYourCalm, lastStreamID: 0, debug: "too_many_pings"),
    .init(name: "go-goaway-unknown-code", message: #"http2: server sent GOAWAY and closed the connection; LastStreamID=7, ErrCode=unknown error code 0x1f, debug="""#,
          stack: .go, kind: .goaway, code: HTTP2ErrorCode(0x1f), lastStreamID: 7),
    .init(name: "go-graceful-shutdown-goaway", message: "http2: Transport received Server's graceful shutdown GOAWAY",
          stack: .go, kind: .unprocessedAfterGoaway),
    .init(name: "go-cannot-retry-body", message: "Post \"https://api.example.com/orders\": http2: Transport: cannot retry err [http2: Transport received Server's graceful shutdown GOAWAY] after Request.Body was written; define Request.GetBody to avoid this error",
          stack: .go, kind: .unprocessedAfterGoaway),
    .init(name: "go-stream-error-refused", message: "stream error: stream ID 3; REFUSED_STREAM",
          stack: .go, kind: .rstStream, code: .refusedStream, streamID: 3),
    .init(name: "go-stream-error-from-peer", message: "stream error: stream ID 5; PROTOCOL_ERROR; received from peer",
          stack: .go, kind: .rstStream, code: .protocolError, streamID: 5),
    .init(name: "go-debug-log", message: #"2017/01/19 16:33:50 http2: Transport received GOAWAY len=8 LastStreamID=13 ErrCode=NO_ERROR Debug="""#,
          stack: .go, kind: .goaway, code: .noError, lastStreamID: 13),
    // Node.js http2
    .init(name: "node-goaway-session", message: "Error [ERR_HTTP2_GOAWAY_SESSION]: New streams cannot be created after receiving a GOAWAY",
          stack: .node, kind: .unprocessedAfterGoaway),
    .init(name: "node-session-error", message: "Error [ERR_HTTP2_SESSION_ERROR]: Session closed with error code 2",
          stack: .node, kind: .goaway, code: .internalError),
    .init(name: "node-stream-error", message: "Error [ERR_HTTP2_STREAM_ERROR]: Stream closed with error code NGHTTP2_REFUSED_STREAM",
          stack: .node, kind: .rstStream, code: .refusedStream),
    // grpc
    .init(name: "grpc-go-prior-goaway-too-many-pings", message: #"rpc error: code = Unavailable desc = closing transport due to: connection error: desc = "error reading from server: EOF", received prior goaway: code: ENHANCE_YOUR_CALM, debug data: "too_many_pings""#,
          stack: .grpcGo, kind: .goaway, code: .enhanceYourCalm, debug: "too_many_pings"),
    .init(name: "grpc-go-prior-goaway-graceful-stop", message: #"ERROR: failed to receive status: rpc error: code = Unavailable desc = closing transport due to: connection error: desc = "error reading from server: EOF", received prior goaway: code: NO_ERROR, debug data: "graceful_stop""#,
          stack: .grpcGo, kind: .goaway, code: .noError, debug: "graceful_stop"),
    .init(name: "grpc-go-transport-closing", message: "rpc error: code = Unavailable desc = transport is closing",
          stack: .grpcGo, kind: .connectionClosed),
    .init(name: "grpc-go-client-log-too-many-pings", message: #"ERROR: [transport] Client received GoAway with error code ENHANCE_YOUR_CALM and debug data equal to ASCII "too_many_pings"."#,
          stack: .grpcGo, kind: .goaway, code: .enhanceYourCalm, debug: "too_many_pings"),
    .init(name: "grpc-go-rst-stream", message: "rpc error: code = Unavailable desc = stream terminated by RST_STREAM with error code: REFUSED_STREAM",
          stack: .grpcGo, kind: .rstStream, code: .refusedStream),
    .init(name: "grpc-java-abrupt-sent", message: "io.grpc.StatusRuntimeException: UNAVAILABLE: Abrupt GOAWAY closed sent stream. HTTP/2 error code: NO_ERROR",
          stack: .grpcJava, kind: .unprocessedAfterGoaway, code: .noError),
    .init(name: "grpc-java-abrupt-sent-protocol-error", message: "io.grpc.StatusRuntimeException: INTERNAL: Abrupt GOAWAY closed sent stream. HTTP/2 error code: PROTOCOL_ERROR",
          stack: .grpcJava, kind: .unprocessedAfterGoaway, code: .protocolError),
    .init(name: "grpc-java-abrupt-unsent", message: "io.grpc.StatusRuntimeException: UNAVAILABLE: Abrupt GOAWAY closed unsent stream. HTTP/2 error code: NO_ERROR",
          stack: .grpcJava, kind: .unprocessedAfterGoaway, code: .noError),
    .init(name: "grpc-java-closed-after-goaway-max-age", message: "io.grpc.StatusRuntimeException: UNAVAILABLE: Connection closed after GOAWAY. HTTP/2 error code: NO_ERROR, debug data: max_age",
          stack: .grpcJava, kind: .goaway, code: .noError, debug: "max_age"),
    .init(name: "grpc-core-goaway-log", message: #"E0512 10:00:00.000000 123 chttp2_transport.cc:1127] Received a GOAWAY with error code ENHANCE_YOUR_CALM and debug data equal to "too_many_pings""#,
          stack: .grpcCore, kind: .goaway, code: .enhanceYourCalm, debug: "too_many_pings"),
    .init(name: "grpc-python-goaway-received", message: "<_InactiveRpcError of RPC that terminated with:\n\tstatus = StatusCode.UNAVAILABLE\n\tdetails = \"GOAWAY received\"\n>",
          stack: .grpcCore, kind: .goaway),
    .init(name: "grpc-js-excess-pings", message: "Connection to dns:localhost:50051 at 127.0.0.1:50051 rejected by server because of excess pings. Increasing ping interval to 120000 ms",
          stack: .grpcJS, kind: .goaway, code: .enhanceYourCalm, debug: "too_many_pings"),
    .init(name: "bare-too-many-pings", message: "too_many_pings",
          stack: .unknown, kind: .goaway, code: .enhanceYourCalm, debug: "too_many_pings"),
    // swift-nio-http2 / AsyncHTTPClient
    .init(name: "nio-stream-closed-cancel", message: #"StreamClosed(streamID: HTTP2StreamID(5), errorCode: HTTP2ErrorCode<0x8 Cancel>, location: "NIOHTTP2/HTTP2StreamChannel.swift:797")"#,
          stack: .swiftNIO, kind: .rstStream, code: .cancel, streamID: 5),
    .init(name: "nio-stream-closed-refused", message: #"StreamClosed(streamID: HTTP2StreamID(9), errorCode: HTTP2ErrorCode<0x7 Refused Stream>, location: "NIOHTTP2/HTTP2StreamChannel.swift:797")"#,
          stack: .swiftNIO, kind: .rstStream, code: .refusedStream, streamID: 9),
    .init(name: "nio-created-stream-after-goaway", message: #"CreatedStreamAfterGoaway(location: "NIOHTTP2/ConnectionStateMachine.swift:1030")"#,
          stack: .swiftNIO, kind: .unprocessedAfterGoaway),
    .init(name: "ahc-remote-connection-closed", message: "HTTPClientError.remoteConnectionClosed",
          stack: .asyncHTTPClient, kind: .connectionClosed),
    // curl
    .init(name: "curl-not-closed-cleanly-protocol-error", message: "curl: (92) HTTP/2 stream 1 was not closed cleanly: PROTOCOL_ERROR (err 1)",
          stack: .curl, kind: .rstStream, code: .protocolError, streamID: 1),
    .init(name: "curl-not-closed-cleanly-before-end", message: "curl: (92) HTTP/2 stream 5 was not closed cleanly before end of the underlying stream",
          stack: .curl, kind: .connectionClosed, streamID: 5),
    .init(name: "curl-verbose-goaway", message: "* received GOAWAY, error=0, last_stream=1999",
          stack: .curl, kind: .goaway, code: .noError, lastStreamID: 1999),
    .init(name: "curl-refused-retry", message: "* REFUSED_STREAM, retrying a fresh connect",
          stack: .curl, kind: .rstStream, code: .refusedStream),
    // Python h2 / httpx
    .init(name: "httpx-connection-terminated", message: "httpx.RemoteProtocolError: <ConnectionTerminated error_code:ErrorCodes.NO_ERROR, last_stream_id:1999, additional_data:None>",
          stack: .pythonH2, kind: .goaway, code: .noError, lastStreamID: 1999),
    .init(name: "h2-connection-terminated-hex", message: "<ConnectionTerminated error_code:11, last_stream_id:0, additional_data:746f6f5f6d616e795f70696e6773>",
          stack: .pythonH2, kind: .goaway, code: .enhanceYourCalm, lastStreamID: 0, debug: "too_many_pings"),
    .init(name: "h2-connection-terminated-kwargs", message: "ConnectionTerminated(error_code=ErrorCodes.PROTOCOL_ERROR, last_stream_id=3)",
          stack: .pythonH2, kind: .goaway, code: .protocolError, lastStreamID: 3),
    .init(name: "h2-stream-reset", message: "<StreamReset stream_id:1, error_code:ErrorCodes.REFUSED_STREAM, remote_reset:True>",
          stack: .pythonH2, kind: .rstStream, code: .refusedStream, streamID: 1),
    // OkHttp
    .init(name: "okhttp-stream-reset", message: "okhttp3.internal.http2.StreamResetException: stream was reset: REFUSED_STREAM",
          stack: .okhttp, kind: .rstStream, code: .refusedStream),
    .init(name: "okhttp-connection-shutdown", message: "okhttp3.internal.http2.ConnectionShutdownException",
          stack: .okhttp, kind: .unprocessedAfterGoaway),
    // nginx
    .init(name: "nginx-upstream-goaway", message: #"2024/05/12 10:00:00 [error] 123#123: *45 upstream sent goaway with error 2 while reading response header from upstream, client: 10.0.0.1, server: _, request: "POST /pkg.Svc/Method HTTP/2.0", upstream: "grpc://10.0.0.2:50051""#,
          stack: .nginx, kind: .goaway, code: .internalError),
    .init(name: "nginx-upstream-rejected", message: #"2020/09/09 19:29:21 [error] 41615#41615: *16476145 upstream rejected request with error 7 while reading response header from upstream, client: 10.52.0.145, server: _, request: "POST /orderer.AtomicBroadcast/Deliver HTTP/2.0""#,
          stack: .nginx, kind: .rstStream, code: .refusedStream),
    .init(name: "nginx-client-canceled", message: "2024/05/12 10:00:00 [info] 7#7: *9 client canceled stream 5 while sending request to upstream",
          stack: .nginx, kind: .rstStream, code: .cancel, streamID: 5, sender: .client),
    .init(name: "nginx-client-terminated", message: "2024/05/12 10:00:00 [info] 7#7: *9 client terminated stream 3 with status 1",
          stack: .nginx, kind: .rstStream, code: .protocolError, streamID: 3, sender: .client),
    .init(name: "nginx-debug-send-goaway", message: "2024/05/12 10:00:00 [debug] 7#7: *9 http2 send GOAWAY frame: last sid 1999, error 0",
          stack: .nginx, kind: .goaway, code: .noError, lastStreamID: 1999),
    // Envoy
    .init(name: "envoy-refused-stream", message: "upstream_reset_before_response_started{remote_refused_stream_reset}",
          stack: .envoy, kind: .rstStream, code: .refusedStream),
    .init(name: "envoy-connection-termination", message: "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
          stack: .envoy, kind: .connectionClosed),
    .init(name: "envoy-remote-reset", message: #"[2024-05-12T10:00:00.000Z] "POST /api HTTP/2" 503 UR upstream_reset_before_response_started{remote_reset} 0 0"#,
          stack: .envoy, kind: .rstStream),
    // A stack we have no recogniser for
    .init(name: "generic-goaway", message: "h2 connection got GOAWAY, last stream id 7, error code INTERNAL_ERROR",
          stack: .unknown, kind: .goaway, code: .internalError, lastStreamID: 7),
]

/// Messages that must not be mistaken for an HTTP/2 shutdown.
let unrecognisedMessages: [String] = [
    "",
    "   ",
    "connect: connection refused",
    "HTTP/1.1 502 Bad Gateway",
    "Error: read ECONNRESET",
    "curl: (6) Could not resolve host: example.com",
    "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
]
