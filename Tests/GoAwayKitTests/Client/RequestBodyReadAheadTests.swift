import NIOCore
import Synchronization
@testable import GoAwayKit
import Testing

/// A one-shot request body longer than the replay limit is read ahead up to the limit, then pulled
/// from its producer only as the upload asks: nothing pumps it into a buffer behind the caller's
/// back (a slow server's closed window would otherwise hold the whole body in memory).
@Suite struct RequestBodyReadAheadTests {
    final class Pulled: Sendable {
        private let count = Mutex(0)
        func next() -> Int { count.withLock { n -> Int in n += 1; return n - 1 } }
        var value: Int { count.withLock { $0 } }
    }

    /// A producer of `count` 4-byte chunks (`0000`, `0001`, …) that counts how many were pulled.
    static func producer(count: Int, pulled: Pulled) -> AsyncThrowingStream<ByteBuffer, any Error> {
        AsyncThrowingStream(unfolding: {
            let n = pulled.next()
            guard n < count else { return nil }
            return ByteBuffer(string: String(repeating: "0", count: 4 - String(n).count) + String(n))
        })
    }

    @Test func longBodyIsPulledNotPumped() async throws {
        let pulled = Pulled()
        let body = HTTP2RequestBody.stream(Self.producer(count: 5_000, pulled: pulled))
        let prepared = try await body.preparedForReplay(limit: 10)
        // 12 bytes passed the limit: three chunks read ahead, and the body cannot be replayed.
        #expect(pulled.value == 3)
        #expect(!prepared.isReplayableUpFront)
        for _ in 0..<100 { await Task.yield() }
        try await Task.sleep(for: .milliseconds(20))
        #expect(pulled.value == 3, "nothing may read the producer before the upload does")
        guard case .stream(let rest) = prepared.storage else { Issue.record("not a stream"); return }
        var iterator = rest.stream.makeAsyncIterator()
        var expected = 0
        while let chunk = try await iterator.next() {
            #expect(String(buffer: chunk) == String(repeating: "0", count: 4 - String(expected).count) + String(expected))
            expected += 1
            // The three read ahead come back first; after them, one pull per chunk taken.
            #expect(pulled.value == max(3, expected))
        }
        #expect(expected == 5_000)
    }

    @Test func shortBodyBecomesReplayableBytes() async throws {
        let pulled = Pulled()
        let prepared = try await HTTP2RequestBody.stream(Self.producer(count: 2, pulled: pulled)).preparedForReplay(limit: 10)
        #expect(prepared.isReplayableUpFront)
        guard case .bytes(let all) = prepared.storage else { Issue.record("not bytes"); return }
        #expect(String(buffer: all) == "00000001")
    }
}
