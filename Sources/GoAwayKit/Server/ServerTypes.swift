import HTTPTypes
import NIOCore

/// The streaming body of a request: `ByteBuffer`s in arrival order.
///
/// Reading is flow control: a chunk counts toward the stream's WINDOW_UPDATE only once the
/// handler has taken it, so a slow handler slows the peer down instead of buffering without bound.
public struct RequestBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let stream: AsyncThrowingStream<ByteBuffer, any Error>?
    let consumed: (@Sendable (Int) -> Void)?

    static let empty = RequestBody(stream: nil, consumed: nil)

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator?
        let consumed: (@Sendable (Int) -> Void)?
        public mutating func next() async throws -> ByteBuffer? {
            guard base != nil else { return nil }
            let chunk = try await base!.next()
            if let chunk, let consumed { consumed(chunk.readableBytes) }
            return chunk
        }
    }

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

public struct RequestBodyTooLarge: Error, CustomStringConvertible {
    public var limit: Int
    public var description: String { "request body larger than \(limit) bytes" }
}

/// What a handler returns: the head, a body, optional trailers.
public struct ServerResponse: Sendable {
    public enum Body: Sendable {
        case empty
        /// The whole body: sent with the head in one flush, with `content-length`.
        case buffer(ByteBuffer)
        /// Written piece by piece; each `write` waits until the peer's flow-control window took it.
        case stream(@Sendable (ResponseBodyWriter) async throws -> Void)
    }

    public var head: HTTPResponse
    public var body: Body
    public var trailers: HTTPFields?

    public init(_ head: HTTPResponse, body: Body = .empty, trailers: HTTPFields? = nil) {
        self.head = head
        self.body = body
        self.trailers = trailers
    }

    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: ByteBuffer) {
        self.init(HTTPResponse(status: status, headerFields: headerFields), body: .buffer(body))
    }

    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], text: String) {
        var fields = headerFields
        if fields[.contentType] == nil { fields[.contentType] = "text/plain; charset=utf-8" }
        self.init(HTTPResponse(status: status, headerFields: fields), body: .buffer(ByteBuffer(string: text)))
    }
}

/// Writes a streamed response body. Each call waits until the frame left through flow control.
public struct ResponseBodyWriter: Sendable {
    let writeChunk: @Sendable (ByteBuffer) async throws -> Void
    public func write(_ buffer: ByteBuffer) async throws { try await writeChunk(buffer) }
    public func write(_ string: String) async throws { try await writeChunk(ByteBuffer(string: string)) }
}

/// Facts about the request's connection and stream.
public struct RequestContext: Sendable {
    public var connectionID: Int
    public var streamID: Int
    public var remoteAddress: SocketAddress?
    public var localAddress: SocketAddress?
}

/// A stream ended before its response finished (the peer reset it or the connection closed).
public struct StreamResetError: Error, CustomStringConvertible {
    public var code: Int
    public var description: String { "stream reset by peer (error code \(code))" }
}
