extension ErrorMessageParser {
    /// Go's x/net/http2 (and net/http's bundled copy).
    ///
    /// - `GoAwayError`: "http2: server sent GOAWAY and closed the connection; LastStreamID=1,
    ///   ErrCode=NO_ERROR, debug=\"\"" — the connection closed with this request at or below
    ///   Last-Stream-ID still unfinished; Go already re-sent everything above it.
    /// - `errClientConnGotGoAway`: "http2: Transport received Server's graceful shutdown GOAWAY" —
    ///   the request was above Last-Stream-ID (unprocessed); Go only shows it when it cannot
    ///   re-send, i.e. "cannot retry err [...] after Request.Body was written".
    /// - `StreamError`: "stream error: stream ID 3; REFUSED_STREAM[; received from peer]".
    /// - verbose logs (GODEBUG=http2debug=2): "Transport received GOAWAY len=8 LastStreamID=13
    ///   ErrCode=NO_ERROR Debug=\"\"".
    @Sendable static func recogniseGo(_ text: String) -> GoAwayObservation? {
        if let m = text.firstMatch(
            of: /server sent GOAWAY and closed the connection; LastStreamID=(\d+), ErrCode=([^,]+)(?:, debug="((?:[^"\\]|\\.)*)")?/
        ) {
            return GoAwayObservation(
                stack: .go, kind: .goaway, code: parseCode(m.2), lastStreamID: streamID(m.1),
                debugData: m.3.flatMap { unquote($0) }, notes: [.closedAfterGoaway]
            )
        }
        if let m = text.firstMatch(
            of: /(?:received|read) GOAWAY len=\d+ LastStreamID=(\d+) ErrCode=(\S+) Debug="((?:[^"\\]|\\.)*)"/
        ) {
            return GoAwayObservation(
                stack: .go, kind: .goaway, code: parseCode(m.2), lastStreamID: streamID(m.1),
                debugData: unquote(m.3)
            )
        }
        if text.contains("Transport received Server's graceful shutdown GOAWAY") {
            let notes: [GoAwayObservation.StackNote] =
                text.contains("after Request.Body was written") ? [.goBodyNotReplayable] : []
            return GoAwayObservation(stack: .go, kind: .unprocessedAfterGoaway, notes: notes)
        }
        if let m = text.firstMatch(of: /stream error: stream ID (\d+); ([A-Z_0-9]+|unknown error code 0x[0-9a-f]+)/) {
            return GoAwayObservation(
                stack: .go, kind: .rstStream, code: parseCode(m.2), streamID: streamID(m.1)
            )
        }
        return nil
    }
}
