import NIOCore
import NIOHTTP2
import Synchronization

/// The response body between the connection (producer, on its event loop) and its one reader.
///
/// Why not `AsyncThrowingStream`: its storage is generic code in the Concurrency runtime, never
/// specialised for our element, so every yield, finish and next instantiated generic metadata
/// (`_Storage.State`, `Terminal`, `Optional<Element>`, `Continuation.Termination`): about a tenth
/// of a small request's instructions under callgrind, plus two allocations and a continuation per
/// body. This one is concrete: a body that arrived whole before the reader looks (the usual case,
/// a head and its DATA in one read) is taken without suspending.
///
/// Same contract as the stream it replaces: buffered chunks first, then the end or the error
/// (once; `nil` after it); the reader's task cancelled, or every copy of the body dropped before
/// the end, ends it as abandoned and tells the connection (`BodyEvents.abandoned`: RST_STREAM).
final class ResponseBodyStorage: Sendable {
    enum End {
        case open, finished, failed(any Error), abandoned
    }

    struct State {
        /// The oldest chunk not taken yet, kept out of `chunks`: most bodies are one DATA frame,
        /// and the array's storage was an allocation a response.
        var first: ByteBuffer?
        /// The chunks after `first`.
        var chunks: [ByteBuffer] = []
        var next = 0
        var end: End = .open
        var waiter: UnsafeContinuation<ByteBuffer?, any Error>?

        /// What the reader gets now, or `nil`: nothing yet (the stream is open).
        mutating func take() -> Result<ByteBuffer?, any Error>? {
            if let chunk = first {
                first = nil
                return .success(chunk)
            }
            if next < chunks.count {
                let chunk = chunks[next]
                next += 1
                if next == chunks.count {
                    chunks.removeAll(keepingCapacity: true)
                    next = 0
                }
                return .success(chunk)
            }
            switch end {
            case .open: return nil
            case .finished, .abandoned: return .success(nil)
            case .failed(let error):
                end = .finished
                return .failure(error)
            }
        }
    }

    let streamID: HTTP2StreamID
    let events: BodyEvents?
    private let state = Mutex(State())

    init(streamID: HTTP2StreamID, events: BodyEvents?) {
        self.streamID = streamID
        self.events = events
    }

    // MARK: producer (the connection)

    func yield(_ chunk: ByteBuffer) {
        let waiter: UnsafeContinuation<ByteBuffer?, any Error>? = state.withLock { s in
            guard case .open = s.end else { return nil }
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            if s.first == nil, s.chunks.isEmpty {
                s.first = chunk
            } else {
                s.chunks.append(chunk)
            }
            return nil
        }
        waiter?.resume(returning: chunk)
    }

    /// The end (`error == nil`) or a failure; the first one counts.
    func finish(throwing error: (any Error)? = nil) {
        let waiter: UnsafeContinuation<ByteBuffer?, any Error>? = state.withLock { s in
            guard case .open = s.end else { return nil }
            guard let w = s.waiter else {
                s.end = error.map { .failed($0) } ?? .finished
                return nil
            }
            // A waiting reader has taken every chunk: it gets the end itself.
            s.waiter = nil
            s.end = .finished
            return w
        }
        guard let waiter else { return }
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }

    // MARK: consumer (the reader)

    nonisolated(nonsending) func next() async throws -> ByteBuffer? {
        if let now = state.withLock({ $0.take() }) { return try now.get() }
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<ByteBuffer?, any Error>) in
                let now: Result<ByteBuffer?, any Error>? = state.withLock { s in
                    let now = s.take()
                    if case .none = now { s.waiter = continuation }
                    return now
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            abandon()
        }
    }

    /// The reader gave up before the end (its task was cancelled, or it dropped the body).
    func abandon() {
        let (wasOpen, waiter): (Bool, UnsafeContinuation<ByteBuffer?, any Error>?) = state.withLock { s in
            guard case .open = s.end else { return (false, nil) }
            s.end = .abandoned
            s.first = nil
            s.chunks.removeAll()
            s.next = 0
            defer { s.waiter = nil }
            return (true, s.waiter)
        }
        waiter?.resume(returning: nil)
        if wasOpen { events?.abandoned(streamID) }
    }
}

/// Held by every copy of an `HTTP2ResponseBody`: when the last one goes, a body that has not ended
/// is abandoned (what `AsyncThrowingStream`'s termination handler did for a dropped stream).
final class ResponseBodyReader: Sendable {
    let storage: ResponseBodyStorage
    init(_ storage: ResponseBodyStorage) { self.storage = storage }
    deinit { storage.abandon() }
}

/// What a reader tells its connection, made once per connection (not a closure per body).
final class BodyEvents: Sendable {
    /// The reader took this many bytes (reported once at least `reportEvery` have gathered).
    let consumed: @Sendable (HTTP2StreamID, Int) -> Void
    let abandoned: @Sendable (HTTP2StreamID) -> Void
    let reportEvery: Int

    init(reportEvery: Int, consumed: @escaping @Sendable (HTTP2StreamID, Int) -> Void, abandoned: @escaping @Sendable (HTTP2StreamID) -> Void) {
        self.reportEvery = Swift.max(1, reportEvery)
        self.consumed = consumed
        self.abandoned = abandoned
    }
}
