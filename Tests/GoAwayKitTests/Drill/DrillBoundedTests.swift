import Testing

@testable import GoAwayKit

/// The drill must finish even when the code under test hangs and ignores cancellation.
struct DrillBoundedTests {
    @Test func boundedReturnsTheValueOrNilAtTheDeadline() async {
        #expect(await bounded(until: .now + .seconds(10)) { 42 } == 42)
        let gate = AsyncStream<Void>.makeStream()
        let stuck = await bounded(until: .now + .milliseconds(50)) { () -> Int in
            for await _ in gate.stream {}  // never ends until finished below
            return 1
        }
        #expect(stuck == nil)
        gate.continuation.finish()
    }

    @Test func watchdogAnswersStuckRequestsAndLaterOnes() async {
        let inFlight = InFlightRequests<String>()
        let gate = AsyncStream<Void>.makeStream()
        #expect(await inFlight.run(id: 1) { "done" } == "done")
        async let stuck = inFlight.run(id: 2) {
            for await _ in gate.stream {}
            return "late"
        }
        try? await Task.sleep(for: .milliseconds(50))
        inFlight.fire("hung")
        #expect(await stuck == "hung")
        #expect(await inFlight.run(id: 3) { "never asked" } == "hung")
        gate.continuation.finish()
    }
}
