extension ErrorMessageParser {
    /// Node.js `http2`.
    ///
    /// - `ERR_HTTP2_GOAWAY_SESSION` "New streams cannot be created after receiving a GOAWAY": the
    ///   app called `session.request()` on a session that had received GOAWAY; nothing was sent.
    /// - `ERR_HTTP2_SESSION_ERROR` "Session closed with error code 2": Node destroys the session
    ///   with this error when a GOAWAY carries a code other than NO_ERROR.
    /// - `ERR_HTTP2_STREAM_ERROR` "Stream closed with error code NGHTTP2_REFUSED_STREAM".
    @Sendable static func recogniseNode(_ text: String) -> GoAwayObservation? {
        if text.contains("ERR_HTTP2_GOAWAY_SESSION")
            || text.contains("New streams cannot be created after receiving a GOAWAY")
        {
            return GoAwayObservation(stack: .node, kind: .unprocessedAfterGoaway)
        }
        if let m = text.firstMatch(of: /Session closed with error code (\w+)/) {
            return GoAwayObservation(stack: .node, kind: .goaway, code: parseCode(m.1))
        }
        if let m = text.firstMatch(of: /Stream closed with error code (\w+)/) {
            return GoAwayObservation(stack: .node, kind: .rstStream, code: parseCode(m.1))
        }
        return nil
    }
}
