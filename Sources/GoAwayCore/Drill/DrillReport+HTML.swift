/// `goaway drill --report FILE.html`: one self-contained page (inline CSS and SVG, no script, no
/// fetch) that shows make-before-break happening. Pure string building.
///
/// Per phase, per client mode, a timeline (`<svg class="timeline" data-mode data-phase
/// data-connections>`) with one `<g class="lane">` per client connection: a line from open to
/// close, green while it serves, amber once a GOAWAY notice arrived, a red diamond at the final
/// GOAWAY, a bar at the close. Under the lanes a row of re-sends (coloured by reason) and a row of
/// lost requests. Dashed verticals are the fleet's steps. Then the throughput of both clients on
/// one chart, and the summary table.
extension DrillReport {
    package func renderHTML() -> String {
        var h = HTML()
        let passed = verdict?.passed ?? false
        h.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>goaway drill: \(passed ? "PASS" : "FAIL")</title>")
        h.raw("<style>\(Self.css)</style></head><body>")
        h.raw("<h1>goaway drill <span class=\"\(passed ? "pass" : "fail")\">\(passed ? "PASS" : "FAIL")</span></h1>")
        let s = settings
        let place = s.topology == .netns ? "hosts in network namespaces (HAProxy, dnsmasq)" : "loopback"
        h.raw("<p class=\"meta\">")
        h.text("\(s.servers) servers on \(place), concurrency \(s.concurrency), \(Fmt.num(s.durationSeconds, 1)) s per client over \(s.phases.count) phases; GET + POST mix.")
        h.raw("</p>")
        if let verdict {
            h.raw("<p class=\"verdict\">")
            h.text(verdictLine(verdict))
            h.raw("</p>")
            if !verdict.reasons.isEmpty || !verdict.warnings.isEmpty {
                h.raw("<ul class=\"notes\">")
                for r in verdict.reasons { h.raw("<li class=\"bad\">"); h.text(r); h.raw("</li>") }
                for w in verdict.warnings { h.raw("<li class=\"warn\">"); h.text("warning: " + w); h.raw("</li>") }
                h.raw("</ul>")
            }
        }
        summaryTable(&h)
        h.raw(Self.legend)
        for phase in s.phases {
            let rows = phases.filter { $0.phase == phase }
            guard !rows.isEmpty else { continue }
            h.raw("<section class=\"phase\"><h2>")
            h.text(phase.rawValue)
            h.raw("</h2>")
            let span = max(1, rows.compactMap { $0.timeline?.durationMs }.max() ?? 1)
            for row in rows {
                if let n = row.network { networkNotes(&h, row, n) }
                timelineSVG(&h, row, spanMs: span)
            }
            throughputSVG(&h, rows, spanMs: span)
            h.raw("</section>")
        }
        if let topology { topologyTable(&h, topology) }
        h.raw("</body></html>\n")
        return h.out
    }

    // MARK: tables

    private func summaryTable(_ h: inout HTML) {
        h.raw("<table class=\"summary\"><tr>")
        for c in ["client", "phase", "requests", "ok", "re-sent", "failed", "unprocessed", "silent", "lost", "req/s", "p50 ms", "p99 ms", "GOAWAYs sent", "received", "conns"] {
            h.raw("<th>"); h.text(c); h.raw("</th>")
        }
        h.raw("</tr>")
        for mode in settings.modes {
            let rows = phases.filter { $0.mode == mode }
            for r in rows {
                h.raw(r.tally.lost > 0 ? "<tr class=\"lost\">" : "<tr>")
                let cells = [mode.rawValue, r.phase.rawValue] + Self.cells(r.tally)
                    + [Self.counts(r.goawaysByCode), String(r.goawaysReceived), String(r.connectionsOpened)]
                for (i, c) in cells.enumerated() {
                    h.raw(i >= 2 ? "<td class=\"n\">" : "<td>"); h.text(c); h.raw("</td>")
                }
                h.raw("</tr>")
            }
            if rows.count > 1 {
                h.raw("<tr class=\"total\">")
                for (i, c) in ([mode.rawValue, "total"] + Self.cells(total(for: mode)) + ["", "", ""]).enumerated() {
                    h.raw(i >= 2 ? "<td class=\"n\">" : "<td>"); h.text(c); h.raw("</td>")
                }
                h.raw("</tr>")
            }
        }
        h.raw("</table>")
    }

    private func topologyTable(_ h: inout HTML, _ t: DrillTopologyInfo) {
        h.raw("<section class=\"topology\"><h2>topology</h2><p class=\"meta\">")
        h.text("\(t.serviceName):\(t.port) served by dnsmasq · \(t.haproxyVersion) · \(t.dnsmasqVersion)")
        h.raw("</p><table class=\"summary\"><tr><th>namespace</th><th>role</th><th>address</th></tr>")
        for host in t.hosts {
            h.raw("<tr><td>"); h.text(host.namespace); h.raw("</td><td>"); h.text(host.role); h.raw("</td><td>"); h.text(host.address); h.raw("</td></tr>")
        }
        h.raw("</table></section>")
    }

    private func networkNotes(_ h: inout HTML, _ r: PhaseResult, _ n: DrillNetworkPhase) {
        var notes: [String] = []
        for c in n.dnsChanges.dropFirst() {
            notes.append("DNS at \(Fmt.num(c.atMs, 0)) ms: −\(c.removed.joined(separator: ", ")) +\(c.added.joined(separator: ", "))")
        }
        for host in n.newHosts {
            notes.append("new host \(host.address): " + (host.firstTrafficMs.map { "first request \(Fmt.num($0, 0)) ms after its DNS record" } ?? "no request in the \(Fmt.num(max(0, r.elapsedSeconds * 1000 - host.dnsAtMs), 0)) ms of the phase after its DNS record"))
        }
        if r.phase == .newAddresses { notes.append("connections to retired addresses after their drain: \(n.retiredAddressConnections)") }
        if n.balancerReloads > 0 || n.backendDrains > 0 {
            notes.append("haproxy reloaded \(n.balancerReloads)×, backends drained \(n.backendDrains)×; GOAWAYs haproxy sent the client: \(Self.counts(n.goawaysReceivedByCode)); the client re-sent \(r.tally.resent) (\(Self.counts(n.resentByReason))), lost \(r.tally.lost)")
        }
        if let p = n.partition {
            notes.append("link of \(p.address) down at \(Fmt.num(p.linkDownMs, 0)) ms: " + (p.detectionMs.map { "detected after \(Fmt.num($0, 0)) ms" } ?? "not detected in the phase")
                + "; \(p.strandedRequests) requests stranded there")
        }
        guard !notes.isEmpty else { return }
        h.raw("<ul class=\"net\"><li class=\"who\">")
        h.text(r.mode.rawValue)
        h.raw("</li>")
        for note in notes { h.raw("<li>"); h.text(note); h.raw("</li>") }
        h.raw("</ul>")
    }

    // MARK: SVG

    static let width = 1320.0
    static let left = 190.0
    static let right = 20.0
    static var plotWidth: Double { width - left - right }

    static func x(_ ms: Double, _ span: Double) -> Double { left + plotWidth * min(max(ms, 0), span) / span }

    /// One lane per connection of `row`, plus re-send and loss rows, on a shared axis.
    private func timelineSVG(_ h: inout HTML, _ row: PhaseResult, spanMs span: Double) {
        let timeline = row.timeline ?? DrillTimeline()
        let lanes = timeline.lanes
        let laneH = lanes.count <= 14 ? 18.0 : max(3, 250 / Double(lanes.count))
        let top = 50.0
        let rowsY = top + Double(lanes.count) * laneH + 8
        let height = rowsY + 2 * 18 + 30
        h.raw("<svg class=\"timeline\" data-mode=\"\(row.mode.rawValue)\" data-phase=\"\(row.phase.rawValue)\" data-connections=\"\(lanes.count)\" width=\"\(Int(Self.width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(Self.width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">")
        h.raw("<text x=\"8\" y=\"16\" class=\"mode\">")
        h.text("\(row.mode.rawValue): \(lanes.count) connections, \(row.tally.resent) re-sent, \(row.tally.lost) lost")
        h.raw("</text>")
        axis(&h, span: span, y0: top - 6, y1: rowsY + 36)
        for (k, step) in timeline.steps.enumerated() {
            let x = Self.x(step.atMs, span)
            // Alternate rows, so labels of steps close together do not overlap.
            let labelY = top - 12 - Double(k % 2) * 11
            h.raw("<line class=\"step\" x1=\"\(f(x))\" y1=\"\(f(labelY + 2))\" x2=\"\(f(x))\" y2=\"\(f(rowsY + 36))\"/>")
            let nearEnd = x > Self.width - 140
            h.raw("<text class=\"steplabel\" x=\"\(f(nearEnd ? x - 3 : x + 3))\" y=\"\(f(labelY))\"\(nearEnd ? " text-anchor=\"end\"" : "")>")
            h.text(step.label)
            h.raw("</text>")
        }
        for (i, lane) in lanes.enumerated() {
            let y = top + Double(i) * laneH + laneH / 2
            let open = Self.x(lane.openedMs, span)
            let close = Self.x(lane.closedMs ?? span, span)
            let notice = lane.goAways.first.map { Self.x($0.atMs, span) }
            let sw = max(1.5, min(6, laneH * 0.45))
            h.raw("<g class=\"lane\" data-connection=\"\(lane.connection)\"><title>")
            h.text("connection \(lane.connection) → \(lane.endpoint): open \(Fmt.num(lane.openedMs, 0)) ms"
                + lane.goAways.map { ", GOAWAY \($0.code) last=\($0.lastStreamID == Int32.max ? "2^31-1" : String($0.lastStreamID)) at \(Fmt.num($0.atMs, 0)) ms" }.joined()
                + (lane.closedMs.map { ", closed \(Fmt.num($0, 0)) ms" } ?? ", open at the end"))
            h.raw("</title>")
            h.raw("<line class=\"serve\" x1=\"\(f(open))\" y1=\"\(f(y))\" x2=\"\(f(notice ?? close))\" y2=\"\(f(y))\" stroke-width=\"\(f(sw))\"/>")
            if let notice {
                h.raw("<line class=\"drain\" x1=\"\(f(notice))\" y1=\"\(f(y))\" x2=\"\(f(max(close, notice + 1)))\" y2=\"\(f(y))\" stroke-width=\"\(f(sw))\"/>")
            }
            let r = max(2, min(6, laneH * 0.4))
            h.raw("<circle class=\"open\" cx=\"\(f(open))\" cy=\"\(f(y))\" r=\"\(f(r * 0.7))\"/>")
            for (k, g) in lane.goAways.enumerated() {
                let gx = Self.x(g.atMs, span)
                let final = k == lane.goAways.count - 1 && (!g.isNotice || lane.goAways.count > 1)
                if final {
                    h.raw("<path class=\"final\" d=\"M\(f(gx)) \(f(y - r))L\(f(gx + r)) \(f(y))L\(f(gx)) \(f(y + r))L\(f(gx - r)) \(f(y))Z\"/>")
                } else {
                    h.raw("<path class=\"notice\" d=\"M\(f(gx - r)) \(f(y - r))L\(f(gx + r)) \(f(y - r))L\(f(gx)) \(f(y + r))Z\"/>")
                }
            }
            if lane.closedMs != nil {
                h.raw("<rect class=\"close\" x=\"\(f(close - 1))\" y=\"\(f(y - r))\" width=\"2.5\" height=\"\(f(2 * r))\"/>")
            }
            if laneH >= 12 {
                h.raw("<text class=\"lanelabel\" x=\"\(f(Self.left - 8))\" y=\"\(f(y + 4))\">")
                h.text("#\(lane.connection) " + Self.shortEndpoint(lane.endpoint))
                h.raw("</text>")
            }
            h.raw("</g>")
        }
        if laneH < 12 {
            h.raw("<text class=\"lanelabel\" x=\"\(f(Self.left - 8))\" y=\"\(f(top + 12))\">")
            h.text("\(lanes.count) connections ↓")
            h.raw("</text>")
        }
        // Re-sends by reason, losses by fate.
        let resY = rowsY + 9
        let lossY = rowsY + 27
        h.raw("<text class=\"rowlabel\" x=\"\(f(Self.left - 8))\" y=\"\(f(resY + 4))\">re-sent (\(timeline.resends.count))</text>")
        h.raw("<text class=\"rowlabel\" x=\"\(f(Self.left - 8))\" y=\"\(f(lossY + 4))\">lost (\(timeline.losses.count))</text>")
        for mark in timeline.resends {
            let x = Self.x(mark.atMs, span)
            h.raw("<line class=\"resend r-\(Self.cssName(mark.label))\" x1=\"\(f(x))\" y1=\"\(f(resY - 7))\" x2=\"\(f(x))\" y2=\"\(f(resY + 7))\"><title>")
            h.text("re-sent (\(mark.label)) at \(Fmt.num(mark.atMs, 0)) ms")
            h.raw("</title></line>")
        }
        for mark in timeline.losses {
            let x = Self.x(mark.atMs, span)
            h.raw("<path class=\"loss\" d=\"M\(f(x - 5)) \(f(lossY - 5))L\(f(x + 5)) \(f(lossY + 5))M\(f(x + 5)) \(f(lossY - 5))L\(f(x - 5)) \(f(lossY + 5))\"><title>")
            h.text("lost (\(mark.label)) at \(Fmt.num(mark.atMs, 0)) ms")
            h.raw("</title></path>")
        }
        h.raw("</svg>")
    }

    /// Requests per second of every mode of a phase, on the phase's axis.
    private func throughputSVG(_ h: inout HTML, _ rows: [PhaseResult], spanMs span: Double) {
        let height = 150.0
        let top = 22.0
        let bottom = height - 26
        let rates = rows.map { $0.timeline?.ratePerSecond ?? [] }
        let peak = max(1, rates.flatMap { $0 }.max() ?? 1)
        h.raw("<svg class=\"throughput\" width=\"\(Int(Self.width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(Self.width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">")
        h.raw("<text x=\"8\" y=\"16\" class=\"mode\">throughput (req/s per \(Fmt.num(rows.first?.timeline?.bucketMs ?? 100, 0)) ms)</text>")
        h.raw("<text class=\"rowlabel\" x=\"\(f(Self.left - 8))\" y=\"\(f(top + 4))\">\(Fmt.num(peak, 0))</text>")
        h.raw("<text class=\"rowlabel\" x=\"\(f(Self.left - 8))\" y=\"\(f(bottom + 4))\">0</text>")
        axis(&h, span: span, y0: top, y1: bottom)
        for (k, row) in rows.enumerated() {
            guard let t = row.timeline, !t.throughput.isEmpty else { continue }
            let points = rates[k].enumerated().map { i, v in
                "\(f(Self.x((Double(i) + 0.5) * t.bucketMs, span))),\(f(bottom - (bottom - top) * v / peak))"
            }.joined(separator: " ")
            h.raw("<polyline class=\"rate m-\(row.mode.rawValue)\" points=\"\(points)\"><title>\(row.mode.rawValue)</title></polyline>")
            h.raw("<text class=\"key m-\(row.mode.rawValue)\" x=\"\(f(Self.width - 260 + Double(k) * 120))\" y=\"16\">— \(row.mode.rawValue)</text>")
        }
        h.raw("</svg>")
    }

    private func axis(_ h: inout HTML, span: Double, y0: Double, y1: Double) {
        let step = Self.tickStep(span)
        var t = 0.0
        h.raw("<line class=\"axis\" x1=\"\(f(Self.left))\" y1=\"\(f(y1))\" x2=\"\(f(Self.width - Self.right))\" y2=\"\(f(y1))\"/>")
        while t <= span + 0.5 {
            let x = Self.x(t, span)
            h.raw("<line class=\"grid\" x1=\"\(f(x))\" y1=\"\(f(y0))\" x2=\"\(f(x))\" y2=\"\(f(y1))\"/>")
            let decimals = step.truncatingRemainder(dividingBy: 1000) == 0 ? 0 : step.truncatingRemainder(dividingBy: 100) == 0 ? 1 : 2
            h.raw("<text class=\"tick\" x=\"\(f(x))\" y=\"\(f(y1 + 13))\">\(Fmt.num(t / 1000, decimals)) s</text>")
            t += step
        }
    }

    /// A round tick step giving 5–12 ticks over `span` milliseconds.
    static func tickStep(_ span: Double) -> Double {
        for step in [50.0, 100, 250, 500, 1000, 2000, 5000, 10000, 30000, 60000] where span / step <= 12 { return step }
        return 120_000
    }

    /// `http://fleet.test:8080 (10.77.0.101)` → `10.77.0.101`; `http://127.0.0.1:4711` → `127.0.0.1:4711`.
    static func shortEndpoint(_ endpoint: String) -> String {
        if let open = endpoint.lastIndex(of: "("), endpoint.hasSuffix(")") {
            return String(endpoint[endpoint.index(after: open)..<endpoint.index(before: endpoint.endIndex)])
        }
        let parts = endpoint.split(separator: "/", omittingEmptySubsequences: true)
        return endpoint.contains("://") && parts.count >= 2 ? String(parts[1]) : endpoint
    }

    static func cssName(_ s: String) -> String { String(s.map { $0.isLetter || $0.isNumber ? $0 : "-" }) }

    private func f(_ v: Double) -> String { Fmt.num(v, 1) }

    static let legend = """
        <svg class="legend" width="1320" height="26" xmlns="http://www.w3.org/2000/svg">\
        <line class="serve" x1="10" y1="13" x2="50" y2="13" stroke-width="5"/><text x="56" y="17">serving</text>\
        <line class="drain" x1="130" y1="13" x2="170" y2="13" stroke-width="5"/><text x="176" y="17">draining (after GOAWAY notice)</text>\
        <path class="notice" d="M384 8L394 8L389 18Z"/><text x="400" y="17">GOAWAY notice</text>\
        <path class="final" d="M510 8L515 13L510 18L505 13Z"/><text x="522" y="17">final GOAWAY</text>\
        <rect class="close" x="630" y="8" width="2.5" height="10"/><text x="640" y="17">closed</text>\
        <line class="resend r-goaway" x1="720" y1="6" x2="720" y2="20"/><text x="726" y="17">re-sent: goaway</text>\
        <line class="resend r-refused-stream" x1="850" y1="6" x2="850" y2="20"/><text x="856" y="17">refused_stream</text>\
        <line class="resend r-never-sent" x1="970" y1="6" x2="970" y2="20"/><text x="976" y="17">never_sent</text>\
        <line class="resend r-idempotent-retry" x1="1070" y1="6" x2="1070" y2="20"/><text x="1076" y="17">idempotent_retry</text>\
        <path class="loss" d="M1200 8L1210 18M1210 8L1200 18"/><text x="1216" y="17">lost</text></svg>
        """

    static let css = """
        body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1d2330;background:#fff}
        h1{font-size:22px;margin:0 0 6px}h2{font-size:17px;margin:26px 0 4px;border-bottom:1px solid #d5d9e0}
        .pass{color:#fff;background:#1f8f4e;padding:1px 8px;border-radius:4px}.fail{color:#fff;background:#c0392b;padding:1px 8px;border-radius:4px}
        .meta{color:#566;margin:2px 0}.verdict{font-weight:600}
        table.summary{border-collapse:collapse;margin:10px 0;font-size:13px}table.summary th,table.summary td{border:1px solid #d5d9e0;padding:3px 8px}
        table.summary th{background:#f1f3f6}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.total td{font-weight:600;background:#f8f9fb}tr.lost td{background:#fdecea}
        ul.notes li.bad{color:#c0392b}ul.notes li.warn{color:#9a6700}
        ul.net{margin:4px 0;padding-left:18px;color:#344;font-size:13px}ul.net li.who{list-style:none;margin-left:-18px;font-weight:600}
        svg{display:block;margin:4px 0}svg text{font-size:11px;fill:#334}text.mode{font-size:13px;font-weight:600}
        text.lanelabel,text.rowlabel{text-anchor:end}text.tick{text-anchor:middle;fill:#667}text.steplabel{fill:#6b4fa0;font-size:10px}
        line.grid{stroke:#eef0f3}line.axis{stroke:#99a}line.step{stroke:#6b4fa0;stroke-dasharray:4 3}
        line.serve{stroke:#2e9d5b}line.drain{stroke:#f0a020}circle.open{fill:#1d6b3d}
        path.notice{fill:#f0a020;stroke:#8a5a00;stroke-width:.6}path.final{fill:#d0312d}rect.close{fill:#1d2330}
        line.resend{stroke-width:1.6}.r-goaway{stroke:#e67e22}.r-refused-stream{stroke:#2980b9}.r-never-sent{stroke:#8e44ad}.r-idempotent-retry{stroke:#16a085}
        path.loss{stroke:#c0392b;stroke-width:2}
        polyline.rate{fill:none;stroke-width:2}.m-goawaykit{stroke:#2e6fd8;fill:#2e6fd8}.m-naive{stroke:#c0392b;fill:#c0392b}
        text.key{stroke:none;font-weight:600;font-size:12px}polyline.m-goawaykit,polyline.m-naive{fill:none}
        """
}

/// One `<svg class="timeline">` of a rendered report, read back (tests and tools check the picture
/// against the numbers).
package struct DrillHTMLTimeline: Sendable, Hashable {
    package var mode: String
    package var phase: String
    /// The `data-connections` attribute.
    package var declaredConnections: Int
    /// `<g class="lane">` elements drawn.
    package var lanes: Int

    /// Every timeline of `html`, in order. Plain string scanning (the page is ours).
    package static func all(in html: String) -> [DrillHTMLTimeline] {
        html.splitting(by: "<svg class=\"timeline\"").dropFirst().map { chunk in
            let svg = chunk.splitting(by: "</svg>")[0]
            func attr(_ name: String) -> String {
                let after = svg.splitting(by: "\(name)=\"")
                return after.count > 1 ? after[1].splitting(by: "\"")[0] : ""
            }
            return DrillHTMLTimeline(
                mode: attr("data-mode"), phase: attr("data-phase"), declaredConnections: Int(attr("data-connections")) ?? -1,
                lanes: svg.splitting(by: "<g class=\"lane\"").count - 1)
        }
    }
}

extension String {
    /// Splits on a separator string (no Foundation).
    fileprivate func splitting(by separator: String) -> [String] {
        var parts: [String] = []
        var current = Substring(self)
        let sep = Array(separator)
        while let r = current.firstRange(of: separator) {
            parts.append(String(current[..<r.lowerBound]))
            current = current[r.upperBound...]
        }
        _ = sep
        parts.append(String(current))
        return parts
    }
}

/// Escaping string builder.
struct HTML {
    var out = ""
    mutating func raw(_ s: String) { out += s }
    mutating func text(_ s: String) { out += Self.escape(s) }

    static func escape(_ s: String) -> String {
        var r = ""
        r.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": r += "&amp;"
            case "<": r += "&lt;"
            case ">": r += "&gt;"
            case "\"": r += "&quot;"
            default: r.append(c)
            }
        }
        return r
    }
}
