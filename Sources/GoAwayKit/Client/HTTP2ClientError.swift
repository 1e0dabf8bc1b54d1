import GoAwayCore

/// An error from `HTTP2Client`. Switch on `code`; codes may be added, so keep a `default`.
///
/// The two codes that matter after a GOAWAY:
/// - `notProcessed`: the server provably did not act on the request (stream above the GOAWAY's
///   last-stream-id, REFUSED_STREAM, or never sent) but the client could not re-send it (body not
///   replayable, re-sending off, budget spent). Sending it again is safe.
/// - `possiblyProcessed`: the connection broke while the request was in the server's hands and the
///   method is not idempotent (or its one re-send failed too). Only the application can decide.
public struct HTTP2ClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. Compare with the static members (`.notProcessed`, …); codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Base: String, Hashable, Sendable, CaseIterable {
            case notProcessed, possiblyProcessed, connectTimeout, requestTimeout, connectionFailed
            case protocolError, cancelled, streamReset, responseIncomplete, shutdown, invalidRequest, responseTooLarge
        }
        let base: Base
        /// The server provably did not act on the request; it was not re-sent (see `notProcessedReason`).
        /// Sending it again is safe.
        public static let notProcessed = Code(base: .notProcessed)
        /// The connection broke while the server may have been acting on the request, and the client
        /// could not prove it safe to re-send. Only the application can decide.
        public static let possiblyProcessed = Code(base: .possiblyProcessed)
        /// No connection could be established within `connectTimeout`.
        public static let connectTimeout = Code(base: .connectTimeout)
        /// The request's deadline (`requestTimeout`) passed before its response ended.
        public static let requestTimeout = Code(base: .requestTimeout)
        /// No connection could be established; `connectFailure` names the cause when known.
        public static let connectionFailed = Code(base: .connectionFailed)
        /// The server broke HTTP/2 (a malformed response, a frame on the wrong stream): the stream or
        /// the connection was reset with PROTOCOL_ERROR.
        public static let protocolError = Code(base: .protocolError)
        /// The calling task was cancelled; the stream was reset with CANCEL.
        public static let cancelled = Code(base: .cancelled)
        /// The peer reset the stream after the response started (`resetCode` says how).
        public static let streamReset = Code(base: .streamReset)
        /// The connection closed after the response head, before its end.
        public static let responseIncomplete = Code(base: .responseIncomplete)
        /// The client was shut down before the request ended.
        public static let shutdown = Code(base: .shutdown)
        /// The request or the client's configuration cannot be used (a connection-specific header
        /// field, a missing `:path`, an unreadable trust root file): nothing was sent.
        public static let invalidRequest = Code(base: .invalidRequest)
        /// The response body passed `maxResponseBodySize`; the stream was reset with CANCEL.
        public static let responseTooLarge = Code(base: .responseTooLarge)
        static var all: [Code] { Base.allCases.map { Code(base: $0) } }
        /// `not_processed`-style name, for reports (`goaway load` errors).
        public var description: String {
            base.rawValue.reduce(into: "") { s, ch in
                if ch.isUppercase { s += "_" + ch.lowercased() } else { s.append(ch) }
            }
        }
    }

    /// What went wrong; switch on it.
    public var code: Code
    /// Why a `notProcessed` request was not re-sent automatically was possible at all.
    public var notProcessedReason: ResendReason?
    /// The RST_STREAM or GOAWAY code, when one caused the error.
    public var resetCode: HTTP2ErrorCode?
    /// A human-readable detail; not for matching.
    public var detail: String
    /// For `connectionFailed`: why the latest connection attempt failed (refused, DNS, TLS, not
    /// HTTP/2, ALPN, timeout), when known.
    public var connectFailure: ConnectFailure?

    /// An error with `code` and optional detail; the library makes these, tests and transports may too.
    public init(_ code: Code, detail: String = "", notProcessedReason: ResendReason? = nil, resetCode: HTTP2ErrorCode? = nil,
                connectFailure: ConnectFailure? = nil) {
        self.code = code
        self.detail = detail
        self.notProcessedReason = notProcessedReason
        self.resetCode = resetCode
        self.connectFailure = connectFailure
    }

    /// One line for people: the cause in its own words (`connection refused (127.0.0.1:1)`), no
    /// type names. What `goaway get`/`load` print.
    public var message: String {
        if let connectFailure { return connectFailure.message }
        var s = code.description.replacingOccurrences(of: "_", with: " ")
        if let notProcessedReason { s += " (\(notProcessedReason.rawValue))" }
        if let resetCode { s += " [\(resetCode)]" }
        if !detail.isEmpty { s += ": " + detail }
        return s
    }

    /// `HTTP2ClientError.code (reason) [reset code]: detail`, for logs.
    public var description: String {
        var s = "HTTP2ClientError.\(code)"
        if let notProcessedReason { s += " (\(notProcessedReason.rawValue))" }
        if let resetCode { s += " [\(resetCode)]" }
        if !detail.isEmpty { s += ": " + detail }
        return s
    }

    init(_ failure: RequestFailure) {
        switch failure {
        case .notProcessed(let reason):
            self.init(.notProcessed, detail: "the server did not process the request; it can be sent again", notProcessedReason: reason)
        case .possiblyProcessed:
            self.init(.possiblyProcessed, detail: "the connection was lost while the server may have been processing the request")
        case .connectionFailed:
            self.init(.connectionFailed, detail: "no connection could be established")
        case .shutdown:
            self.init(.shutdown, detail: "the client is shutting down")
        case .requestTimeout:
            self.init(.requestTimeout, detail: "no response in time")
        }
    }
}
