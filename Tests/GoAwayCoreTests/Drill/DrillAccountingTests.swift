import Testing

@testable import GoAwayCore

struct DrillAccountingTests {
    static let unprocessed = DrillFailure(code: "not_processed", provablyUnprocessed: true)
    static let possibly = DrillFailure(code: "possibly_processed", provablyUnprocessed: false)
    static let midResponse = DrillFailure(code: "response_incomplete", provablyUnprocessed: false, afterResponseBegan: true)

    struct Row: Sendable, CustomStringConvertible {
        var outcome: DrillClientOutcome
        var processed: Int
        var idempotent: Bool
        var fate: DrillFate
        var description: String { "\(outcome) processed=\(processed) idempotent=\(idempotent) -> \(fate)" }
    }

    static let table: [Row] = [
        Row(outcome: .hung, processed: 0, idempotent: true, fate: .lostSilently),
        Row(outcome: .hung, processed: 1, idempotent: false, fate: .lostSilently),
        Row(outcome: .response(matched: false), processed: 1, idempotent: true, fate: .lostSilently),
        Row(outcome: .response(matched: true), processed: 0, idempotent: true, fate: .lostSilently),
        Row(outcome: .response(matched: true), processed: 1, idempotent: false, fate: .ok),
        Row(outcome: .response(matched: true), processed: 2, idempotent: true, fate: .ok),
        Row(outcome: .response(matched: true), processed: 2, idempotent: false, fate: .duplicated),
        Row(outcome: .failed(unprocessed), processed: 0, idempotent: false, fate: .failedUnprocessed),
        Row(outcome: .failed(unprocessed), processed: 1, idempotent: true, fate: .falseClaim),
        Row(outcome: .failed(possibly), processed: 1, idempotent: false, fate: .failedReported),
        Row(outcome: .failed(possibly), processed: 0, idempotent: false, fate: .failedReported),
        Row(outcome: .failed(possibly), processed: 2, idempotent: false, fate: .duplicated),
        Row(outcome: .failed(possibly), processed: 1, idempotent: true, fate: .failedIdempotent),
        Row(outcome: .failed(midResponse), processed: 1, idempotent: true, fate: .failedReported),
        Row(outcome: .failed(midResponse), processed: 2, idempotent: false, fate: .duplicated),
    ]

    @Test(arguments: table) func fate(_ row: Row) {
        #expect(DrillFate.decide(row.outcome, timesProcessed: row.processed, idempotent: row.idempotent) == row.fate)
    }

    @Test func onlyOkAndReportedFailuresAreNotLost() {
        #expect(DrillFate.allCases.filter { !$0.isLost } == [.ok, .failedReported])
    }

    @Test func tallyAddsUpAndCountsEachFateOnce() {
        var ledger = DrillLedger()
        ledger.record(id: 0, idempotent: true, outcome: .response(matched: true), latencyNanoseconds: 1_000_000)
        ledger.record(id: 1, idempotent: true, outcome: .response(matched: true), latencyNanoseconds: 3_000_000)
        ledger.record(id: 2, idempotent: false, outcome: .failed(Self.possibly))
        ledger.record(id: 3, idempotent: false, outcome: .failed(Self.unprocessed))
        ledger.record(id: 4, idempotent: true, outcome: .hung)
        let t = ledger.tally(processed: [0: 1, 1: 2, 2: 1, 4: 1], resent: 7, elapsed: .seconds(2))
        #expect(t.requests == 5)
        #expect(t.ok == 2)
        #expect(t.failed == 2)
        #expect(t.unprocessed == 1)
        #expect(t.silent == 1)
        #expect(t.lost == 2)  // the unprocessed failure and the hung GET
        #expect(t.resent == 7)
        #expect(t.rps == 2.5)
        #expect(t.p50Ms == 1.0)
        #expect(t.p99Ms == 3.0)
        #expect(t.errors == ["possibly_processed": 1, "not_processed": 1])
        #expect(t.fates == ["ok": 2, "failed_reported": 1, "failed_unprocessed": 1, "lost_silently": 1])
        #expect(t.addsUp)
    }

    @Test func percentileIsNearestRank() {
        let values: [Int64] = (1...100).map { Int64($0) * 1_000_000 }
        #expect(DrillLedger.percentile(values, 0.5) == 50)
        #expect(DrillLedger.percentile(values, 0.99) == 99)
        #expect(DrillLedger.percentile([], 0.99) == 0)
    }
}
