import Foundation
import NIOPosix
import Synchronization

/// Turns a service's host name into addresses for `HTTP2Client`. The client asks at start and
/// again whenever a connection of that service is replaced after a GOAWAY or a failure; new
/// addresses join the pool and addresses that left the answer leave it (their connections drain).
/// Never called for IP literals. Inject your own (service discovery, tests); the default is
/// `SystemResolver`.
///
/// Each question runs in a task the client owns: `HTTP2Client.shutdown()` cancels the questions
/// still open and waits for them, so `resolve` should return (throw) promptly once its task is
/// cancelled.
public protocol HTTP2Resolver: Sendable {
    /// Numeric addresses (`10.0.0.7`, `::1`) of `host`, in preference order. Throw (ideally a
    /// `ConnectFailure` of kind `.dns`) when the name does not resolve, and when cancelled.
    func resolve(host: String, port: Int) async throws -> [String]
}

/// The system's resolver (`getaddrinfo`: /etc/hosts, DNS, nsswitch), run on NIO's thread pool so
/// neither the caller nor an event loop blocks.
public struct SystemResolver: HTTP2Resolver {
    /// The system resolver.
    public init() {}

    /// `getaddrinfo(host, port)`'s numeric addresses, in its order; `.dns` failure when it has none.
    /// Cancelled, it throws `CancellationError` at once; `getaddrinfo` cannot be interrupted, so a
    /// call already running finishes on the thread pool with nobody waiting for it.
    public func resolve(host: String, port: Int) async throws -> [String] {
        try await Self.onThreadPool { try Self.getaddrinfo(host: host, port: port) }
    }

    /// Runs blocking `body` on NIO's thread pool; the caller's cancellation ends the wait (not
    /// `body`: `NIOThreadPool.runIfActive` only drops work not yet started).
    static func onThreadPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let answer = OneAnswer<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                guard answer.wait(continuation) else { return }
                NIOThreadPool.singleton.submit { work in
                    guard answer.isAwaited else { return }  // cancelled before it began
                    guard case .active = work else { return answer.give(.failure(NIOThreadPoolError.ThreadPoolInactive())) }
                    answer.give(Result(catching: body))
                }
            }
        } onCancel: {
            answer.give(.failure(CancellationError()))
        }
    }

    /// Blocking.
    static func getaddrinfo(host: String, port: Int) throws -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = Glibc.getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let first = result else {
            let reason = rc == 0 ? "no address" : String(cString: gai_strerror(rc)).lowercased()
            throw ConnectFailure(.dns, "DNS failure: cannot resolve \(host) (\(reason))")
        }
        defer { freeaddrinfo(first) }
        var seen: [String] = []
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            var buf = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(ai.pointee.ai_addr, ai.pointee.ai_addrlen, &buf, socklen_t(buf.count), nil, 0, NI_NUMERICHOST) == 0 {
                let a = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !seen.contains(a) { seen.append(a) }
            }
            p = ai.pointee.ai_next
        }
        guard !seen.isEmpty else { throw ConnectFailure(.dns, "DNS failure: cannot resolve \(host) (no address)") }
        return seen
    }
}

/// One answer handed to one waiter, whichever comes first: the answer, or the cancellation.
private final class OneAnswer<T: Sendable>: Sendable {
    enum State {
        case idle
        case waiting(CheckedContinuation<T, any Error>)
        case given(Result<T, any Error>?)
    }
    let state = Mutex(State.idle)

    /// Starts waiting; false when the answer came first (the continuation is resumed with it).
    func wait(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        let early: Result<T, any Error>? = state.withLock { s in
            guard case .given(let result) = s else {
                s = .waiting(continuation)
                return nil
            }
            s = .given(nil)
            return result
        }
        guard let early else { return true }
        continuation.resume(with: early)
        return false
    }

    /// The waiter is still there (or yet to come).
    var isAwaited: Bool {
        state.withLock { s in if case .given = s { false } else { true } }
    }

    /// The first result wins; later ones are dropped.
    func give(_ result: Result<T, any Error>) {
        let waiter: CheckedContinuation<T, any Error>? = state.withLock { s in
            switch s {
            case .idle:
                s = .given(result)
                return nil
            case .waiting(let c):
                s = .given(nil)
                return c
            case .given:
                return nil
            }
        }
        waiter?.resume(with: result)
    }
}
