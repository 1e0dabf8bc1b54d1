import Testing

@testable import GoAwayCore

struct DrillVerdictTests {
    func tally(ok: Int, fates extra: [DrillFate: Int] = [:]) -> DrillTally {
        var ledger = DrillLedger()
        var id = 0
        var processed: [Int: Int] = [:]
        for _ in 0..<ok {
            ledger.record(id: id, idempotent: true, outcome: .response(matched: true), latencyNanoseconds: 1_000_000)
            processed[id] = 1
            id += 1
        }
        for (fate, n) in extra {
            for _ in 0..<n {
                switch fate {
                case .failedReported:
                    ledger.record(id: id, idempotent: false, outcome: .failed(DrillFailure(code: "possibly_processed", provablyUnprocessed: false)))
                    processed[id] = 1
                case .failedUnprocessed:
                    ledger.record(id: id, idempotent: false, outcome: .failed(DrillFailure(code: "not_processed", provablyUnprocessed: true)))
                case .lostSilently:
                    ledger.record(id: id, idempotent: true, outcome: .hung)
                default:
                    Issue.record("not used here")
                }
                id += 1
            }
        }
        return ledger.tally(processed: processed, resent: 0, elapsed: .seconds(1))
    }

    func report(goAwayKit: DrillTally, naive: DrillTally) -> DrillReport {
        var r = DrillReport(settings: .init(DrillPlan(phases: [.hardKill])))
        r.phases = [
            .init(mode: .goAwayKit, phase: .hardKill, tally: goAwayKit, elapsedSeconds: 1),
            .init(mode: .naive, phase: .hardKill, tally: naive, elapsedSeconds: 1),
        ]
        r.conclude()
        return r
    }

    @Test func passesWhenOnlyPossiblyProcessedPostsFailedAndNaiveLost() {
        let r = report(goAwayKit: tally(ok: 100, fates: [.failedReported: 3]), naive: tally(ok: 90, fates: [.failedUnprocessed: 10]))
        #expect(r.verdict?.passed == true)
        #expect(r.verdict?.reasons == [])
        #expect(r.verdict?.exitCode == 0)
        #expect(r.total(for: .naive).lost == 10)
        #expect(r.renderText().contains("PASS: goawaykit lost 0 of 103 (3 failed with a typed error); naive lost 10 of 100"))
    }

    @Test func failuresInGoAwayOnlyPhasesAreWarnings() {
        var r = DrillReport(settings: .init(DrillPlan(phases: [.rollingRestart, .hardKill])))
        r.phases = [
            .init(mode: .goAwayKit, phase: .rollingRestart, tally: tally(ok: 10, fates: [.failedReported: 1]), elapsedSeconds: 1),
            .init(mode: .goAwayKit, phase: .hardKill, tally: tally(ok: 10, fates: [.failedReported: 2]), elapsedSeconds: 1),
            .init(mode: .naive, phase: .rollingRestart, tally: tally(ok: 10, fates: [.failedUnprocessed: 1]), elapsedSeconds: 1),
        ]
        r.conclude()
        #expect(r.verdict?.passed == true)
        #expect(r.verdict?.warnings == ["goawaykit rolling-restart: 1 failed with a typed error (possibly_processed=1) although only GOAWAY disrupted it"])
        #expect(r.renderText().contains("warning: goawaykit rolling-restart"))
    }

    @Test func failsWhenGoAwayKitFailsAnUnprocessedRequest() {
        let r = report(goAwayKit: tally(ok: 100, fates: [.failedUnprocessed: 1]), naive: tally(ok: 100))
        #expect(r.verdict?.passed == false)
        #expect(r.verdict?.exitCode == 1)
        #expect(r.verdict?.reasons == ["goawaykit hard-kill: 1 failed unprocessed"])
    }

    @Test func failsWhenGoAwayKitLosesSilently() {
        let r = report(goAwayKit: tally(ok: 100, fates: [.lostSilently: 2]), naive: tally(ok: 100))
        #expect(r.verdict?.reasons == ["goawaykit hard-kill: 2 lost silently"])
    }

    @Test func failsWhenTheAccountingDoesNotAddUp() {
        var broken = tally(ok: 10)
        broken.requests = 11
        let r = report(goAwayKit: tally(ok: 10), naive: broken)
        #expect(r.verdict?.passed == false)
        #expect(r.verdict?.reasons.first?.hasPrefix("naive hard-kill: accounting does not add up") == true)
    }

    @Test func failsWhenNothingRan() {
        let r = report(goAwayKit: DrillTally(), naive: DrillTally())
        #expect(r.verdict?.reasons == ["no request was issued"])
    }

    @Test func statusLine() {
        let p = DrillProgress(mode: .goAwayKit, phase: .goAwayStorm, elapsed: .milliseconds(2500), ok: 20000, failed: 0, resent: 12)
        #expect(p.statusLine == "goawaykit goaway-storm 2.5s  8000 req/s  ok 20000  re-sent 12  failed 0")
    }

    @Test func fixedDecimals() {
        #expect(Fmt.num(3.14159, 2) == "3.14")
        #expect(Fmt.num(0.005, 2) == "0.01")
        #expect(Fmt.num(9.999, 1) == "10.0")
        #expect(Fmt.num(1234.4, 0) == "1234")
        #expect(Fmt.num(-1.25, 1) == "-1.3")
    }
}
