import HTTPTypes
import NIOCore

/// The streaming body of a request: `ByteBuffer`s in arrival order.
///
/// Reading is flow control: a chunk counts toward the stream's WINDOW_UPDATE only once the
/// handler has taken it, so a slow handler slows the peer down instead of buffering without bound.
public struct RequestBody: AsyncSequence, Sendable {
    /// Body chunks as they arrive.
    public typealias Element = ByteBuffer
    let stream: AsyncThrowingStream<ByteBuffer, any Error>?
    let consumed: (@Sendable (Int) -> Void)?

    package static let empty = RequestBody(stream: nil, consumed: nil)

    /// Reads the body; reading a chunk returns its flow-control window to the peer.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator?
        let consumed: (@Sendable (Int) -> Void)?
        /// The next chunk, or `nil` at the body's end; throws if the stream was reset first.
        public mutating func next() async throws -> ByteBuffer? {
            guard base != nil else { return nil }
            let chunk = try await base!.next()
            if let chunk, let consumed { consumed(chunk.readableBytes) }
            return chunk
        }
    }

    /// An iterator over the body (one consumer).
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream?.makeAsyncIterator(), consumed: consumed)
    }

    /// Collects the whole body, failing past `limit` bytes.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await var chunk in self {
            guard all.readableBytes + chunk.readableBytes <= limit else { throw RequestBodyTooLarge(limit: limit) }
            all.writeBuffer(&chunk)
        }
        return all
    }
}

/// Thrown by `RequestBody.collect(upTo:)` past its limit; answered with 413 by default.
public struct RequestBodyTooLarge: Error, CustomStringConvertible {
    /// The limit that was passed.
    public var limit: Int
    /// `request body larger than N bytes`.
    public var description: String { "request body larger than \(limit) bytes" }
}

/// What a handler returns: the head, a body, optional trailers.
public struct ServerResponse: Sendable {
    /// A response body: none, one buffer, or written as it is produced.
    public enum Body: Sendable {
        case empty
        /// The whole body: sent with the head in one flush, with `content-length`.
        case buffer(ByteBuffer)
        /// Written piece by piece; each `write` waits until the peer's flow-control window took it.
        case stream(@Sendable (ResponseBodyWriter) async throws -> Void)
    }

    /// Status and header fields.
    public var head: HTTPResponse
    /// The body.
    public var body: Body
    /// Trailer fields sent after the body, if any.
    public var trailers: HTTPFields?

    /// A response from its head, body and trailers.
    public init(_ head: HTTPResponse, body: Body = .empty, trailers: HTTPFields? = nil) {
        self.head = head
        self.body = body
        self.trailers = trailers
    }

    /// A response with one buffer as its body (content-length set).
    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: ByteBuffer) {
        self.init(HTTPResponse(status: status, headerFields: headerFields), body: .buffer(body))
    }

    /// A text response (UTF-8, `text/plain` unless `headerFields` say otherwise).
    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], text: String) {
        var fields = headerFields
        if fields[.contentType] == nil { fields[.contentType] = "text/plain; charset=utf-8" }
        self.init(HTTPResponse(status: status, headerFields: fields), body: .buffer(ByteBuffer(string: text)))
    }
}

/// Writes a streamed response body. Each call waits until the frame left through flow control.
public struct ResponseBodyWriter: Sendable {
    let writeChunk: @Sendable (ByteBuffer) async throws -> Void
    /// Writes one chunk; waits while the peer cannot take more (flow control, socket).
    public func write(_ buffer: ByteBuffer) async throws { try await writeChunk(buffer) }
    /// Writes a string as UTF-8; waits while the peer cannot take more.
    public func write(_ string: String) async throws { try await writeChunk(ByteBuffer(string: string)) }
}

/// Facts about the request's connection and stream.
public struct RequestContext: Sendable {
    /// The connection's id (as in `ServerEvent`).
    public var connectionID: Int
    /// The HTTP/2 stream id of this request.
    public var streamID: Int
    /// The peer, when known.
    public var remoteAddress: SocketAddress?
    /// Our end of the connection, when known.
    public var localAddress: SocketAddress?
}

/// A stream ended before its response finished (the peer reset it or the connection closed).
public struct StreamResetError: Error, CustomStringConvertible {
    /// The RST_STREAM error code (8 CANCEL when the connection closed).
    public var code: Int
    /// `stream reset by peer (error code N)`.
    public var description: String { "stream reset by peer (error code \(code))" }
}
