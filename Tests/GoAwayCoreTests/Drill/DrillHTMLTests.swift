import Testing

@testable import GoAwayCore

/// The HTML report: self-contained, escaped, one lane per connection.
struct DrillHTMLTests {
    static func report() -> DrillReport {
        var report = DrillReport(settings: .init(DrillPlan(phases: [.rollingRestart])))
        for (mode, conns) in [(DrillClientMode.goAwayKit, 4), (.naive, 2)] {
            var ledger = DrillLedger()
            for id in 0..<20 { ledger.record(id: id, idempotent: true, outcome: .response(matched: true), endedMs: Double(id * 10)) }
            ledger.record(id: 20, idempotent: true, outcome: .hung, endedMs: 150)
            let processed = Dictionary(uniqueKeysWithValues: (0..<20).map { ($0, 1) })
            var row = DrillReport.PhaseResult(mode: mode, phase: .rollingRestart, tally: ledger.tally(processed: processed, resent: 1, elapsed: .seconds(1)), elapsedSeconds: 1)
            row.connectionsOpened = conns
            var t = DrillTimeline()
            for c in 0..<conns {
                t.apply(.opened(connection: c, endpoint: "http://127.0.0.1:80\(c) <&\">"), atMs: Double(c) * 10)
            }
            t.apply(.goAway(connection: 0, code: "NO_ERROR", lastStreamID: Int32.max), atMs: 50)
            t.apply(.goAway(connection: 0, code: "NO_ERROR", lastStreamID: 7), atMs: 60)
            t.apply(.closed(connection: 0), atMs: 80)
            t.apply(.resent(reason: "goaway"), atMs: 61)
            t.apply(.step("restart s0"), atMs: 45)
            t.setThroughput(endsMs: ledger.endsMs)
            t.losses = ledger.lossMarks(processed: processed)
            row.timeline = t
            report.phases.append(row)
        }
        report.conclude()
        return report
    }

    @Test func oneLanePerConnectionPerModeAndPhase() {
        let report = Self.report()
        let html = report.renderHTML()
        let svgs = DrillHTMLTimeline.all(in: html)
        #expect(svgs.count == 2)
        for row in report.phases {
            let svg = svgs.first { $0.mode == row.mode.rawValue && $0.phase == row.phase.rawValue }
            #expect(svg?.lanes == row.connectionsOpened)
            #expect(svg?.declaredConnections == row.connectionsOpened)
        }
        #expect(html.contains("class=\"notice\""))
        #expect(html.contains("class=\"final\""))
        #expect(html.contains("class=\"resend r-goaway\""))
        // One per lost request (the hung one of each mode), plus the legend's.
        #expect(html.components(separatedBy: "<path class=\"loss\"").count - 1 == 2 + 1)
        #expect(html.contains("restart s0"))
        #expect(html.components(separatedBy: "<polyline class=\"rate").count - 1 == 2)
    }

    @Test func selfContainedAndEscaped() {
        let html = Self.report().renderHTML()
        #expect(html.hasPrefix("<!doctype html>"))
        for fetch in ["<script", "src=", "href=", "url(", "@import", "<link"] {
            #expect(!html.contains(fetch), "\(fetch)")
        }
        #expect(!html.contains("<&\">"))
        #expect(html.contains("&lt;&amp;&quot;&gt;"))
        #expect(html.contains("<table class=\"summary\">"))
        #expect(html.contains("FAIL"))  // the hung request of goawaykit fails the verdict
    }

    @Test func shortEndpointsAndTicks() {
        #expect(DrillReport.shortEndpoint("http://fleet.test:8080 (10.77.0.101)") == "10.77.0.101")
        #expect(DrillReport.shortEndpoint("http://127.0.0.1:4711") == "127.0.0.1:4711")
        #expect(DrillReport.tickStep(2000) == 250)
        #expect(DrillReport.tickStep(5000) == 500)
        #expect(DrillReport.tickStep(60000) == 5000)
    }
}
