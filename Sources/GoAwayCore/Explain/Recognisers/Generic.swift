extension ErrorMessageParser {
    /// Last resort for stacks without a recogniser: the message must say GOAWAY (or carry a
    /// token such as `too_many_pings` that only a GOAWAY sends); the code and Last-Stream-ID are
    /// picked up if they are written in one of the usual ways.
    @Sendable static func recogniseGeneric(_ text: String) -> GoAwayObservation? {
        for (token, code) in causeTokens where text.contains(token) {
            return GoAwayObservation(stack: .unknown, kind: .goaway, code: code, debugData: GoAwayDebugData(token))
        }
        guard text.lowercased().contains("goaway") else { return nil }
        var code: HTTP2ErrorCode?
        for candidate in HTTP2ErrorCode.allDefined where text.contains(candidate.name!) {
            code = candidate
            break
        }
        if code == nil, let m = text.firstMatch(of: /(?i)(?:error[ _-]?code|errcode|error)\s*[:=]?\s*(0x[0-9a-f]+|\d+)/) {
            code = parseCode(m.1)
        }
        let last = text.firstMatch(of: /(?i)last[ _-]?stream(?:[ _-]?id)?\s*[:=]?\s*(\d+)/).flatMap { streamID($0.1) }
        return GoAwayObservation(stack: .unknown, kind: .goaway, code: code, lastStreamID: last)
    }
}
