extension ErrorMessageParser {
    /// grpc-go: the RPC error keeps the GOAWAY it saw before the transport died
    /// ("received prior goaway: code: ENHANCE_YOUR_CALM, debug data: \"too_many_pings\""), its
    /// client logs the keepalive case, and "transport is closing" carries no frame at all.
    @Sendable static func recogniseGRPCGo(_ text: String) -> GoAwayObservation? {
        if let m = text.firstMatch(of: /received prior goaway: code: (\w+), debug data: "((?:[^"\\]|\\.)*)"/) {
            return GoAwayObservation(
                stack: .grpcGo, kind: .goaway, code: parseCode(m.1), debugData: unquote(m.2),
                notes: [.closedAfterGoaway]
            )
        }
        if let m = text.firstMatch(of: /Client received GoAway with error code (\w+) and debug data equal to ASCII "([^"]*)"/) {
            return GoAwayObservation(stack: .grpcGo, kind: .goaway, code: parseCode(m.1), debugData: unquote(m.2))
        }
        if let m = text.firstMatch(of: /stream terminated by RST_STREAM with error code: (\w+)/) {
            return GoAwayObservation(stack: .grpcGo, kind: .rstStream, code: parseCode(m.1))
        }
        if text.contains("Got too many pings from the client") {
            return GoAwayObservation(
                stack: .grpcGo, kind: .goaway, sender: .server, code: .enhanceYourCalm,
                debugData: GoAwayDebugData("too_many_pings")
            )
        }
        if text.contains("transport is closing") {
            return GoAwayObservation(stack: .grpcGo, kind: .connectionClosed)
        }
        return nil
    }

    /// grpc-java (Netty transport): "UNAVAILABLE: Abrupt GOAWAY closed sent stream. HTTP/2 error
    /// code: NO_ERROR". NettyClientHandler.goingAway uses "sent stream" for streams above the
    /// GOAWAY's Last-Stream-ID and "unsent stream" for streams not yet on the wire: neither was
    /// processed. "Connection closed after GOAWAY" is what streams at or below it get when the
    /// connection then closes: those may have been processed.
    @Sendable static func recogniseGRPCJava(_ text: String) -> GoAwayObservation? {
        guard let m = text.firstMatch(
            of: /(Abrupt GOAWAY closed (sent|unsent) stream|Connection closed after GOAWAY|GOAWAY shut down transport)\.? HTTP\/2 error code: (\w+)(?:(?:,| \() ?debug data: ([^)\n]*)\)?)?/
        ) else { return nil }
        let debug = m.4.map { GoAwayDebugData(String($0).trimmingWhitespace()) }
        let kind: GoAwayObservation.Kind = m.2 != nil ? .unprocessedAfterGoaway : .goaway
        var notes: [GoAwayObservation.StackNote] = []
        if m.2 == "sent" { notes.append(.requestWasSent) }
        if m.1 == "Connection closed after GOAWAY" { notes.append(.closedAfterGoaway) }
        return GoAwayObservation(
            stack: .grpcJava, kind: kind, code: parseCode(m.3),
            debugData: (debug?.isEmpty ?? true) ? nil : debug, notes: notes
        )
    }

    /// gRPC core (C++, and the Python/Ruby/PHP wrappers): status detail "GOAWAY received", and
    /// the keepalive log "Received a GOAWAY with error code ENHANCE_YOUR_CALM and debug data equal
    /// to \"too_many_pings\"".
    @Sendable static func recogniseGRPCCore(_ text: String) -> GoAwayObservation? {
        if let m = text.firstMatch(of: /Received a GOAWAY with error code (\w+) and debug data equal to "([^"]*)"/) {
            return GoAwayObservation(stack: .grpcCore, kind: .goaway, code: parseCode(m.1), debugData: unquote(m.2))
        }
        if let m = text.firstMatch(of: /Received RST_STREAM with error code (\d+)/) {
            return GoAwayObservation(stack: .grpcCore, kind: .rstStream, code: parseCode(m.1))
        }
        if text.contains("GOAWAY received") {
            return GoAwayObservation(stack: .grpcCore, kind: .goaway)
        }
        return nil
    }

    /// grpc-js logs this when a server answers its keepalive pings with ENHANCE_YOUR_CALM.
    @Sendable static func recogniseGRPCJS(_ text: String) -> GoAwayObservation? {
        guard text.contains("rejected by server because of excess pings") else { return nil }
        return GoAwayObservation(
            stack: .grpcJS, kind: .goaway, code: .enhanceYourCalm, debugData: GoAwayDebugData("too_many_pings")
        )
    }
}
