import Testing

@testable import GoAwayCore

struct DrillTimelineTests {
    @Test func eventsBecomeLanesWithTheirGoAwaysAndClose() {
        var t = DrillTimeline()
        t.apply(.opened(connection: 1, endpoint: "http://127.0.0.1:1"), atMs: 0)
        t.apply(.opened(connection: 2, endpoint: "http://127.0.0.1:2"), atMs: 5)
        t.apply(.goAway(connection: 1, code: "NO_ERROR", lastStreamID: Int32.max), atMs: 100)
        t.apply(.goAway(connection: 1, code: "NO_ERROR", lastStreamID: 41), atMs: 150)
        t.apply(.resent(reason: "goaway"), atMs: 151)
        t.apply(.closed(connection: 1), atMs: 180)
        t.apply(.closed(connection: 1), atMs: 999)  // a second close changes nothing
        t.apply(.goAway(connection: 9, code: "NO_ERROR", lastStreamID: 1), atMs: 200)  // unknown: ignored
        t.apply(.step("restart s0"), atMs: 90)
        #expect(t.lanes.count == 2)
        #expect(t.lanes[0].goAways.map(\.isNotice) == [true, false])
        #expect(t.lanes[0].closedMs == 180)
        #expect(t.lanes[1].closedMs == nil)
        #expect(t.resends == [.init(atMs: 151, label: "goaway")])
        #expect(t.steps == [.init(atMs: 90, label: "restart s0")])
        #expect(t.durationMs == 999)
    }

    @Test func throughputBucketsEveryEnd() {
        var t = DrillTimeline()
        t.setThroughput(endsMs: [0, 50, 99.9, 100, 250], bucketMs: 100)
        #expect(t.throughput == [3, 1, 1])
        #expect(t.ratePerSecond == [30, 10, 10])
        #expect(t.throughput.reduce(0, +) == 5)
    }

    @Test func lossMarksCarryTheFateAndTheTime() {
        var ledger = DrillLedger()
        ledger.record(id: 0, idempotent: true, outcome: .response(matched: true), endedMs: 10)
        ledger.record(id: 1, idempotent: false, outcome: .failed(DrillFailure(code: "not_processed", provablyUnprocessed: true)), endedMs: 30)
        ledger.record(id: 2, idempotent: true, outcome: .hung, endedMs: 20)
        ledger.record(id: 3, idempotent: false, outcome: .failed(DrillFailure(code: "possibly_processed", provablyUnprocessed: false)), endedMs: 40)
        let marks = ledger.lossMarks(processed: [0: 1, 3: 1])
        #expect(marks == [.init(atMs: 20, label: "lost_silently"), .init(atMs: 30, label: "failed_unprocessed")])
        #expect(ledger.unanswered() == [1, 2, 3])
        #expect(ledger.endsMs.sorted() == [10, 20, 30, 40])
    }
}
