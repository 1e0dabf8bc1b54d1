/// Observation in, `Explanation` out: a pure function, so each rule is testable with values and
/// the golden files pin the whole output.
public enum Explainer {
    /// What a GOAWAY or RST_STREAM means, what happened to the requests, causes, fixes and dead
    /// ends, for one observation.
    ///
    /// - Parameters:
    ///   - observation: the frame's code, last-stream-id and debug data, and which stack reported it
    ///     (parsed from an error message, or given as flags).
    ///   - showDebugData: show GOAWAY debug data verbatim. Off by default because it can carry
    ///     internal host names or tokens (RFC 9113 §6.8); well-known tokens show anyway.
    public static func explain(_ observation: GoAwayObservation, showDebugData: Bool = false) -> Explanation {
        let frame = frame(observation, showDebugData: showDebugData)
        let causes = rankCauses(observation)
        return Explanation(
            id: id(observation),
            title: title(observation),
            source: .init(stack: observation.stack, kind: observation.kind, sender: observation.sender),
            frame: frame,
            meaning: meaning(observation, showDebugData: showDebugData),
            requestFate: requestFate(observation),
            causes: causes,
            fixes: fixes(observation, causes: causes),
            deadEnds: deadEnds(observation),
            notes: stackNotes(observation),
            rfc: references(observation)
        )
    }

    /// Convenience for the `--code/--last-stream-id/--debug-data` form.
    public static func observation(
        code: HTTP2ErrorCode, lastStreamID: StreamID?, debugData: GoAwayDebugData?
    ) -> GoAwayObservation {
        GoAwayObservation(stack: .flags, kind: .goaway, code: code, lastStreamID: lastStreamID, debugData: debugData)
    }

    static func id(_ o: GoAwayObservation) -> String {
        switch o.kind {
        case .goaway: "http2/goaway/\(CodeKnowledge.slug(o.code))"
        case .rstStream: "http2/rst-stream/\(CodeKnowledge.slug(o.code))"
        case .unprocessedAfterGoaway: "http2/goaway/request-not-processed"
        case .connectionClosed: "http2/connection-closed"
        }
    }

    static func title(_ o: GoAwayObservation) -> String {
        let code = o.code?.description
        switch o.kind {
        case .goaway:
            guard let code else { return "GOAWAY (code not shown): the peer is closing the connection" }
            switch o.code! {
            case .noError:
                return o.lastStreamID == .max
                    ? "GOAWAY \(code), Last-Stream-ID 2^31-1: shutdown notice, the connection is draining"
                    : "GOAWAY \(code): the peer is closing the connection gracefully"
            default:
                return "GOAWAY \(code): the peer is closing the connection because of an error"
            }
        case .rstStream:
            return "RST_STREAM \(code ?? "(code not shown)"): one stream was reset"
        case .unprocessedAfterGoaway:
            return "Request not processed: the connection had received GOAWAY"
        case .connectionClosed:
            return "Connection closed with a request in flight (no HTTP/2 error code shown)"
        }
    }

    static func frame(_ o: GoAwayObservation, showDebugData: Bool) -> Explanation.Frame {
        let type: String? =
            switch o.kind {
            case .goaway, .unprocessedAfterGoaway: "GOAWAY"
            case .rstStream: "RST_STREAM"
            case .connectionClosed: nil
            }
        let debug = o.debugData.flatMap { data -> Explanation.DebugDataView? in
            if data.isEmpty { return nil }
            // Protocol-vocabulary tokens are shown; anything else only on request.
            let text = data.rendered(redact: !(showDebugData || knownToken(data) != nil))
            return .init(text: text, length: data.bytes.count, redacted: text != data.unredacted)
        }
        return .init(type: type, code: o.code, lastStreamID: o.lastStreamID, streamID: o.streamID, debugData: debug)
    }

    static func references(_ o: GoAwayObservation) -> [Explanation.RFCReference] {
        var refs: [Explanation.RFCReference] = []
        switch o.kind {
        case .goaway, .unprocessedAfterGoaway, .connectionClosed:
            refs.append(CodeKnowledge.rfc9113("§6.8", "GOAWAY"))
        case .rstStream:
            refs.append(CodeKnowledge.rfc9113("§6.4", "RST_STREAM"))
        }
        if o.kind == .goaway, o.code != nil, o.code != .noError {
            refs.append(CodeKnowledge.rfc9113("§5.4.1", "Connection Error Handling"))
        }
        refs.append(CodeKnowledge.rfc9113("§7", "Error Codes"))
        refs.append(CodeKnowledge.rfc9113("§8.7", "Request Reliability"))
        refs.append(contentsOf: CodeKnowledge.sections(o.code))
        refs.append(.init(document: "RFC 9110", section: "§9.2.2", title: "Idempotent Methods"))
        var seen = Set<String>()
        return refs.filter { seen.insert($0.document + $0.section).inserted }
    }
}
