import GoAwayKit
import Synchronization

/// Waits for `operation` at most until `deadline`; returns nil if it was not done by then and
/// leaves it running. The drill exists to catch hangs, so it must never depend on the code under
/// test honouring cancellation to make progress itself.
func bounded<T: Sendable>(until deadline: ContinuousClock.Instant, _ operation: @escaping @Sendable () async -> T) async -> T? {
    await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
        let once = ResumeOnce<T?>(continuation)
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            once.resume(nil)
        }
        Task {
            let value = await operation()
            once.resume(value)
            timer.cancel()
        }
    }
}

/// A continuation resumed by whichever side comes first; later resumes are ignored.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>

    init(_ continuation: CheckedContinuation<T, Never>) {
        self.continuation = Mutex(continuation)
    }

    /// True if this call resumed it.
    @discardableResult
    func resume(_ value: T) -> Bool {
        guard let c = continuation.withLock({ c in defer { c = nil }; return c }) else { return false }
        c.resume(returning: value)
        return true
    }
}

/// The requests in flight, so one watchdog can give up on all that are stuck at once.
final class InFlightRequests<T: Sendable>: Sendable {
    private let state = Mutex<(waiting: [Int: ResumeOnce<T>], fired: T?)>(([:], nil))

    /// Runs `operation` (in its own task, so a stuck one can be abandoned); returns its value, or
    /// the watchdog's once `fire` was called.
    func run(id: Int, _ operation: @escaping @Sendable () async -> T) async -> T {
        let value = await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            let once = ResumeOnce(continuation)
            let fired = state.withLock { s -> T? in
                if let f = s.fired { return f }
                s.waiting[id] = once
                return nil
            }
            if let fired {
                once.resume(fired)
                return
            }
            Task { once.resume(await operation()) }
        }
        _ = state.withLock { $0.waiting.removeValue(forKey: id) }
        return value
    }

    /// Resumes every waiting request (and every later one) with `value`.
    func fire(_ value: T) {
        let all = state.withLock { s -> [ResumeOnce<T>] in
            s.fired = value
            defer { s.waiting.removeAll() }
            return Array(s.waiting.values)
        }
        for once in all { once.resume(value) }
    }
}
