extension DrillReport {
    /// One self-contained HTML page (no network fetches): the summary and a timeline per phase.
    public func renderHTML() -> String {
        "<!doctype html><html><body><pre>" + renderText() + "</pre></body></html>"
    }
}
