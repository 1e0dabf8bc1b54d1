extension ErrorMessageParser {
    /// Envoy response code details (`%RESPONSE_CODE_DETAILS%`) and its local reply body.
    /// - `upstream_reset_before_response_started{remote_refused_stream_reset}` /
    ///   "reset reason: remote refused stream reset": the upstream refused the stream (not processed).
    /// - `{connection_termination}`: the upstream connection closed (often after a GOAWAY).
    /// - `{remote_reset}` / `{protocol_error}`: a reset with a code Envoy does not print.
    @Sendable static func recogniseEnvoy(_ text: String) -> GoAwayObservation? {
        let reason: Substring
        if let m = text.firstMatch(of: /upstream_reset_(?:before|after)_response_started\{([a-z_]+)/) {
            reason = m.1
        } else if let m = text.firstMatch(of: /reset reason: ([a-z ]+)/) {
            reason = Substring(m.1.replacing(" ", with: "_"))
        } else {
            return nil
        }
        let notes: [GoAwayObservation.StackNote] = [.proxyUpstream]
        switch reason {
        case "remote_refused_stream_reset":
            return GoAwayObservation(stack: .envoy, kind: .rstStream, code: .refusedStream, notes: notes)
        case "connection_termination", "remote_connection_failure":
            return GoAwayObservation(stack: .envoy, kind: .connectionClosed, notes: notes)
        case "protocol_error":
            return GoAwayObservation(stack: .envoy, kind: .rstStream, code: .protocolError, notes: notes)
        case "remote_reset":
            return GoAwayObservation(stack: .envoy, kind: .rstStream, notes: notes)
        default:
            return nil
        }
    }
}
