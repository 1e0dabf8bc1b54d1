import GoAwayKit
import GoAwayTesting
import HTTPTypes
import NIOCore
import Testing

/// Streamed request bodies against `goaway serve`'s `/echo`, several at once on one connection.
@Suite(.timeLimit(.minutes(1)))
struct ClientStreamedUploadTests {
    /// Was: every one failed with `response_incomplete` (swift-nio-http2's ExcessiveEmptyDataFrames
    /// on the client: the echo's empty DATA frames of several streams in a row, default limit 1).
    @Test(arguments: [1, 8, 16])
    func concurrentStreamedUploadsToEcho(count: Int) async throws {
        try await withTestServer { _, port in
            let client = try HTTP2Client(endpoints: ["http://127.0.0.1:\(port)"])
            let results = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<count {
                    group.addTask {
                        let body = HTTP2RequestBody.replayable {
                            AsyncThrowingStream { c in
                                c.yield(ByteBuffer(string: "part1-\(i)|"))
                                c.yield(ByteBuffer())  // an empty chunk: no empty DATA frame
                                c.yield(ByteBuffer(string: "part2-\(i)"))
                                c.finish()
                            }
                        }
                        let request = HTTPRequest(method: .post, scheme: "http", authority: "127.0.0.1:\(port)", path: "/echo")
                        let response = try await client.execute(request, body: body, maxResponseBytes: 1 << 16)
                        return String(buffer: response.body)
                    }
                }
                var all: [String] = []
                for try await r in group { all.append(r) }
                return all
            }
            await client.shutdown()
            #expect(Set(results) == Set((0..<count).map { "part1-\($0)|part2-\($0)" }))
        }
    }
}
