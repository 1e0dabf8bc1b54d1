import Foundation
import GoAwayFuzzing
import Testing

/// Every input in Fuzz/corpus (real client captures plus what the fuzzer kept) runs through the
/// fuzz harness in the normal test run: a regression found by fuzzing stays found.
@Suite("Fuzz corpus replay")
struct FuzzCorpusTests {
    static let corpus: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path + "/Fuzz/corpus"
    }()

    @Test func corpusReplaysWithoutViolations() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus).filter { !$0.hasPrefix(".") }.sorted()
        #expect(files.count >= 5, "the seed corpus is committed")
        for name in files {
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/" + name))
            #expect(throws: Never.self, "\(name)") { try FuzzInput.run(Array(data)) }
        }
    }
}
