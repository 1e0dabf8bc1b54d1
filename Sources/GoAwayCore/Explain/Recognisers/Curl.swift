extension ErrorMessageParser {
    /// curl / libcurl (nghttp2 underneath):
    /// - "curl: (92) HTTP/2 stream 1 was not closed cleanly: PROTOCOL_ERROR (err 1)" — RST_STREAM.
    /// - "HTTP/2 stream 1 was not closed cleanly before end of the underlying stream" — the
    ///   connection ended (often right after a GOAWAY) with the transfer unfinished.
    /// - verbose "* received GOAWAY, error=0, last_stream=1999".
    /// - "REFUSED_STREAM, retrying a fresh connect": curl re-sends by itself.
    @Sendable static func recogniseCurl(_ text: String) -> GoAwayObservation? {
        if let m = text.firstMatch(of: /received GOAWAY, error=(\d+), last_stream=(\d+)/) {
            return GoAwayObservation(stack: .curl, kind: .goaway, code: parseCode(m.1), lastStreamID: streamID(m.2))
        }
        if let m = text.firstMatch(of: /HTTP\/2 stream (\d+) was not closed cleanly: (\w+) \(err (\d+)\)/) {
            return GoAwayObservation(
                stack: .curl, kind: .rstStream, code: parseCode(m.3) ?? parseCode(m.2), streamID: streamID(m.1)
            )
        }
        if let m = text.firstMatch(of: /HTTP\/2 stream (\d+) was not closed cleanly before end of the underlying (?:stream|connection)/) {
            return GoAwayObservation(stack: .curl, kind: .connectionClosed, streamID: streamID(m.1))
        }
        if text.contains("REFUSED_STREAM, retrying a fresh connect") {
            return GoAwayObservation(stack: .curl, kind: .rstStream, code: .refusedStream, notes: [.stackRetries])
        }
        return nil
    }
}
