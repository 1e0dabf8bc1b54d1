/// Per-error-code facts from RFC 9113 §7, in the words a reader of an error message needs.
enum CodeKnowledge {
    /// `no-error`, `http-1-1-required`; `unknown-code` for codes RFC 9113 does not define,
    /// `unspecified` when the message shows no code.
    static func slug(_ code: HTTP2ErrorCode?) -> String {
        guard let code else { return "unspecified" }
        guard let name = code.name else { return "unknown-code" }
        return String(name.lowercased().map { $0 == "_" ? "-" : $0 })
    }

    /// What the code says, per RFC 9113 §7.
    static func meaning(_ code: HTTP2ErrorCode) -> String {
        switch code {
        case .noError: "NO_ERROR: no error. On GOAWAY it is a graceful close: the sender simply wants to stop using this connection."
        case .protocolError: "PROTOCOL_ERROR: the sender detected an unspecific protocol error, a frame or header it is not allowed to accept."
        case .internalError: "INTERNAL_ERROR: the sender hit an unexpected internal error."
        case .flowControlError: "FLOW_CONTROL_ERROR: the sender's peer violated the flow-control protocol (sent beyond the window)."
        case .settingsTimeout: "SETTINGS_TIMEOUT: the sender sent SETTINGS and got no acknowledgement in time."
        case .streamClosed: "STREAM_CLOSED: the sender received a frame after a stream was half-closed."
        case .frameSizeError: "FRAME_SIZE_ERROR: the sender received a frame with an invalid size."
        case .refusedStream: "REFUSED_STREAM: the sender refused the stream before doing any application processing; the request is guaranteed unprocessed (RFC 9113 §8.7)."
        case .cancel: "CANCEL: the stream is no longer needed, usually because the request was cancelled."
        case .compressionError: "COMPRESSION_ERROR: the sender cannot keep the header compression context; the connection is unusable."
        case .connectError: "CONNECT_ERROR: the TCP connection established for a CONNECT request was reset or abnormally closed."
        case .enhanceYourCalm: "ENHANCE_YOUR_CALM: the sender thinks its peer is generating excessive load (pings, resets, frames)."
        case .inadequateSecurity: "INADEQUATE_SECURITY: the transport's security properties (TLS version, cipher) are below HTTP/2's minimum."
        case .http11Required: "HTTP_1_1_REQUIRED: the sender requires HTTP/1.1 in place of HTTP/2 for this request."
        default: "\(code.hex) is not defined by RFC 9113. An unknown code must not trigger special behaviour: it is treated as INTERNAL_ERROR (RFC 9113 §7), and the raw value is reported."
        }
    }

    /// Causes for this code before observation-specific adjustments, most likely first.
    static func baseCauses(
        _ code: HTTP2ErrorCode?, kind: GoAwayObservation.Kind
    ) -> [(CauseID, Explanation.Cause.Likelihood, String)] {
        switch kind {
        case .connectionClosed:
            return [
                (.connectionLost, .high, "The message shows a closed connection and no HTTP/2 error code."),
                (.idleTimeout, .medium, "Idle timeouts on load balancers and NATs close connections without warning the client."),
                (.gracefulRestart, .medium, "A server or proxy that restarts without draining closes connections with requests in flight."),
                (.loadBalancer, .medium, "Load balancers rotate client connections (AWS ALB after about 10,000 requests)."),
            ]
        case .unprocessedAfterGoaway where code == nil || code == .noError:
            return [
                (.gracefulRestart, .high, "A GOAWAY ended the connection before this request could use it; graceful shutdowns are the most common reason."),
                (.maxRequests, .medium, "Servers and load balancers end connections after a fixed number of requests."),
                (.maxAge, .medium, "Servers and proxies rotate connections after a maximum age."),
                (.idleTimeout, .low, "An idle close races with a new request on the same connection."),
            ]
        case .goaway, .rstStream, .unprocessedAfterGoaway:
            break
        }
        guard let code else {
            return [
                (.gracefulRestart, .medium, "The message shows no error code; most GOAWAYs are graceful."),
                (.maxRequests, .medium, "Request limits (nginx keepalive_requests) end connections routinely."),
                (.maxAge, .medium, "Connection age limits end connections routinely."),
                (.idleTimeout, .low, "Idle closes are usually invisible unless a request races with them."),
                (.internalFailure, .low, "An error code other than NO_ERROR would point here; the message does not show one."),
            ]
        }
        switch code {
        case .noError:
            return [
                (.gracefulRestart, .high, "NO_ERROR is what a server sends when it shuts down or reloads gracefully."),
                (.maxRequests, .medium, "Request limits end connections with NO_ERROR (nginx keepalive_requests, default 1000)."),
                (.maxAge, .medium, "Connection age limits end connections with NO_ERROR (gRPC MAX_CONNECTION_AGE, Envoy max_connection_duration)."),
                (.loadBalancer, .medium, "Load balancers rotate connections with NO_ERROR."),
                (.idleTimeout, .low, "Idle closes use NO_ERROR, but rarely hit a request in flight."),
            ]
        case .protocolError:
            return [
                (.invalidHeader, kind == .rstStream ? .high : .medium, "Forbidden header fields are the most common PROTOCOL_ERROR in practice, especially behind proxies that convert HTTP/1.1."),
                (.protocolViolation, .medium, "Some frame broke RFC 9113's rules; one side or an intermediary has a bug."),
                (.abuseProtection, .low, "Some servers use PROTOCOL_ERROR when they drop abusive clients."),
            ]
        case .internalError:
            return [
                (.internalFailure, .high, "INTERNAL_ERROR is the sender's own failure."),
                (.gracefulRestart, .low, "Some servers close with INTERNAL_ERROR when a drain deadline expires with streams open."),
            ]
        case .flowControlError:
            return [
                (.flowControl, .high, "FLOW_CONTROL_ERROR is only sent for flow-control violations."),
                (.protocolViolation, .low, "Proxies that rewrite window settings can cause it on one hop."),
            ]
        case .settingsTimeout:
            return [
                (.settingsTimeout, .high, "SETTINGS_TIMEOUT is only sent when a SETTINGS ACK did not arrive."),
                (.connectionLost, .low, "A connection that silently stopped delivering frames looks the same."),
            ]
        case .streamClosed:
            return [
                (.streamState, .high, "STREAM_CLOSED is only sent for frames on a half-closed stream."),
                (.protocolViolation, .low, "An intermediary mixing up streams produces the same error."),
            ]
        case .frameSizeError:
            return [(.frameSize, .high, "FRAME_SIZE_ERROR is only sent for frames of invalid size.")]
        case .refusedStream:
            return [
                (.streamLimit, .high, "REFUSED_STREAM is how a server declines a stream it will not process: over SETTINGS_MAX_CONCURRENT_STREAMS, overloaded, or already shutting down."),
                (.gracefulRestart, .medium, "Servers refuse new streams while they drain."),
                (.abuseProtection, .low, "Rapid-reset mitigations refuse streams from clients that reset too many."),
            ]
        case .cancel:
            return [
                (.cancelled, .high, "CANCEL normally means the request was abandoned: a deadline, a timeout, or the caller going away."),
                (.gracefulRestart, .low, "Some stacks cancel streams when the connection shuts down."),
            ]
        case .compressionError:
            return [(.compression, .high, "COMPRESSION_ERROR is only sent when HPACK decoding fails.")]
        case .connectError:
            return [(.connectFailed, .high, "CONNECT_ERROR is only used for CONNECT tunnels.")]
        case .enhanceYourCalm:
            return [
                (.tooManyPings, .medium, "gRPC servers answer keepalive PINGs that come too often with ENHANCE_YOUR_CALM and the debug data too_many_pings."),
                (.abuseProtection, .medium, "Servers also use ENHANCE_YOUR_CALM against rapid resets and frame floods."),
            ]
        case .inadequateSecurity:
            return [(.tlsRequirements, .high, "INADEQUATE_SECURITY is only sent for TLS below RFC 9113 §9.2.")]
        case .http11Required:
            return [(.http11Required, .high, "HTTP_1_1_REQUIRED is only sent when the server needs HTTP/1.1 for the request.")]
        default:
            return [
                (.unknownCode, .high, "\(code.hex) is not one of the 14 codes RFC 9113 defines."),
                (.internalFailure, .medium, "Receivers treat unknown codes as INTERNAL_ERROR (RFC 9113 §7)."),
            ]
        }
    }

    /// RFC sections to read for this code, beyond the frame's own section.
    static func sections(_ code: HTTP2ErrorCode?) -> [Explanation.RFCReference] {
        switch code {
        case .flowControlError?: [rfc9113("§5.2", "Flow Control"), rfc9113("§6.9", "WINDOW_UPDATE")]
        case .settingsTimeout?: [rfc9113("§6.5.3", "Settings Synchronization")]
        case .streamClosed?: [rfc9113("§5.1", "Stream States")]
        case .frameSizeError?: [rfc9113("§4.2", "Frame Size")]
        case .refusedStream?: [rfc9113("§8.7", "Request Reliability")]
        case .compressionError?: [rfc9113("§4.3", "Field Section Compression and Decompression")]
        case .connectError?: [rfc9113("§8.5", "The CONNECT Method")]
        case .enhanceYourCalm?: [rfc9113("§6.7", "PING"), rfc9113("§10.5", "Denial-of-Service Considerations")]
        case .inadequateSecurity?: [rfc9113("§9.2", "Use of TLS Features")]
        case .http11Required?: [rfc9113("§9.2.1", "TLS 1.2 Features")]
        case .protocolError?: [rfc9113("§8.2.2", "Connection-Specific Header Fields")]
        default: []
        }
    }

    static func rfc9113(_ section: String, _ title: String) -> Explanation.RFCReference {
        Explanation.RFCReference(document: "RFC 9113", section: section, title: title)
    }
}
