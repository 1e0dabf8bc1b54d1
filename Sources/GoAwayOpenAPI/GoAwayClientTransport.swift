import Foundation
import GoAwayKit
import HTTPTypes
import NIOCore
import OpenAPIRuntime

/// A swift-openapi-runtime `ClientTransport` over `HTTP2Client`: every generated
/// OpenAPI client becomes GOAWAY-proof without changing a call.
///
/// ```swift
/// let http = try HTTP2Client(endpoints: ["http://127.0.0.1:8080"])
/// let api = Client(serverURL: URL(string: "http://127.0.0.1:8080")!, transport: GoAwayClientTransport(client: http))
/// ```
///
/// What it maps:
/// - The request's path is appended to `baseURL`'s path; `:scheme` and `:authority` are
///   `baseURL`'s. The connection goes to the client's endpoints (the pool decides which one).
/// - Request bodies: `HTTPBody.iterationBehavior == .multiple` is re-sendable as is: up to the
///   client's `maxReplayBufferSize` it is sent as bytes, a longer one is iterated again for every
///   attempt, so a request a GOAWAY or REFUSED_STREAM proved unprocessed is re-sent whole. A
///   `.single` body is read ahead up to `maxReplayBufferSize`: one that fits is kept and
///   re-sendable; a longer one is streamed, and when a re-send would be needed the request fails
///   with `HTTP2ClientError.Code.notProcessed` (the server never saw it: safe to send again).
/// - Response bodies stream: the `HTTPBody` (`.single`) yields chunks as they arrive, with the
///   response's `content-length` as its length when present. HEAD responses have no body.
/// - Errors: swift-openapi-runtime wraps whatever a transport throws in `ClientError`; its
///   `underlyingError` is our `HTTP2ClientError`, so callers can tell `notProcessed` from
///   `possiblyProcessed` (see `ClientError.http2ClientError`).
public struct GoAwayClientTransport: ClientTransport {
    /// The client requests go through. The transport does not own it: call `shutdown()` on it.
    public let client: HTTP2Client

    /// A transport sending through `client`.
    public init(client: HTTP2Client) {
        self.client = client
    }

    /// Sends one operation's request; returns when the response head arrived.
    public func send(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String
    ) async throws -> (HTTPResponse, HTTPBody?) {
        let head = try Self.head(for: request, baseURL: baseURL)
        let requestBody = try await Self.requestBody(body, replayLimit: client.configuration.maxReplayBufferSize)
        let response = try await client.execute(head, body: requestBody)
        switch request.method {
        case .head, .connect, .trace:
            for try await _ in response.body {}
            return (response.head, nil)
        default:
            let length = response.head.headerFields[.contentLength].flatMap(Int64.init).map(HTTPBody.Length.known) ?? .unknown
            return (response.head, HTTPBody(ResponseChunks(body: response.body), length: length, iterationBehavior: .single))
        }
    }

    /// `baseURL` + the operation's path (and query), with `baseURL`'s scheme and authority.
    static func head(for request: HTTPRequest, baseURL: URL) throws(HTTP2ClientError) -> HTTPRequest {
        guard let components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false), let host = components.host, !host.isEmpty else {
            throw HTTP2ClientError(.invalidRequest, detail: "base URL \(baseURL.absoluteString) has no host")
        }
        var head = request
        head.scheme = components.scheme ?? "http"
        head.authority = components.port.map { "\(host):\($0)" } ?? host
        var prefix = components.percentEncodedPath
        while prefix.hasSuffix("/") { prefix.removeLast() }
        let path = request.path ?? "/"
        head.path = prefix + (path.hasPrefix("/") ? path : "/" + path)
        return head
    }

    /// A body that fits the replay limit is sent as bytes (one DATA frame, re-sendable at no cost):
    /// a `.multiple` one is read up to the limit here (and read again, streamed, when it is longer); a
    /// `.single` one is handed to the client as a one-shot stream, which reads it ahead the same way
    /// and, when it is longer, streams it without replay (`notProcessed` if a re-send is needed).
    static func requestBody(_ body: HTTPBody?, replayLimit: Int) async throws -> HTTP2RequestBody {
        guard let body else { return .empty }
        if body.length == .known(0) { return .empty }
        switch body.iterationBehavior {
        case .multiple:
            if case .known(let length) = body.length, length > replayLimit {
                return .replayable { Self.chunks(of: body) }
            }
            var collected = ByteBuffer()
            for try await chunk in body {
                guard collected.readableBytes + chunk.count <= replayLimit else {
                    return .replayable { Self.chunks(of: body) }
                }
                collected.writeBytes(chunk)
            }
            return .bytes(collected)
        case .single:
            return .stream(Self.chunks(of: body))
        }
    }

    /// Pulls `body` on demand: one chunk per `next()`, so nothing is buffered here.
    static func chunks(of body: HTTPBody) -> AsyncThrowingStream<ByteBuffer, any Error> {
        let source = ChunkSource(body.makeAsyncIterator())
        return AsyncThrowingStream(unfolding: { try await source.next() })
    }
}

/// The iterator of one request body, pulled by an `AsyncThrowingStream(unfolding:)`.
///
/// `@unchecked Sendable` is sound: the only access is `next()`, which the unfolding stream calls
/// strictly one at a time (it awaits each call before the consumer may ask again, and a stream has
/// a single consumer), so the mutable iterator is never touched concurrently.
private final class ChunkSource: @unchecked Sendable {
    private var iterator: HTTPBody.AsyncIterator
    init(_ iterator: HTTPBody.AsyncIterator) { self.iterator = iterator }
    func next() async throws -> ByteBuffer? {
        try await iterator.next().map { ByteBuffer(bytes: $0) }
    }
}

/// The response body as OpenAPI byte chunks, as it arrives.
struct ResponseChunks: AsyncSequence, Sendable {
    typealias Element = HTTPBody.ByteChunk
    let body: HTTP2ResponseBody

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: HTTP2ResponseBody.AsyncIterator
        mutating func next() async throws -> HTTPBody.ByteChunk? {
            try await base.next().map { ArraySlice($0.readableBytesView) }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: body.makeAsyncIterator()) }
}

extension ClientError {
    /// The `HTTP2ClientError` behind this error, when the transport was ``GoAwayClientTransport``:
    /// switch on its `code` (`notProcessed`: safe to send again; `possiblyProcessed`: the server
    /// may have acted on it).
    public var http2ClientError: HTTP2ClientError? { underlyingError as? HTTP2ClientError }
}
