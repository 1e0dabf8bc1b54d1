import GoAwayKit
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process of the netns drill (a node in a namespace, HAProxy, dnsmasq): its stdout split
/// into lines for `onLine`, the tail of its stderr kept for error messages, and bounded waits.
/// `ip netns exec` execs the command, so `pid` is the program's own and signals reach it directly.
final class NetnsProcess: Sendable {
    let name: String
    let pid: pid_t
    private let shared = Shared()

    /// The lock-guarded parts, in a class so the pipe and termination handlers can hold them.
    private final class Shared: Sendable {
        let state = Mutex(State())
        let exited = Mutex<(code: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))
    }

    private struct State {
        var partial: [UInt8] = []
        var stderrTail: [UInt8] = []
        var lineWaiters: [(prefix: String, continuation: CheckedContinuation<String?, Never>)] = []
        var lines: [String] = []
        var onLine: (@Sendable (String) -> Void)?
        var eof = false
    }

    /// Every stdout line is kept (`lines`; a node writes one per request it processed, so this is
    /// bounded by the phase's load) and given to `onLine`.
    ///
    /// posix_spawn with a reaper thread per child (not Foundation's `Process`, whose termination
    /// monitoring missed exits here): stdin is /dev/null, signals are reset to their defaults, and
    /// only the child's own pipe ends are inherited.
    init(name: String, _ arguments: [String], onLine: (@Sendable (String) -> Void)? = nil) throws {
        self.name = name
        let shared = self.shared
        shared.state.withLock { $0.onLine = onLine }
        var out: [Int32] = [0, 0]
        var err: [Int32] = [0, 0]
        guard pipe(&out) == 0, pipe(&err) == 0 else { throw SpawnError(description: "pipe: \(errno)") }
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out[1], 1)
        posix_spawn_file_actions_adddup2(&actions, err[1], 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var cArgs: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, arguments[0], &actions, &attr, &cArgs, environ)
        close(out[1])
        close(err[1])
        guard rc == 0 else {
            close(out[0])
            close(err[0])
            throw SpawnError(description: "cannot start \(arguments[0]): \(String(cString: strerror(rc)))")
        }
        pid = child
        let spawned = child
        let outFD = out[0]
        let errFD = err[0]
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(outFD, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                Self.consume(Data(buffer[..<n]), shared)
            }
            close(outFD)
            Self.consume(Data(), shared)
        }
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = read(errFD, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                shared.state.withLock { s in
                    s.stderrTail.append(contentsOf: buffer[..<n])
                    if s.stderrTail.count > 8192 { s.stderrTail.removeFirst(s.stderrTail.count - 8192) }
                }
            }
            close(errFD)
        }
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(spawned, &status, 0) < 0 && errno == EINTR {}
            // WIFSIGNALED / WEXITSTATUS by hand (Glibc's macros are not imported).
            let signalled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
            let code = signalled ? 128 + (status & 0x7f) : (status >> 8) & 0xff
            let waiters = shared.exited.withLock { e in
                e.code = code
                defer { e.waiters = [] }
                return e.waiters
            }
            for w in waiters { w.resume(returning: code) }
        }
    }

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    private static func consume(_ data: Data, _ shared: Shared) {
        var delivered: [(String, (@Sendable (String) -> Void)?)] = []
        var resumed: [(CheckedContinuation<String?, Never>, String?)] = []
        shared.state.withLock { s in
            if data.isEmpty {
                s.eof = true
                resumed = s.lineWaiters.map { ($0.continuation, nil) }
                s.lineWaiters = []
                return
            }
            s.partial.append(contentsOf: data)
            while let nl = s.partial.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: s.partial[..<nl], as: UTF8.self)
                s.partial.removeSubrange(...nl)
                s.lines.append(line)
                delivered.append((line, s.onLine))
                var still: [(prefix: String, continuation: CheckedContinuation<String?, Never>)] = []
                for w in s.lineWaiters {
                    if line.hasPrefix(w.prefix) { resumed.append((w.continuation, line)) } else { still.append(w) }
                }
                s.lineWaiters = still
            }
        }
        for (line, handler) in delivered { handler?(line) }
        for (c, line) in resumed { c.resume(returning: line) }
    }

    var lines: [String] { shared.state.withLock { $0.lines } }
    var exitCode: Int32? { shared.exited.withLock { $0.code } }

    /// The last line of stderr (for a one-line error), or "".
    var stderrLastLine: String {
        let text = shared.state.withLock { String(decoding: $0.stderrTail, as: UTF8.self) }
        return text.split(separator: "\n").last.map(String.init) ?? ""
    }

    /// The first stdout line starting with `prefix` (seen already or still to come), or nil at EOF
    /// or after `timeout`.
    func line(startingWith prefix: String, timeout: Duration) async -> String? {
        await bounded(until: .now + timeout) {
            await withCheckedContinuation { (c: CheckedContinuation<String?, Never>) in
                let found = self.shared.state.withLock { s -> String?? in
                    if let line = s.lines.first(where: { $0.hasPrefix(prefix) }) { return .some(line) }
                    if s.eof { return .some(nil) }
                    s.lineWaiters.append((prefix, c))
                    return nil
                }
                if let found { c.resume(returning: found) }
            }
        } ?? nil
    }

    func signal(_ signal: Int32) {
        guard exitCode == nil, pid > 0 else { return }
        kill(pid, signal)
    }

    /// The exit code, or nil if still running after `timeout`.
    func wait(timeout: Duration) async -> Int32? {
        await bounded(until: .now + timeout) {
            await withCheckedContinuation { (c: CheckedContinuation<Int32, Never>) in
                let code = self.shared.exited.withLock { e -> Int32? in
                    if let code = e.code { return code }
                    e.waiters.append(c)
                    return nil
                }
                if let code { c.resume(returning: code) }
            }
        }
    }

    /// SIGTERM, then SIGKILL if it is still running after `grace`. Returns once it exited (bounded).
    func stop(grace: Duration = .seconds(10)) async {
        signal(SIGTERM)
        if await wait(timeout: grace) == nil {
            signal(SIGKILL)
            _ = await wait(timeout: .seconds(5))
        }
    }
}
