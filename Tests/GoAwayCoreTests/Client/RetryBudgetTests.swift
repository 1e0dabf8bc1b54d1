import Testing

@testable import GoAwayCore

struct RetryBudgetTests {
    let t0 = Instant.zero

    @Test func startsWithTheReserveAndRefillsAtTheFloor() {
        var b = RetryBudget()
        #expect(b.tokens == 100)  // 10/s × 10 s
        for _ in 0..<100 { do { let ok = b.tryWithdraw(now: t0); #expect(ok) } }
        do { let ok = b.tryWithdraw(now: t0); #expect(!ok) }
        #expect(b.timeUntilToken() == .milliseconds(100))
        do { let ok = b.tryWithdraw(now: t0 + .milliseconds(50)); #expect(!ok) }
        do { let ok = b.tryWithdraw(now: t0 + .milliseconds(100)); #expect(ok) }
    }

    @Test func eachStreamSentDepositsTheRatio() {
        var b = RetryBudget(RetryBudget.Configuration(ratio: 0.2, minPerSecond: 0.1, window: .seconds(10)))
        do { let ok = b.tryWithdraw(now: t0); #expect(ok) }  // the reserve is 1
        do { let ok = b.tryWithdraw(now: t0); #expect(!ok) }
        for _ in 0..<5 { b.deposit(now: t0) }
        do { let ok = b.tryWithdraw(now: t0); #expect(ok) }
        do { let ok = b.tryWithdraw(now: t0); #expect(!ok) }
    }

    /// The capacity grows with the traffic of the window, so busy clients can pay a burst.
    @Test func capacityFollowsTheWindowsTraffic() {
        var b = RetryBudget()
        for _ in 0..<10_000 { b.deposit(now: t0) }
        #expect(abs(b.tokens - (100 + 0.2 * 10_000)) < 0.01)
        // Two idle windows later only the floor is left as capacity.
        b.deposit(now: t0 + .seconds(25))
        #expect(b.tokens <= 100.2 + 0.0001)
    }
}
