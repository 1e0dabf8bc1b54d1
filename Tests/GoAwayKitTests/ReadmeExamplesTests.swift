import Foundation
import Testing

/// Every ```swift block of README.md occurs verbatim in a source file under Examples/, so the
/// README's examples are compiled by the example targets (`example-server`, `example-client`,
/// `example-openapi`, `example-hummingbird`) in every build.
@Suite struct ReadmeExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The contents of each ```swift … ``` block, without the fences.
    static func swiftBlocks(in markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil {
                if line.trimmingCharacters(in: .whitespaces) == "```swift" { current = [] }
            } else if line.trimmingCharacters(in: .whitespaces) == "```" {
                blocks.append(current!.joined(separator: "\n"))
                current = nil
            } else {
                current!.append(line)
            }
        }
        return blocks
    }

    static func exampleSources() throws -> [String: String] {
        let examples = root.appendingPathComponent("Examples")
        guard let walker = FileManager.default.enumerator(at: examples, includingPropertiesForKeys: nil) else { return [:] }
        var sources: [String: String] = [:]
        for case let url as URL in walker where url.pathExtension == "swift" {
            sources[url.path.replacingOccurrences(of: root.path + "/", with: "")] = try String(contentsOf: url, encoding: .utf8)
        }
        return sources
    }

    @Test func everyReadmeSwiftBlockIsInAnExample() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let blocks = Self.swiftBlocks(in: readme)
        let sources = try Self.exampleSources()
        #expect(blocks.count >= 4, "README has \(blocks.count) swift blocks")
        var homes: Set<String> = []
        for block in blocks {
            let home = sources.first { $0.value.contains(block) }?.key
            #expect(home != nil, "README block not found verbatim under Examples/:\n\(block)")
            if let home { homes.insert(home) }
        }
        for target in ["example-server", "example-client", "example-openapi"] {
            #expect(homes.contains { $0.hasPrefix("Examples/\(target)/") }, "no README block lives in \(target)")
        }
    }

    @Test func theCheckNoticesAnEditedBlock() throws {
        let markdown = "text\n```swift\nlet a = 1\nlet b = 2\n```\n```sh\nls\n```\n```swift\nprint(a)\n```\n"
        let blocks = Self.swiftBlocks(in: markdown)
        #expect(blocks == ["let a = 1\nlet b = 2", "print(a)"])
        let sources = try Self.exampleSources()
        #expect(!sources.isEmpty)
        // A block that is in no example is reported missing.
        #expect(!sources.values.contains { $0.contains("let a = 1\nlet b = 2 // not in any example") })
    }
}
