import Testing
@testable import GoAwayCore

@Suite("Explain: explainer rules")
struct ExplainerTests {
    func explain(code: HTTP2ErrorCode, last: StreamID?, debug: String? = nil, show: Bool = false) -> Explanation {
        Explainer.explain(
            Explainer.observation(code: code, lastStreamID: last, debugData: debug.map { GoAwayDebugData($0) }),
            showDebugData: show
        )
    }

    @Test func lastStreamIDZeroMeansEverythingIsSafeToResend() {
        let e = explain(code: .noError, last: 0)
        #expect(e.requestFate.groups.count == 1)
        #expect(e.requestFate.groups[0].processed == .no)
        #expect(e.requestFate.groups[0].resend == .safe)
        // The seed page got this wrong; we say so.
        #expect(e.deadEnds.contains { $0.attempt.contains("Last-Stream-ID 0") })
        #expect(e.causes.first?.id == "idle-timeout")
    }

    @Test func shutdownNoticeKeepsInFlightRequests() {
        let e = explain(code: .noError, last: .max)
        #expect(e.requestFate.groups.map(\.processed) == [.inProgress, .no])
        #expect(e.causes.first?.id == "graceful-restart")
        #expect(e.title.contains("shutdown notice"))
    }

    @Test func streamsAboveLastAreSafeAndBelowAreIdempotentOnlyOnErrors() {
        let e = explain(code: .internalError, last: 7)
        #expect(e.requestFate.groups.map(\.processed) == [.no, .maybe, .yes])
        #expect(e.requestFate.groups.map(\.resend) == [.safe, .idempotentOnly, .notNeeded])
        #expect(e.requestFate.groups[0].requests.contains("9 and up"))
    }

    @Test func gracefulGoawayLetsUnfinishedStreamsComplete() {
        let e = explain(code: .noError, last: 7)
        #expect(e.requestFate.groups.map(\.processed) == [.no, .inProgress, .yes])
    }

    @Test func goCutOffRequestIsPossiblyProcessed() throws {
        let o = try #require(ErrorMessageParser.parse(#"http2: server sent GOAWAY and closed the connection; LastStreamID=1, ErrCode=NO_ERROR, debug="""#))
        let e = Explainer.explain(o)
        #expect(e.requestFate.groups[1].processed == .maybe)
        #expect(e.requestFate.summary.contains("cut off"))
    }

    @Test func refusedStreamIsAlwaysSafe() {
        let o = GoAwayObservation(stack: .okhttp, kind: .rstStream, code: .refusedStream)
        let e = Explainer.explain(o)
        #expect(e.requestFate.groups.allSatisfy { $0.processed == .no && $0.resend == .safe })
        #expect(e.id == "http2/rst-stream/refused-stream")
        #expect(!e.deadEnds.contains { $0.attempt.contains("Re-sending every failed request") })
    }

    @Test func unknownCodeIsReportedRawButDecidedAsInternalError() {
        let e = explain(code: HTTP2ErrorCode(0x1f), last: 3)
        #expect(e.id == "http2/goaway/unknown-code")
        #expect(e.frame.code?.rawValue == 0x1f)
        #expect(e.frame.codeForDecisions == .internalError)
        #expect(e.requestFate.groups[1].processed == .maybe)
        #expect(e.causes.first?.id == "unknown-code")
        #expect(e.rfc.contains { $0.section == "§7" })
    }

    @Test func nginxDefaultRequestLimitIsRecognisedFromLastStreamID() {
        let e = explain(code: .noError, last: 1999)
        #expect(e.causes.first?.id == "max-requests")
        #expect(e.causes.first?.reason.contains("keepalive_requests") == true)
        #expect(e.fixes.contains { $0.stack == "nginx" && $0.text.contains("keepalive_requests") })
    }

    @Test func albRequestLimitIsRecognisedFromLastStreamID() {
        let e = explain(code: .noError, last: 19999)
        #expect(e.causes.prefix(2).map(\.id) == ["max-requests", "load-balancer"])
    }

    @Test func tooManyPingsPointsAtKeepaliveSettings() {
        let e = explain(code: .enhanceYourCalm, last: 0, debug: "too_many_pings")
        #expect(e.causes.first?.id == "too-many-pings")
        #expect(e.frame.debugData?.text == "too_many_pings")
        #expect(e.frame.debugData?.redacted == false)
        #expect(e.fixes.contains { $0.text.contains("GRPC_ARG_KEEPALIVE_TIME_MS") && $0.text.contains("5 minutes") })
    }

    @Test func debugDataIsRedactedUnlessAskedFor() {
        let secret = "db-primary.internal:5432 token=abc123"
        for format in ExplainFormat.allCases {
            let hidden = explain(code: .internalError, last: 1, debug: secret).rendered(as: format)
            #expect(!hidden.contains("abc123"), "\(format) leaked debug data")
            #expect(hidden.contains("redacted \(secret.utf8.count) bytes"))
            let shown = explain(code: .internalError, last: 1, debug: secret, show: true).rendered(as: format)
            #expect(shown.contains("abc123"), "\(format) hid debug data despite --show-debug-data")
        }
    }

    @Test func everyCodeHasItsOwnIDAndMeaning() {
        let codes = HTTP2ErrorCode.allDefined + [HTTP2ErrorCode(0x1f)]
        let explanations = codes.map { explain(code: $0, last: 5) }
        #expect(Set(explanations.map(\.id)).count == codes.count)
        for e in explanations {
            #expect(!e.causes.isEmpty)
            #expect(!e.fixes.isEmpty)
            #expect(!e.deadEnds.isEmpty)
            #expect(e.rfc.first?.section == "§6.8")
            #expect(e.meaning.count >= 3)
        }
    }

    @Test func causesAreSortedByLikelihood() {
        for code in HTTP2ErrorCode.allDefined {
            let ranks = explain(code: code, last: 5).causes.map(\.likelihood)
            #expect(ranks == ranks.sorted(by: >), "\(code)")
        }
    }

    @Test func observedStackFixComesFirst() throws {
        let o = try #require(ErrorMessageParser.parse("Error [ERR_HTTP2_GOAWAY_SESSION]: New streams cannot be created after receiving a GOAWAY"))
        let e = Explainer.explain(o)
        #expect(e.fixes.first?.stack == "Node.js")
        #expect(e.fixes.first?.text.contains("session.on('goaway'") == true)
        #expect(e.requestFate.groups.first?.resend == .safe)
    }

    @Test func jsonEscapesControlCharactersAndQuotes() {
        #expect(JSONValue.quote("a\"b\\c\n\u{1}é") == #""a\"b\\c\n\u0001é""#)
    }

    @Test func textWrapsAtWidthWithoutBreakingWords() {
        let lines = wrap(String(repeating: "word ", count: 40), indent: "  ", width: 30)
        #expect(lines.allSatisfy { $0.count <= 30 })
        #expect(lines.joined(separator: " ").split(separator: " ").count == 40)
    }
}
