extension ErrorMessageParser {
    /// swift-nio-http2 errors as `String(describing:)` prints them:
    /// `StreamClosed(streamID: HTTP2StreamID(5), errorCode: HTTP2ErrorCode<0x8 Cancel>, location: …)`.
    /// After a GOAWAY, NIO closes streams above Last-Stream-ID with CANCEL (not REFUSED_STREAM),
    /// so a CANCEL here may well mean "not processed".
    @Sendable static func recogniseSwiftNIO(_ text: String) -> GoAwayObservation? {
        if let m = text.firstMatch(of: /StreamClosed\(streamID: HTTP2StreamID\((\d+)\), errorCode: (HTTP2ErrorCode<0x[0-9a-fA-F]+[^>]*>)/) {
            let code = parseCode(m.2)
            return GoAwayObservation(
                stack: .swiftNIO, kind: .rstStream, code: code, streamID: streamID(m.1),
                notes: code == .cancel ? [.nioCancelMayMeanUnprocessed] : []
            )
        }
        if text.contains("CreatedStreamAfterGoaway") {
            return GoAwayObservation(stack: .swiftNIO, kind: .unprocessedAfterGoaway)
        }
        if let m = text.firstMatch(of: /GOAWAY.*lastStreamID: HTTP2StreamID\((\d+)\).*errorCode: (HTTP2ErrorCode<0x[0-9a-fA-F]+[^>]*>)/) {
            return GoAwayObservation(stack: .swiftNIO, kind: .goaway, code: parseCode(m.2), lastStreamID: streamID(m.1))
        }
        return nil
    }

    /// AsyncHTTPClient: `HTTPClientError.remoteConnectionClosed` — the connection went away with
    /// the request in flight; AHC 1.x does not re-send (issue #505).
    @Sendable static func recogniseAsyncHTTPClient(_ text: String) -> GoAwayObservation? {
        guard text.contains("remoteConnectionClosed") else { return nil }
        return GoAwayObservation(stack: .asyncHTTPClient, kind: .connectionClosed)
    }
}
