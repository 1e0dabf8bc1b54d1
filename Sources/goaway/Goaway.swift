import ArgumentParser
import Foundation
import GoAwayKit
import GoAwayTools
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct Goaway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "goaway",
        abstract: "HTTP/2 GOAWAY without lost requests: a graceful server, a client that re-sends, and tools.",
        subcommands: [DrillCommand.self, ServeCommand.self, LoadCommand.self, GetCommand.self, ProbeCommand.self, ExplainCommand.self, DrillNodeCommand.self]
    )

    /// A synchronous entry point: the command runs in a task on the global executor while the main
    /// thread waits. Swift's async `main` parks the main thread in `dispatch_main` (pthread_exit +
    /// sigsuspend), which valgrind 3.19 cannot run ("the 'impossible' happened"), and
    /// scripts/bench-callgrind counts `goaway load`/`serve` instructions under valgrind. Nothing in
    /// the CLI uses the main queue or the main actor.
    /// `nonisolated`: the command must not run on the main actor, whose thread waits here.
    nonisolated static func main() {
        let done = DispatchSemaphore(value: 0)
        // Detached: a task made here would inherit the main actor, whose thread is the one waiting.
        Task.detached {
            await runCommand()
            done.signal()
        }
        done.wait()
    }

    /// Bad flags are a one-line reason and exit 2 (not ArgumentParser's 64 and a usage dump);
    /// commands print their own one-line errors and throw `ExitCode`.
    nonisolated static func runCommand() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let exit as ExitCode {
            CLI.terminate(exit.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                CLI.terminate(0)
            }
            let message = self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            CLI.fail("\(message) (see 'goaway --help')", exitCode: code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

enum CLI {
    /// One line on stderr, then exit: never a stack trace.
    static func fail(_ message: String, exitCode: Int32 = 2) -> Never {
        var line = "goaway: " + message
        if !line.hasSuffix("\n") { line += "\n" }
        FileHandle.standardError.write(Data(line.utf8))
        terminate(exitCode)
    }

    /// Ends the process with `code` (the C library's `exit`, on Linux and on macOS).
    static func terminate(_ code: Int32) -> Never {
        #if canImport(Glibc)
        Glibc.exit(code)
        #elseif canImport(Darwin)
        Darwin.exit(code)
        #endif
    }

    static func printFlushed(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

/// A duration flag: `30` (seconds), `1.5s`, `250ms`, `5m`, `1h`; `0` or `off` disables where allowed.
struct DurationArgument: ExpressibleByArgument, Sendable {
    var duration: Duration?
    /// As typed, for `--help`'s defaults.
    var text: String

    init?(argument: String) {
        self.text = argument
        let text = argument.lowercased()
        if text == "off" || text == "none" { duration = nil; return }
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var value: Double?
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let v = Double(text.dropLast(suffix.count)) { value = v * scale; break }
        }
        if value == nil { value = Double(text) }
        guard let seconds = value, seconds >= 0, seconds.isFinite else { return nil }
        duration = seconds == 0 ? nil : .milliseconds(Int64((seconds * 1000).rounded()))
    }

    var defaultValueDescription: String { text }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// A rate limit on the command line: `COUNT/DURATION`, e.g. `200/30s`.
struct RateLimitArgument: ExpressibleByArgument, Sendable {
    var limit: ServerProtectionPolicy.RateLimit

    init?(argument: String) {
        let parts = argument.split(separator: "/", maxSplits: 1)
        guard parts.count == 2, let count = Int(parts[0]), count >= 1,
            let window = DurationArgument(argument: String(parts[1]))?.duration
        else { return nil }
        limit = .init(maximumCount: count, window: window)
    }

    init(_ limit: ServerProtectionPolicy.RateLimit) { self.limit = limit }

    var defaultValueDescription: String {
        let s = limit.window.seconds
        return "\(limit.maximumCount)/" + (s == s.rounded() ? "\(Int(s))s" : "\(Int((s * 1000).rounded()))ms")
    }
}

enum CPU {
    /// CPUs in this process's affinity mask (what `taskset` allows), at least 1.
    /// Read from /proc (`Cpus_allowed`): Glibc's sched_getaffinity is not visible to Swift.
    static var available: Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
        {
            let mask = line.dropFirst("Cpus_allowed:".count).filter { $0.isHexDigit }
            let count = mask.reduce(0) { $0 + (Int(String($1), radix: 16) ?? 0).nonzeroBitCount }
            if count > 0 { return count }
        }
        return max(1, System.coreCount)
    }
}
