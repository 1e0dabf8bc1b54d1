import GoAwayCore
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP2

/// One client connection exactly as `ClientRuntime` builds it (NIOHTTP2Handler +
/// `ClientConnectionHandler`), on a channel the caller drives — the fuzz target feeds it a
/// server's bytes. A recording delegate checks the connection's promises to the pool:
/// - every request ends exactly once (a response head or a stream failure; the streams still open
///   at the close fail right after `connectionClosed`, so the pool re-sends them elsewhere);
/// - a request with a response head is done (`streamDone`) at most once;
/// - the close is reported once.
@_spi(Testing) public final class ClientConnectionFuzzing: ClientConnectionDelegate, @unchecked Sendable {
    // @unchecked: used from one thread only — the caller's, which drives an EmbeddedEventLoop
    // (the fuzz harness is single-threaded); the handler calls back on that loop.
    private var ended: [RequestID: Int] = [:]
    private var done: [RequestID: Int] = [:]
    private var closes = 0
    private var started: [RequestID] = []
    private var handler: ClientConnectionHandler?
    /// Broken invariants seen so far, one line each (empty: none).
    public private(set) var violations: [String] = []

    /// A harness with no connection yet; `install(on:)` adds one.
    public init() {}

    /// Adds the client pipeline to `channel` (not yet active).
    public func install(on channel: any Channel, configuration: HTTP2ClientConfiguration = .defaults) throws {
        let handler = ClientConnectionHandler(
            id: ConnectionID(0), delegate: self, logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }),
            configuration: configuration, keepaliveInterval: .seconds(5))
        self.handler = handler
        let sync = channel.pipeline.syncOperations
        try ClientPipeline.addHTTP2Handlers(
            to: sync, tls: nil, endpoint: nil, trace: nil, traceConnection: 1, settings: ClientConnectionHandler.initialSettings(configuration),
            validatesHeaders: false)
        try sync.addHandler(handler)
    }

    /// Starts `count` requests (GETs, and a POST with a small body when `post`).
    public func startRequests(_ count: Int, post: Bool) {
        guard let handler else { return }
        var requests: [PendingRequest] = []
        for i in 0..<count {
            let id = RequestID(started.count + 1)
            started.append(id)
            let isPost = post && i == count - 1
            let head = HTTPRequest(method: isPost ? .post : .get, scheme: "http", authority: "fuzz", path: "/\(i)")
            requests.append(PendingRequest(id: id, head: head, body: isPost ? .bytes(Array(repeating: 0x61, count: 100)) : .empty))
        }
        handler.start(requests)
    }

    /// After the channel closed: every request ended, the close reported once.
    public func checkClosed() -> [String] {
        var out = violations
        if closes != 1 { out.append("connectionClosed reported \(closes) times") }
        for id in started where ended[id, default: 0] != 1 {
            out.append("\(id) ended \(ended[id, default: 0]) times by the close")
        }
        return out
    }

    private func end(_ id: RequestID, _ what: String) {
        ended[id, default: 0] += 1
        if ended[id]! > 1 { violations.append("\(id) ended twice (\(what))") }
    }

    // MARK: ClientConnectionDelegate

    func connectionActive(_ id: ConnectionID, handler: NIOLoopBound<ClientConnectionHandler>) {}
    func connectionReady(_ id: ConnectionID, maxConcurrentStreams: Int?) {}
    func settingsChanged(_ id: ConnectionID, maxConcurrentStreams: Int) {}
    func goAwayReceived(_ id: ConnectionID, lastStreamID: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode, debugData: [UInt8]) {}
    func streamFailed(_ request: RequestID, streamID: HTTP2StreamID?, lastStreamID: HTTP2StreamID?, resetCode: NIOHTTP2.HTTP2ErrorCode?, cause: String?) {
        end(request, "streamFailed")
    }
    func responseHead(_ request: RequestID, _ response: HTTP2ClientResponse) -> Bool {
        end(request, "responseHead")
        return true
    }
    func streamDone(_ request: RequestID) {
        done[request, default: 0] += 1
        if done[request]! > 1 { violations.append("\(request) done twice") }
    }
    func connectTimedOut(_ id: ConnectionID) {}
    func connectionClosed(_ id: ConnectionID, cause: String?) {
        closes += 1
    }
}
