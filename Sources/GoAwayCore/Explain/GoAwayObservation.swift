/// What an error message (or the `--code` flags) tells us about one HTTP/2 shutdown event.
///
/// Everything is optional because other stacks print only part of the frame: Node's
/// `ERR_HTTP2_GOAWAY_SESSION` has no code, grpc's "transport is closing" has nothing at all.
/// The explainer must never invent a field the message did not carry.
public struct GoAwayObservation: Hashable, Sendable {
    /// Which stack printed the message; decides which stack-specific notes and fixes come first.
    public var stack: Stack
    /// GOAWAY, RST_STREAM, a request left unprocessed after a GOAWAY, or a bare close.
    public var kind: Kind
    /// Who sent the frame. Almost always the server; nginx's `client …` lines are the exception.
    public var sender: Sender
    /// The error code, when the message shows one.
    public var code: HTTP2ErrorCode?
    /// The GOAWAY's last-stream-id, when the message shows one.
    public var lastStreamID: StreamID?
    /// The stream the failed request ran on, for RST_STREAM-style messages.
    public var streamID: StreamID?
    /// The GOAWAY's debug data, when the message shows it.
    public var debugData: GoAwayDebugData?
    /// A fact the stack states that the frame alone would not, e.g. Go's "cannot retry … after
    /// Request.Body was written". Short, stable token; see `StackNote`.
    public var notes: [StackNote]

    /// An observation; every field the message did not show stays `nil`.
    public init(
        stack: Stack, kind: Kind, sender: Sender = .server, code: HTTP2ErrorCode? = nil,
        lastStreamID: StreamID? = nil, streamID: StreamID? = nil, debugData: GoAwayDebugData? = nil,
        notes: [StackNote] = []
    ) {
        self.stack = stack
        self.kind = kind
        self.sender = sender
        self.code = code
        self.lastStreamID = lastStreamID
        self.streamID = streamID
        self.debugData = debugData
        self.notes = notes
    }

    /// What the message reports.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// A GOAWAY frame arrived (RFC 9113 §6.8).
        case goaway
        /// One stream ended with an error code (RST_STREAM, §6.4), or the stack reports it that way.
        case rstStream = "rst-stream"
        /// The request was refused locally or above Last-Stream-ID because of a GOAWAY: it was
        /// never processed (Node's ERR_HTTP2_GOAWAY_SESSION, Go's "graceful shutdown GOAWAY").
        case unprocessedAfterGoaway = "unprocessed-after-goaway"
        /// The connection closed with a request in flight and no HTTP/2 error code in the message.
        case connectionClosed = "connection-closed"
    }

    /// Who sent the frame.
    public enum Sender: String, Hashable, Sendable {
        /// The server (the usual case).
        case server
        /// The client.
        case client
        /// The message does not say.
        case unknown
    }

    /// Stacks we recognise messages from, named as people search for them.
    public enum Stack: String, Hashable, Sendable, CaseIterable {
        case flags
        case go
        case node
        case grpcGo = "grpc-go"
        case grpcJava = "grpc-java"
        case grpcCore = "grpc-core"
        case grpcJS = "grpc-js"
        case swiftNIO = "swift-nio-http2"
        case asyncHTTPClient = "async-http-client"
        case curl
        case pythonH2 = "python-h2"
        case okhttp
        case nginx
        case envoy
        /// A message that names GOAWAY or a too_many_pings token but no stack we know.
        case unknown

        /// The stack's name as people write it (`Go net/http`, `nginx`).
        public var displayName: String {
            switch self {
            case .flags: "frame fields given on the command line"
            case .go: "Go net/http (x/net/http2)"
            case .node: "Node.js http2"
            case .grpcGo: "grpc-go"
            case .grpcJava: "grpc-java"
            case .grpcCore: "gRPC core (C++, Python, Ruby, PHP)"
            case .grpcJS: "grpc-js (Node)"
            case .swiftNIO: "swift-nio-http2"
            case .asyncHTTPClient: "AsyncHTTPClient"
            case .curl: "curl / libcurl"
            case .pythonH2: "Python h2 / httpx / httpcore"
            case .okhttp: "OkHttp"
            case .nginx: "nginx"
            case .envoy: "Envoy"
            case .unknown: "unknown stack"
            }
        }
    }

    /// Stack-stated facts that change the advice.
    public enum StackNote: String, Hashable, Sendable {
        /// Go: the body was already written and `Request.GetBody` is nil, so Go could not re-send.
        case goBodyNotReplayable = "go-body-not-replayable"
        /// The stack says the connection was closed after the GOAWAY with this request unfinished.
        case closedAfterGoaway = "closed-after-goaway"
        /// grpc-java "Abrupt GOAWAY closed sent stream": the request had been sent.
        case requestWasSent = "request-was-sent"
        /// curl retries REFUSED_STREAM itself on a fresh connection.
        case stackRetries = "stack-retries"
        /// swift-nio-http2 closes streams above Last-Stream-ID with CANCEL, not REFUSED_STREAM.
        case nioCancelMayMeanUnprocessed = "nio-cancel-may-mean-unprocessed"
        /// Envoy or nginx reports on its upstream connection: the "caller" is the proxy.
        case proxyUpstream = "proxy-upstream"
    }
}
