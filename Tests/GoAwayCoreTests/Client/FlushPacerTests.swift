import Testing

@testable import GoAwayCore

struct FlushPacerTests {
    /// Starts `count` requests on a connection with `atServer` flushed and unanswered; returns the
    /// sizes of the early flushes and what is left for the end of the tick.
    static func tick(_ pacer: inout FlushPacer, atServer: Int, count: Int) -> (early: [Int], left: Int) {
        var open = atServer
        var early: [Int] = []
        for _ in 0..<count {
            open += 1
            let batch = pacer.unflushed + 1
            if pacer.requestWritten(openStreams: open) {
                early.append(batch)
                pacer.flushed()
            }
        }
        return (early, pacer.unflushed)
    }

    @Test func aBatchAfterAnIdleServerGoesOutInDoublingParts() {
        var p = FlushPacer()
        let r = Self.tick(&p, atServer: 0, count: 32)
        #expect(r.early == [4, 4, 8, 16])
        #expect(r.left == 0)
    }

    @Test func aLoneRequestWaitsForTheEndOfTheTick() {
        var p = FlushPacer()
        let r = Self.tick(&p, atServer: 0, count: 1)
        #expect(r.early == [])
        #expect(r.left == 1)
    }

    @Test func aBusyServerGetsOneWritePerTick() {
        // The server has 28 unanswered: 4 more wait for the tick's flush.
        var p = FlushPacer()
        let r = Self.tick(&p, atServer: 28, count: 4)
        #expect(r.early == [])
        #expect(r.left == 4)
    }

    @Test func aServerWithLessWorkThanTheBatchGetsItEarly() {
        var p = FlushPacer()
        let r = Self.tick(&p, atServer: 8, count: 24)
        #expect(r.early == [8, 16])
        #expect(r.left == 0)
    }

    @Test func wideBatchesTakeLogarithmicallyManyWrites() {
        var p = FlushPacer()
        let r = Self.tick(&p, atServer: 0, count: 256)
        #expect(r.early == [4, 4, 8, 16, 32, 64, 128])
    }

    @Test func minimumBatchOfOneFlushesTheFirstRequestAtOnce() {
        var p = FlushPacer(minimumBatch: 1)
        #expect(Self.tick(&p, atServer: 0, count: 8).early == [1, 1, 2, 4])
        #expect(FlushPacer(minimumBatch: 0).minimumBatch == 1)
    }

    @Test func aFlushFromElsewhereStartsTheCountAgain() {
        var p = FlushPacer()
        let first = p.requestWritten(openStreams: 1)
        let second = p.requestWritten(openStreams: 2)
        #expect(!first && !second && p.unflushed == 2)
        p.flushed()
        #expect(p.unflushed == 0)
        // 2 at the server now: the next 4 go early together.
        let next = (3...6).map { p.requestWritten(openStreams: $0) }
        #expect(next == [false, false, false, true])
    }
}
