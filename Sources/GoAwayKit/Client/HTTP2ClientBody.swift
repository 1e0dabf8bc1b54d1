import HTTPTypes
import NIOCore
import NIOHPACK

/// A request body. Re-sending after a GOAWAY needs the body again, so each kind says whether it can
/// be replayed: `.empty` and `.bytes` always can, `.replayable` calls its factory once per attempt,
/// `.stream` is read ahead up to `HTTP2ClientConfiguration.maxReplayBufferSize` bytes: a shorter one
/// is kept and replayable, a longer one is streamed and cannot be replayed. A request whose body
/// cannot be replayed fails with `notProcessed` instead of being re-sent, so the caller knows it is
/// safe to send again.
public struct HTTP2RequestBody: Sendable {
    enum Storage: Sendable {
        case empty
        case bytes(ByteBuffer)
        case factory(@Sendable () -> AsyncThrowingStream<ByteBuffer, any Error>)
        case stream(OneShotBody)
    }
    let storage: Storage

    /// No body: the request's HEADERS frame ends the stream.
    public static var empty: HTTP2RequestBody { HTTP2RequestBody(storage: .empty) }
    /// A body held in memory; always replayable. An empty buffer is `.empty`.
    public static func bytes(_ buffer: ByteBuffer) -> HTTP2RequestBody {
        buffer.readableBytes == 0 ? .empty : HTTP2RequestBody(storage: .bytes(buffer))
    }
    /// A body held in memory, copied from `bytes`; always replayable.
    public static func bytes(_ bytes: some Sequence<UInt8>) -> HTTP2RequestBody { .bytes(ByteBuffer(bytes: Array(bytes))) }
    /// A body of `text`'s UTF-8 bytes; always replayable.
    public static func string(_ text: String) -> HTTP2RequestBody { .bytes(ByteBuffer(string: text)) }
    /// A body produced again for every attempt.
    public static func replayable(_ makeBody: @escaping @Sendable () -> AsyncThrowingStream<ByteBuffer, any Error>) -> HTTP2RequestBody {
        HTTP2RequestBody(storage: .factory(makeBody))
    }
    /// A one-shot body, streamed as produced.
    public static func stream(_ body: AsyncThrowingStream<ByteBuffer, any Error>) -> HTTP2RequestBody {
        HTTP2RequestBody(storage: .stream(OneShotBody(body)))
    }

    var isReplayableUpFront: Bool {
        switch storage {
        case .empty, .bytes, .factory: true
        case .stream: false
        }
    }
    var isEmpty: Bool { if case .empty = storage { true } else { false } }
}

/// A long one-shot body after its read-ahead: the chunks already read, then the producer's own
/// iterator, pulled one chunk at a time as the upload asks for it. No task pumps it and nothing
/// buffers it, so while the server's flow-control window is closed the producer waits: memory stays
/// at the read-ahead limit, whatever the body's length.
actor ReadAhead {
    private var head: [ByteBuffer]
    private var iterator: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator

    init(_ head: [ByteBuffer], _ iterator: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator) {
        self.head = head.reversed()
        self.iterator = iterator
    }

    func next() async throws -> ByteBuffer? {
        if let chunk = head.popLast() { return chunk }
        // The iterator is a handle on the producer's stream: a copy pulls from the same one.
        var it = iterator
        defer { iterator = it }
        return try await it.next(isolation: self)
    }
}

/// A one-shot stream that may be iterated only once.
final class OneShotBody: Sendable {
    let stream: AsyncThrowingStream<ByteBuffer, any Error>
    init(_ stream: AsyncThrowingStream<ByteBuffer, any Error>) { self.stream = stream }
}

/// A response head and its streaming body. Consume `body` (or call `collect`) to finish the request.
public struct HTTP2ClientResponse: Sendable {
    /// The response head. The block was checked on arrival (RFC 9113 §8.2, §8.3.2); its header
    /// fields become `HTTPFields` when `head` is read, and again at each read of an unmodified copy:
    /// keep the `HTTPResponse` (`let head = response.head`) to read its fields many times. `status`
    /// alone builds nothing.
    public var head: HTTPResponse {
        get {
            switch storage {
            case .built(let head): head
            case .received(let status, let block): ResponseHeaders.response(status: status, block)
            }
        }
        set { storage = .built(newValue) }
    }
    /// The body, streamed as DATA frames arrive.
    public var body: HTTP2ResponseBody
    /// The `:status`; builds no header fields.
    public var status: HTTPResponse.Status {
        switch storage {
        case .built(let head): head.status
        case .received(let status, _): status
        }
    }

    enum Storage: Sendable {
        case built(HTTPResponse)
        /// A checked block (`ResponseHeaders.head`), its fields not built yet.
        case received(HTTPResponse.Status, HPACKHeaders)
    }
    var storage: Storage

    init(head: HTTPResponse, body: HTTP2ResponseBody) {
        self.storage = .built(head)
        self.body = body
    }

    init(status: HTTPResponse.Status, block: HPACKHeaders, body: HTTP2ResponseBody) {
        self.storage = .received(status, block)
        self.body = body
    }
}

/// The response body as it arrives: `for try await chunk in response.body`.
///
/// Reading is flow control: the stream's receive window goes back to the server as chunks are
/// taken, so a reader that stops holds at most one window (`receiveWindow`, default 1 MiB) of
/// this response in memory, and the server waits. One reader at a time; cancelling its task, or
/// dropping the body before its end, resets the stream.
///
/// Errors thrown mid-body are `HTTP2ClientError` (`streamReset`, `responseIncomplete`); a body cut off
/// after its head arrived is never re-sent automatically, because the caller has seen the response.
public struct HTTP2ResponseBody: AsyncSequence, Sendable {
    /// Payload bytes of one or more DATA frames.
    public typealias Element = ByteBuffer
    let reader: ResponseBodyReader

    init(_ storage: ResponseBodyStorage) {
        self.reader = ResponseBodyReader(storage)
    }

    /// Takes chunks one at a time; what it takes goes back to the flow-control window.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: ResponseBodyReader
        var taken = 0

        /// The next chunk, or `nil` at the body's end. Throws `HTTP2ClientError` if the stream was
        /// reset or the connection lost before the end.
        public mutating func next() async throws -> ByteBuffer? {
            try await take()
        }

        nonisolated(nonsending) mutating func take() async throws -> ByteBuffer? {
            let storage = reader.storage
            let chunk = try await storage.next()
            if let chunk, let events = storage.events {
                taken += chunk.readableBytes
                if taken >= events.reportEvery {
                    events.consumed(storage.streamID, taken)
                    taken = 0
                }
            }
            return chunk
        }
    }

    /// The body's one reader.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader)
    }

    /// All of it, up to `maxBytes` (then `responseTooLarge`).
    nonisolated(nonsending) public func collect(upTo maxBytes: Int) async throws -> ByteBuffer {
        var iterator = makeAsyncIterator()
        // The first chunk is the result as it is (a small body: no copy, no allocation).
        guard var out = try await iterator.take() else { return ByteBuffer() }
        guard out.readableBytes <= maxBytes else { throw Self.tooLarge(maxBytes) }
        while var chunk = try await iterator.take() {
            guard out.readableBytes + chunk.readableBytes <= maxBytes else { throw Self.tooLarge(maxBytes) }
            out.writeBuffer(&chunk)
        }
        return out
    }

    static func tooLarge(_ maxBytes: Int) -> HTTP2ClientError {
        HTTP2ClientError(.responseTooLarge, detail: "response body exceeds \(maxBytes) bytes")
    }
}

/// A response with its whole body.
public struct HTTP2BufferedResponse: Sendable {
    /// Status and header fields, as received.
    public var head: HTTPResponse
    /// The whole body.
    public var body: ByteBuffer
    /// `head.status`.
    public var status: HTTPResponse.Status { head.status }
}

extension HTTP2RequestBody {
    /// A one-shot stream is read ahead up to `limit` bytes (`maxReplayBufferSize`): when it ends
    /// within the limit it becomes replayable bytes, so a GOAWAY costs nothing; when it is longer, the
    /// bytes read so far are sent first, then the rest as it comes, and the request cannot be
    /// replayed (a GOAWAY then fails it with `notProcessed`, safe for the caller to send again).
    nonisolated(nonsending) func preparedForReplay(limit: Int) async throws -> HTTP2RequestBody {
        guard case .stream(let oneShot) = storage else { return self }
        var iterator = oneShot.stream.makeAsyncIterator()
        var head: [ByteBuffer] = []
        var total = 0
        while let chunk = try await iterator.next() {
            head.append(chunk)
            total += chunk.readableBytes
            if total > limit {
                let rest = ReadAhead(head, iterator)
                return .stream(AsyncThrowingStream(unfolding: { try await rest.next() }))
            }
        }
        var all = ByteBuffer()
        all.reserveCapacity(total)
        for var chunk in head { all.writeBuffer(&chunk) }
        return .bytes(all)
    }
}
