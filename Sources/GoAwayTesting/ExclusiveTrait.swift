import Testing

/// Tests that measure time (the drill, the probe) and tests that saturate both cores (attack
/// floods, 10,000 streams) must not overlap: all test targets run in one process, and Swift
/// Testing's `.serialized` only orders the tests of one suite. `.exclusive` on a suite or test
/// makes it wait for every other `.exclusive` one to finish; the rest of the suite still runs in
/// parallel beside it.
public struct ExclusiveTrait: SuiteTrait, TestTrait, TestScoping {
    /// Applies to the suite as a whole, not to each test in it.
    public var isRecursive: Bool { false }

    /// Runs the test or suite once every other `.exclusive` one has finished.
    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        await ExclusiveGate.shared.enter()
        do {
            try await function()
        } catch {
            await ExclusiveGate.shared.leave()
            throw error
        }
        await ExclusiveGate.shared.leave()
    }
}

extension Trait where Self == ExclusiveTrait {
    /// Runs alone among the `.exclusive` suites and tests (see `ExclusiveTrait`).
    public static var exclusive: ExclusiveTrait { ExclusiveTrait() }
}

/// A FIFO gate: one holder at a time.
actor ExclusiveGate {
    static let shared = ExclusiveGate()
    private var held = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func enter() async {
        if !held {
            held = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func leave() {
        if waiters.isEmpty {
            held = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
