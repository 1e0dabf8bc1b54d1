import Foundation
import Testing

@testable import GoAwayKit
@testable import GoAwayTools

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

    @Test func netnsPreflightNamesWhatIsMissingInOneLine() {
        let all: (String) -> String? = { "/usr/sbin/" + $0 }
        #expect(NetnsTopology.preflight(uid: 0, find: all) == nil)
        #expect(NetnsTopology.preflight(uid: 1000, find: all)?.contains("needs root") == true)
        #expect(NetnsTopology.preflight(uid: 0, find: { $0 == "haproxy" ? nil : "/x" })?.contains("install the haproxy package") == true)
        #expect(NetnsTopology.preflight(uid: 0, find: { $0 == "dnsmasq" ? nil : "/x" })?.contains("install the dnsmasq package") == true)
        #expect(NetnsTopology.preflight(uid: 0, find: { $0 == "ip" ? nil : "/x" })?.contains("iproute2") == true)
        for reason in [1000, 0].compactMap({ NetnsTopology.preflight(uid: uid_t($0), find: { _ in nil }) }) {
            #expect(!reason.contains("\n"))
        }
    }
}
