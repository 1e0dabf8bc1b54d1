extension ErrorMessageParser {
    /// OkHttp: `okhttp3.internal.http2.StreamResetException: stream was reset: REFUSED_STREAM`;
    /// `ConnectionShutdownException` is thrown for a call that hit a connection after its GOAWAY
    /// (never sent; OkHttp normally retries it on a new connection).
    @Sendable static func recogniseOkHttp(_ text: String) -> GoAwayObservation? {
        if let m = text.firstMatch(of: /stream was reset: (\w+)/) {
            return GoAwayObservation(stack: .okhttp, kind: .rstStream, code: parseCode(m.1))
        }
        if text.contains("ConnectionShutdownException") {
            return GoAwayObservation(stack: .okhttp, kind: .unprocessedAfterGoaway)
        }
        return nil
    }
}
