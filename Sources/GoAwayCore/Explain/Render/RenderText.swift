extension Explanation {
    /// Plain text for a terminal, wrapped at `width` columns.
    public func renderText(width: Int = 100) -> String {
        var out: [String] = [id, title, ""]
        out.append(contentsOf: wrap("Source: \(source.stack.displayName); \(source.kind.rawValue), sent by \(source.sender.rawValue)", indent: "", width: width))
        out.append(contentsOf: wrap("Frame:  " + frameSummary, indent: "", hanging: "        ", width: width))

        section("What it means", &out)
        for (index, line) in meaning.enumerated() {
            if index > 0 { out.append("") }
            out.append(contentsOf: wrap(line, indent: "  ", width: width))
        }

        section("What happened to your requests", &out)
        out.append(contentsOf: wrap(requestFate.summary, indent: "  ", width: width))
        for group in requestFate.groups {
            out.append(contentsOf: wrap("- \(group.requests): processed \(group.processed.rawValue), re-send \(group.resend.rawValue)", indent: "  ", hanging: "    ", width: width))
            out.append(contentsOf: wrap(group.reason, indent: "    ", width: width))
        }

        section("Likely causes", &out)
        for (index, cause) in causes.enumerated() {
            out.append(contentsOf: wrap("\(index + 1). [\(cause.likelihood.rawValue)] \(cause.title)", indent: "  ", hanging: "     ", width: width))
            out.append(contentsOf: wrap(cause.reason, indent: "     ", width: width))
        }

        section("Fixes", &out)
        for (stack, stackFixes) in fixesByStack {
            out.append("  \(stack)")
            for fix in stackFixes {
                let label = fix.cause.map { "[\($0)] " } ?? "[re-send] "
                out.append(contentsOf: wrap("- " + label + fix.text, indent: "    ", hanging: "      ", width: width))
            }
        }

        section("Dead ends", &out)
        for end in deadEnds {
            out.append(contentsOf: wrap("- \(end.attempt): \(end.reason)", indent: "  ", hanging: "    ", width: width))
        }

        if !notes.isEmpty {
            section("Notes", &out)
            for note in notes { out.append(contentsOf: wrap("- " + note, indent: "  ", hanging: "    ", width: width)) }
        }

        section("References", &out)
        for ref in rfc { out.append("  \(ref.document) \(ref.section) \(ref.title): \(ref.url)") }
        return out.joined(separator: "\n") + "\n"
    }

    /// `GOAWAY, code NO_ERROR (0x0), Last-Stream-ID 1999, debug data <redacted 5 bytes>`.
    var frameSummary: String {
        var parts = [frame.type ?? "none shown"]
        if let code = frame.code {
            parts.append("code \(code)" + (code.isDefined ? "" : ", treated as INTERNAL_ERROR"))
        } else if frame.type != nil {
            parts.append("code not shown")
        }
        if let last = frame.lastStreamID { parts.append("Last-Stream-ID \(last)") }
        if let stream = frame.streamID { parts.append("stream \(stream)") }
        if let data = frame.debugData { parts.append("debug data \(data.redacted ? data.text : "\"\(data.text)\"")") }
        return parts.joined(separator: ", ")
    }

    /// Fixes grouped by stack, stacks in order of first appearance (the reader's own stack first).
    var fixesByStack: [(stack: String, fixes: [Fix])] {
        var order: [String] = []
        var groups: [String: [Fix]] = [:]
        for fix in fixes {
            if groups[fix.stack] == nil { order.append(fix.stack) }
            groups[fix.stack, default: []].append(fix)
        }
        return order.map { ($0, groups[$0]!) }
    }

    private func section(_ title: String, _ out: inout [String]) {
        out.append("")
        out.append(title.uppercased())
    }
}

/// Greedy word wrap; words longer than the line stay whole (URLs, config names).
func wrap(_ text: String, indent: String, hanging: String? = nil, width: Int) -> [String] {
    var lines: [String] = []
    var current = indent
    var hasWord = false
    for word in text.split(separator: " ", omittingEmptySubsequences: true) {
        if hasWord && current.count + 1 + word.count > width {
            lines.append(current)
            current = (hanging ?? indent) + word
        } else {
            current += (hasWord ? " " : "") + word
        }
        hasWord = true
    }
    lines.append(current)
    return lines
}
