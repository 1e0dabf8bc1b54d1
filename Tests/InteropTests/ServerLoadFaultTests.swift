import Foundation
import GoAwayKit
import GoAwayTesting
import Testing

/// Faults that are not attacks: many concurrent streams must cost bounded memory. An extension of
/// the attack suite so it is serialized with it: 10,000 streams on a debug build saturate the
/// shared event loops for seconds, which would starve the attack tests' honest clients.
extension AttackInteropTests {
    /// Resident set size of this process (the server runs in it), KiB; 0 where /proc is missing.
    static func rssKiB(_ field: String = "VmRSS") -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test("Fault: 10,000 concurrent streams over 100 connections: all served, memory bounded",
          .enabled(if: Peers.available("h2load")))
    func tenThousandConcurrentStreams() async throws {
        try await withTestServer { server, port in
            let before = Self.rssKiB()
            // 100 connections × 100 streams (the default SETTINGS_MAX_CONCURRENT_STREAMS), each
            // held 2 s by the handler: all 10,000 are open at once.
            let h2load = try PeerProcess("h2load", ["-n", "10000", "-c", "100", "-m", "100", "http://127.0.0.1:\(port)/delay/2000"])
            var peak = before
            let deadline = ContinuousClock.now + .seconds(120)
            while h2load.isRunning && ContinuousClock.now < deadline {
                peak = max(peak, Self.rssKiB())
                try await Task.sleep(for: .milliseconds(50))
            }
            try await h2load.wait(timeout: .seconds(10))
            #expect(h2load.stdout.contains("10000 succeeded, 0 failed"), "\(h2load.stdout)")
            let grown = (peak - before) / 1024
            print("10k streams / 100 connections: RSS \(before / 1024) MiB before, \(peak / 1024) MiB peak (+\(grown) MiB, ≈ \((peak - before) * 1024 / 10000) B per stream)")
            #expect(grown < 400, "RSS grew by \(grown) MiB for 10,000 streams")
            #expect(server.statistics.requests == 10000)
        }
    }
}
