extension ErrorMessageParser {
    /// nginx error-log lines. Codes are printed as decimal numbers.
    /// - grpc_pass / proxy to an HTTP/2 upstream: "upstream sent goaway with error 0",
    ///   "upstream rejected request with error 7" (RST_STREAM). nginx is the client here.
    /// - client side, info level: "client canceled stream 5", "client terminated stream 3 with
    ///   status 1", "client terminated stream 1 due to internal error".
    /// - debug level: "http2 GOAWAY frame: last sid 1999, error 0" (received) and
    ///   "http2 send GOAWAY frame: last sid 1999, error 0" (nginx closing, e.g. keepalive_requests).
    @Sendable static func recogniseNginx(_ text: String) -> GoAwayObservation? {
        if let m = text.firstMatch(of: /upstream sent goaway with error (\d+)/) {
            return GoAwayObservation(stack: .nginx, kind: .goaway, code: parseCode(m.1), notes: [.proxyUpstream])
        }
        if let m = text.firstMatch(of: /upstream rejected request with error (\d+)/) {
            return GoAwayObservation(stack: .nginx, kind: .rstStream, code: parseCode(m.1), notes: [.proxyUpstream])
        }
        if let m = text.firstMatch(of: /http2 (send )?GOAWAY frame: last sid (\d+), error (\d+)/) {
            return GoAwayObservation(
                stack: .nginx, kind: .goaway, sender: m.1 == nil ? .client : .server,
                code: parseCode(m.3), lastStreamID: streamID(m.2)
            )
        }
        if let m = text.firstMatch(of: /client canceled stream (\d+)/) {
            return GoAwayObservation(stack: .nginx, kind: .rstStream, sender: .client, code: .cancel, streamID: streamID(m.1))
        }
        if let m = text.firstMatch(of: /client terminated stream (\d+) (?:with status (\d+)|due to internal error)/) {
            return GoAwayObservation(
                stack: .nginx, kind: .rstStream, sender: .client,
                code: m.2.flatMap { parseCode($0) } ?? .internalError, streamID: streamID(m.1)
            )
        }
        if text.contains("client sent GOAWAY") {
            return GoAwayObservation(stack: .nginx, kind: .goaway, sender: .client, code: .protocolError)
        }
        return nil
    }
}
