import Foundation
import GoAwayCore
import GoAwayTesting
import Testing

/// `goaway drill` as a user runs it: exit codes, one-line errors, the JSON document.
@Suite("goaway drill (CLI)", .serialized, .exclusive)
struct DrillCommandTests {
    static var binary: String {
        get throws {
            guard let path = Peers.goawayBinary else { throw PeerError("goaway binary not built (swift build --build-tests)") }
            return path
        }
    }

    @Test(arguments: [
        ["drill", "--phases", "reboot"],
        ["drill", "--duration", "0.5"],
        ["drill", "--mode", "sometimes"],
        ["drill", "--servers", "1"],
        ["drill", "-c", "0"],
        ["drill", "--topology", "cloud"],
        ["drill", "--phases", "haproxy"],  // a netns phase on loopback
        ["drill", "--report", ""],
    ])
    func badFlagIsOneLineAndExitTwo(_ args: [String]) async throws {
        let drill = try PeerProcess(try Self.binary, args)
        #expect(try await drill.wait(timeout: .seconds(20)) == 2)
        #expect(drill.stderr.split(separator: "\n").count == 1, "\(drill.stderr)")
        #expect(drill.stderr.hasPrefix("goaway: "))
    }

    @Test func shortJSONRunExitsZero() async throws {
        let html = FileManager.default.temporaryDirectory.appendingPathComponent("drill-\(getpid()).html").path
        defer { try? FileManager.default.removeItem(atPath: html) }
        let drill = try PeerProcess(try Self.binary, ["drill", "--duration", "1", "--phases", "storm,kill", "--mode", "goawaykit", "--json", "--report", html])
        #expect(try await drill.wait(timeout: .seconds(60)) == 0, "\(drill.stdout)\n\(drill.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(drill.stdout.utf8)) as? [String: Any]
        let verdict = json?["verdict"] as? [String: Any]
        #expect(verdict?["passed"] as? Bool == true)
        #expect((json?["phases"] as? [Any])?.count == 2)
        // --report: one timeline per phase, as many lanes as the JSON's connection counts.
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let svgs = DrillHTMLTimeline.all(in: page)
        let rows = json?["phases"] as? [[String: Any]] ?? []
        #expect(svgs.map(\.phase) == ["goaway-storm", "hard-kill"])
        for (svg, row) in zip(svgs, rows) {
            let opened = row["connections_opened"] as? Int ?? -1
            #expect(((row["connections_opened_at_load_end"] as? Int) ?? opened)...opened ~= svg.lanes, "\(row)")
        }
    }

    @Test func reportToAnUnwritableFolderIsOneLine() async throws {
        let drill = try PeerProcess(try Self.binary, ["drill", "--duration", "1", "--report", "/nonexistent-dir/x.html"])
        #expect(try await drill.wait(timeout: .seconds(20)) == 2)
        #expect(drill.stderr.split(separator: "\n").count == 1, "\(drill.stderr)")
        #expect(drill.stderr.contains("--report"))
    }
}
