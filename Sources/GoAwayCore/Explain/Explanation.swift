/// Everything `goaway explain` says about one observation, as plain values so the three
/// renderers (text, Markdown, JSON) cannot disagree about the content.
///
/// JSON schema (version 1; `docs/explain-schema.json` is the normative copy, and
/// `ExplainJSONSchemaTests` checks the output against it). Keys always appear, in this order;
/// absent values are `null`, never omitted:
/// ```
/// { "schemaVersion": 1,
///   "id": "http2/goaway/no-error", "title": String,
///   "source": { "stack": String, "stackName": String, "kind": "goaway"|"rst-stream"|
///               "unprocessed-after-goaway"|"connection-closed", "sender": "server"|"client"|"unknown" },
///   "frame": { "type": "GOAWAY"|"RST_STREAM"|null,
///              "code": { "value": Int, "hex": String, "name": String|null, "defined": Bool,
///                        "treatedAs": String } | null,
///              "lastStreamID": Int|null, "streamID": Int|null,
///              "debugData": { "text": String, "length": Int, "redacted": Bool } | null },
///   "meaning": [String],
///   "requestFate": { "summary": String,
///                    "groups": [{ "requests": String, "processed": "no"|"maybe"|"yes"|"in-progress",
///                                 "resend": "safe"|"idempotent-only"|"not-needed", "reason": String }] },
///   "causes": [{ "id": String, "title": String, "likelihood": "high"|"medium"|"low", "reason": String }],
///   "fixes": [{ "stack": String, "cause": String|null, "text": String }],
///   "deadEnds": [{ "attempt": String, "reason": String }],
///   "notes": [String],
///   "rfc": [{ "document": String, "section": String, "title": String, "url": String }] }
/// ```
/// Additive changes keep `schemaVersion` 1; removing or retyping a key bumps it.
public struct Explanation: Hashable, Sendable {
    /// The JSON schema version this value renders as.
    public static let schemaVersion = 1

    /// A stable id such as `http2/goaway/no-error`, for links and searches.
    public var id: String
    /// One line: what was observed.
    public var title: String
    /// Which stack reported it, what kind of event, and who sent the frame.
    public var source: Source
    /// The frame itself, as far as the message shows it.
    public var frame: Frame
    /// What the frame means, sentence by sentence.
    public var meaning: [String]
    /// What happened to the requests: processed or not, and whether re-sending is safe.
    public var requestFate: RequestFate
    /// Likely causes, most likely first.
    public var causes: [Cause]
    /// Fixes per stack.
    public var fixes: [Fix]
    /// Things people try that do not help, and why.
    public var deadEnds: [DeadEnd]
    /// Facts about the stack that printed the message (its retry behaviour, its quirks).
    public var notes: [String]
    /// The RFC sections that decide the case.
    public var rfc: [RFCReference]

    /// Where the observation came from.
    public struct Source: Hashable, Sendable {
        /// The stack whose message it was.
        public var stack: GoAwayObservation.Stack
        /// GOAWAY, RST_STREAM, a request left unprocessed after a GOAWAY, or a bare close.
        public var kind: GoAwayObservation.Kind
        /// Who sent the frame.
        public var sender: GoAwayObservation.Sender
    }

    /// The frame, as far as the message shows it.
    public struct Frame: Hashable, Sendable {
        /// `GOAWAY`, `RST_STREAM`, or `nil` when the message shows no frame (a bare close).
        public var type: String?
        /// The error code, when shown.
        public var code: HTTP2ErrorCode?
        /// A GOAWAY's last-stream-id, when shown.
        public var lastStreamID: StreamID?
        /// A RST_STREAM's stream, when shown.
        public var streamID: StreamID?
        /// A GOAWAY's debug data, when there is some.
        public var debugData: DebugDataView?

        /// Unknown codes are reported raw but decided on as INTERNAL_ERROR (RFC 9113 §7).
        public var codeForDecisions: HTTP2ErrorCode? {
            guard let code else { return nil }
            return code.isDefined ? code : .internalError
        }
    }

    /// Debug data as it may be shown: redacted unless the user opted in (RFC 9113 §6.8 warns it
    /// can carry sensitive data).
    public struct DebugDataView: Hashable, Sendable {
        /// The text (or `<redacted N bytes>`).
        public var text: String
        /// Its length in bytes.
        public var length: Int
        /// Whether `text` is redacted.
        public var redacted: Bool
    }

    /// What happened to the requests on the connection or stream.
    public struct RequestFate: Hashable, Sendable {
        /// One sentence.
        public var summary: String
        /// The requests by fate (for example: stream ids above the last-stream-id, and the rest).
        public var groups: [Group]

        /// Requests that share a fate.
        public struct Group: Hashable, Sendable {
            /// Which requests, in words (`streams > 1999`).
            public var requests: String
            /// Whether the server processed them.
            public var processed: Processed
            /// Whether re-sending them is safe.
            public var resend: Resend
            /// Why, from the RFC.
            public var reason: String
        }

        /// Whether the server processed a request.
        public enum Processed: String, Hashable, Sendable {
            /// It did not: RFC 9113 guarantees it.
            case no
            /// It may have.
            case maybe
            /// It did (a response was received).
            case yes
            /// It still is: the stream runs to its end.
            case inProgress = "in-progress"
        }

        /// Whether a request may be sent again.
        public enum Resend: String, Hashable, Sendable {
            /// Any method, even POST: the server guarantees it did not act on it.
            case safe
            /// Only requests that are idempotent (RFC 9110 §9.2.2) or otherwise safe to repeat.
            case idempotentOnly = "idempotent-only"
            /// It completed, or will.
            case notNeeded = "not-needed"
        }
    }

    /// A likely cause of the frame.
    public struct Cause: Hashable, Sendable {
        /// A stable id (`max-requests`, `rolling-deploy`...).
        public var id: String
        /// The cause in a line.
        public var title: String
        /// How likely, given the observation.
        public var likelihood: Likelihood
        /// Why this rank, from the observation (code, Last-Stream-ID, debug data, stack).
        public var reason: String

        /// How likely a cause is.
        public enum Likelihood: String, Hashable, Sendable, Comparable {
            /// The observation points at it.
            case high
            /// It fits.
            case medium
            /// Possible.
            case low
            var rank: Int {
                switch self {
                case .high: 0
                case .medium: 1
                case .low: 2
                }
            }
            /// Less likely first.
            public static func < (a: Likelihood, b: Likelihood) -> Bool { a.rank > b.rank }
        }
    }

    /// A fix, for one stack.
    public struct Fix: Hashable, Sendable {
        /// The stack it applies to (`go`, `nginx`, `any client`...).
        public var stack: String
        /// The cause id this fix addresses, or `nil` for a client-side fix that applies to all.
        public var cause: String?
        /// What to do.
        public var text: String
    }

    /// Something people try that does not help.
    public struct DeadEnd: Hashable, Sendable {
        /// What is tried.
        public var attempt: String
        /// Why it does not help.
        public var reason: String
    }

    /// A section of an RFC.
    public struct RFCReference: Hashable, Sendable {
        /// `RFC 9113`.
        public var document: String
        /// `§6.8`.
        public var section: String
        /// The section's title.
        public var title: String

        /// The section on rfc-editor.org.
        public var url: String {
            let number = document.split(separator: " ").last.map(String.init) ?? ""
            let anchor = section.hasPrefix("§") ? String(section.dropFirst()) : section
            return "https://www.rfc-editor.org/rfc/rfc\(number)#section-\(anchor)"
        }
    }
}
