import Testing
@testable import GoAwayCore

/// Whole-output golden files: every error code 0x0-0xd plus an unknown one in all three
/// formats (from the `--code` form), and every recognised message form in text.
@Suite("Explain: golden output")
struct ExplainGoldenTests {
    static let codes = HTTP2ErrorCode.allDefined + [HTTP2ErrorCode(0x1f)]

    /// Last-Stream-ID 5 gives every group of the request fate something to say.
    static func explanation(for code: HTTP2ErrorCode) -> Explanation {
        Explainer.explain(Explainer.observation(code: code, lastStreamID: 5, debugData: nil))
    }

    static func fileStem(_ code: HTTP2ErrorCode) -> String {
        "code-\(code.hex)-\(CodeKnowledge.slug(code))"
    }

    @Test("every code, every format", arguments: codes, ExplainFormat.allCases)
    func code(_ code: HTTP2ErrorCode, _ format: ExplainFormat) {
        let ext = switch format {
        case .text: "txt"
        case .json: "json"
        case .markdown: "md"
        }
        GoldenFile.check(Self.explanation(for: code).rendered(as: format), name: "\(Self.fileStem(code)).\(ext)")
    }

    @Test("every message form", arguments: messageCases)
    func message(_ c: MessageCase) throws {
        let o = try #require(ErrorMessageParser.parse(c.message))
        GoldenFile.check(Explainer.explain(o).renderText(), name: "message-\(c.name).txt")
    }

    @Test("special Last-Stream-ID values", arguments: [("last-0", StreamID(0)), ("shutdown-notice", StreamID.max), ("nginx-1999", 1999)])
    func lastStreamID(_ name: String, _ last: StreamID) {
        let e = Explainer.explain(Explainer.observation(code: .noError, lastStreamID: last, debugData: nil))
        GoldenFile.check(e.renderText(), name: "no-error-\(name).txt")
        GoldenFile.check(e.renderJSON(), name: "no-error-\(name).json")
    }
}
