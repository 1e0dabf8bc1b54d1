import NIOCore
import NIOHTTP2
import Synchronization
import Testing

@testable import GoAwayKit

/// The response body's own stream (it replaced `AsyncThrowingStream`): the same contract.
struct ResponseBodyStreamTests {
    final class Abandoned: Sendable {
        let streams = Mutex<[Int]>([])
        var events: BodyEvents {
            BodyEvents(reportEvery: 1, consumed: { _, _ in }, abandoned: { sid in self.streams.withLock { $0.append(Int(sid)) } })
        }
        var count: Int { streams.withLock { $0.count } }
    }

    @Test func chunksThenTheEndThenNil() async throws {
        let storage = ResponseBodyStorage(streamID: 1, events: nil)
        storage.yield(ByteBuffer(string: "ab"))
        storage.yield(ByteBuffer(string: "c"))
        storage.finish()
        storage.yield(ByteBuffer(string: "late"))
        var iterator = HTTP2ResponseBody(storage).makeAsyncIterator()
        #expect(try await iterator.next() == ByteBuffer(string: "ab"))
        #expect(try await iterator.next() == ByteBuffer(string: "c"))
        #expect(try await iterator.next() == nil)
        #expect(try await iterator.next() == nil)
    }

    @Test func aFailureComesAfterTheBufferedChunksOnce() async throws {
        let storage = ResponseBodyStorage(streamID: 1, events: nil)
        storage.yield(ByteBuffer(string: "ab"))
        storage.finish(throwing: HTTP2ClientError(.streamReset))
        storage.finish()  // the first end counts
        var iterator = HTTP2ResponseBody(storage).makeAsyncIterator()
        #expect(try await iterator.next() == ByteBuffer(string: "ab"))
        await #expect(throws: HTTP2ClientError(.streamReset)) { _ = try await iterator.next() }
        #expect(try await iterator.next() == nil)
    }

    @Test func aWaitingReaderIsResumedByTheProducer() async throws {
        let storage = ResponseBodyStorage(streamID: 1, events: nil)
        let body = HTTP2ResponseBody(storage)
        let reader = Task { try await body.collect(upTo: 100) }
        try await Task.sleep(for: .milliseconds(20))
        storage.yield(ByteBuffer(string: "ab"))
        try await Task.sleep(for: .milliseconds(20))
        storage.yield(ByteBuffer(string: "cd"))
        storage.finish()
        #expect(try await reader.value == ByteBuffer(string: "abcd"))
    }

    @Test func aWaitingReaderGetsTheFailure() async throws {
        let storage = ResponseBodyStorage(streamID: 1, events: nil)
        let body = HTTP2ResponseBody(storage)
        let reader = Task { try await body.collect(upTo: 100) }
        try await Task.sleep(for: .milliseconds(20))
        storage.finish(throwing: HTTP2ClientError(.responseIncomplete))
        await #expect(throws: HTTP2ClientError(.responseIncomplete)) { _ = try await reader.value }
    }

    @Test func cancellingTheReaderAbandonsTheBody() async throws {
        let abandoned = Abandoned()
        let storage = ResponseBodyStorage(streamID: 3, events: abandoned.events)
        let body = HTTP2ResponseBody(storage)
        let reader = Task { for try await _ in body {} }
        try await Task.sleep(for: .milliseconds(20))
        reader.cancel()
        _ = await reader.result
        #expect(abandoned.streams.withLock { $0 } == [3])
        storage.finish()  // late: nothing more
        #expect(abandoned.count == 1)
    }

    @Test func droppingAnUnfinishedBodyAbandonsIt() {
        let abandoned = Abandoned()
        do {
            let storage = ResponseBodyStorage(streamID: 5, events: abandoned.events)
            _ = HTTP2ResponseBody(storage)
        }
        #expect(abandoned.streams.withLock { $0 } == [5])
        do {
            let storage = ResponseBodyStorage(streamID: 7, events: abandoned.events)
            let body = HTTP2ResponseBody(storage)
            storage.finish()
            withExtendedLifetime(body) {}
        }
        #expect(abandoned.count == 1, "a finished body is not abandoned")
    }

    @Test func collectSaysTooLarge() async throws {
        let storage = ResponseBodyStorage(streamID: 1, events: nil)
        storage.yield(ByteBuffer(string: "abc"))
        storage.yield(ByteBuffer(string: "def"))
        storage.finish()
        await #expect(throws: HTTP2ClientError(.responseTooLarge, detail: "response body exceeds 5 bytes")) {
            _ = try await HTTP2ResponseBody(storage).collect(upTo: 5)
        }
    }
}
