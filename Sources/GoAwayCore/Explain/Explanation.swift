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
    public static let schemaVersion = 1

    public var id: String
    public var title: String
    public var source: Source
    public var frame: Frame
    public var meaning: [String]
    public var requestFate: RequestFate
    public var causes: [Cause]
    public var fixes: [Fix]
    public var deadEnds: [DeadEnd]
    /// Facts about the stack that printed the message (its retry behaviour, its quirks).
    public var notes: [String]
    public var rfc: [RFCReference]

    public struct Source: Hashable, Sendable {
        public var stack: GoAwayObservation.Stack
        public var kind: GoAwayObservation.Kind
        public var sender: GoAwayObservation.Sender
    }

    public struct Frame: Hashable, Sendable {
        /// `GOAWAY`, `RST_STREAM`, or `nil` when the message shows no frame (a bare close).
        public var type: String?
        public var code: HTTP2ErrorCode?
        public var lastStreamID: StreamID?
        public var streamID: StreamID?
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
        public var text: String
        public var length: Int
        public var redacted: Bool
    }

    public struct RequestFate: Hashable, Sendable {
        public var summary: String
        public var groups: [Group]

        public struct Group: Hashable, Sendable {
            public var requests: String
            public var processed: Processed
            public var resend: Resend
            public var reason: String
        }

        public enum Processed: String, Hashable, Sendable {
            case no, maybe, yes
            case inProgress = "in-progress"
        }

        public enum Resend: String, Hashable, Sendable {
            /// Any method, even POST: the server guarantees it did not act on it.
            case safe
            /// Only requests that are idempotent (RFC 9110 §9.2.2) or otherwise safe to repeat.
            case idempotentOnly = "idempotent-only"
            case notNeeded = "not-needed"
        }
    }

    public struct Cause: Hashable, Sendable {
        public var id: String
        public var title: String
        public var likelihood: Likelihood
        /// Why this rank, from the observation (code, Last-Stream-ID, debug data, stack).
        public var reason: String

        public enum Likelihood: String, Hashable, Sendable, Comparable {
            case high, medium, low
            var rank: Int {
                switch self {
                case .high: 0
                case .medium: 1
                case .low: 2
                }
            }
            public static func < (a: Likelihood, b: Likelihood) -> Bool { a.rank > b.rank }
        }
    }

    public struct Fix: Hashable, Sendable {
        public var stack: String
        /// The cause id this fix addresses, or `nil` for a client-side fix that applies to all.
        public var cause: String?
        public var text: String
    }

    public struct DeadEnd: Hashable, Sendable {
        public var attempt: String
        public var reason: String
    }

    public struct RFCReference: Hashable, Sendable {
        public var document: String
        public var section: String
        public var title: String

        public var url: String {
            let number = document.split(separator: " ").last.map(String.init) ?? ""
            let anchor = section.hasPrefix("§") ? String(section.dropFirst()) : section
            return "https://www.rfc-editor.org/rfc/rfc\(number)#section-\(anchor)"
        }
    }
}
