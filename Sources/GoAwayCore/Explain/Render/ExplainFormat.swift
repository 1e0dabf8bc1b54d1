/// Output formats of `goaway explain`.
public enum ExplainFormat: String, CaseIterable, Sendable {
    case text, json, markdown
}

extension Explanation {
    /// The explanation as `goaway explain --format` prints it.
    public func rendered(as format: ExplainFormat) -> String {
        switch format {
        case .text: renderText()
        case .json: renderJSON()
        case .markdown: renderMarkdown()
        }
    }
}
