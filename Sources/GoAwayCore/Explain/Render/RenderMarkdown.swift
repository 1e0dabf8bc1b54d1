extension Explanation {
    /// GitHub-flavoured Markdown, for issues and docs pages.
    public func renderMarkdown() -> String {
        var out: [String] = ["# \(title)", "", "`\(id)`", ""]
        out.append("| Field | Value |")
        out.append("|---|---|")
        out.append("| Source | \(cell(source.stack.displayName)) (\(source.kind.rawValue), sent by \(source.sender.rawValue)) |")
        out.append("| Frame | \(frame.type ?? "none shown") |")
        out.append("| Error code | \(frame.code.map { cell($0.description) + ($0.isDefined ? "" : ", treated as INTERNAL_ERROR") } ?? "not shown") |")
        if let last = frame.lastStreamID { out.append("| Last-Stream-ID | \(last) |") }
        if let stream = frame.streamID { out.append("| Stream | \(stream) |") }
        if let data = frame.debugData { out.append("| Debug data | \(data.redacted ? cell(data.text) : "`\(cell(data.text))`") |") }

        out += ["", "## What it means", ""]
        for line in meaning { out += [line, ""] }

        out += ["## What happened to your requests", "", requestFate.summary, ""]
        out.append("| Requests | Processed | Re-send | Why |")
        out.append("|---|---|---|---|")
        for g in requestFate.groups {
            out.append("| \(cell(g.requests)) | \(g.processed.rawValue) | \(g.resend.rawValue) | \(cell(g.reason)) |")
        }

        out += ["", "## Likely causes", ""]
        for (index, cause) in causes.enumerated() {
            out.append("\(index + 1). **\(cause.title)** (\(cause.likelihood.rawValue)): \(cause.reason)")
        }

        out += ["", "## Fixes"]
        for (stack, stackFixes) in fixesByStack {
            out += ["", "### \(stack)", ""]
            for fix in stackFixes { out.append("- " + (fix.cause.map { "*\($0)*: " } ?? "*re-send*: ") + fix.text) }
        }

        out += ["", "## Dead ends", ""]
        for end in deadEnds { out.append("- **\(end.attempt)**: \(end.reason)") }

        if !notes.isEmpty {
            out += ["", "## Notes on \(source.stack.displayName)", ""]
            for note in notes { out.append("- \(note)") }
        }

        out += ["", "## References", ""]
        for ref in rfc { out.append("- [\(ref.document) \(ref.section) \(ref.title)](\(ref.url))") }
        return out.joined(separator: "\n") + "\n"
    }

    /// Table cells cannot contain raw pipes or newlines.
    private func cell(_ s: String) -> String {
        s.replacing("|", with: "\\|").replacing("\n", with: " ")
    }
}
