extension Explanation {
    /// The documented, stable JSON form (schema in `Explanation`'s doc comment and
    /// docs/explain-schema.json). Every key is always present, in a fixed order.
    public func renderJSON() -> String { jsonValue.rendered() + "\n" }

    var jsonValue: JSONValue {
        .object([
            ("schemaVersion", .int(Int64(Self.schemaVersion))),
            ("id", .string(id)),
            ("title", .string(title)),
            ("source", .object([
                ("stack", .string(source.stack.rawValue)),
                ("stackName", .string(source.stack.displayName)),
                ("kind", .string(source.kind.rawValue)),
                ("sender", .string(source.sender.rawValue)),
            ])),
            ("frame", frameJSON),
            ("meaning", .array(meaning.map(JSONValue.string))),
            ("requestFate", .object([
                ("summary", .string(requestFate.summary)),
                ("groups", .array(requestFate.groups.map { group in
                    .object([
                        ("requests", .string(group.requests)),
                        ("processed", .string(group.processed.rawValue)),
                        ("resend", .string(group.resend.rawValue)),
                        ("reason", .string(group.reason)),
                    ])
                })),
            ])),
            ("causes", .array(causes.map { cause in
                .object([
                    ("id", .string(cause.id)),
                    ("title", .string(cause.title)),
                    ("likelihood", .string(cause.likelihood.rawValue)),
                    ("reason", .string(cause.reason)),
                ])
            })),
            ("fixes", .array(fixes.map { fix in
                .object([("stack", .string(fix.stack)), ("cause", .optional(fix.cause)), ("text", .string(fix.text))])
            })),
            ("deadEnds", .array(deadEnds.map { .object([("attempt", .string($0.attempt)), ("reason", .string($0.reason))]) })),
            ("notes", .array(notes.map(JSONValue.string))),
            ("rfc", .array(rfc.map { ref in
                .object([
                    ("document", .string(ref.document)), ("section", .string(ref.section)),
                    ("title", .string(ref.title)), ("url", .string(ref.url)),
                ])
            })),
        ])
    }

    private var frameJSON: JSONValue {
        let code: JSONValue = frame.code.map { code in
            .object([
                ("value", .int(Int64(code.rawValue))),
                ("hex", .string(code.hex)),
                ("name", .optional(code.name)),
                ("defined", .bool(code.isDefined)),
                ("treatedAs", .string(frame.codeForDecisions?.name ?? "INTERNAL_ERROR")),
            ])
        } ?? .null
        let debug: JSONValue = frame.debugData.map { data in
            .object([("text", .string(data.text)), ("length", .int(Int64(data.length))), ("redacted", .bool(data.redacted))])
        } ?? .null
        return .object([
            ("type", .optional(frame.type)),
            ("code", code),
            ("lastStreamID", frame.lastStreamID.map { .int(Int64($0.rawValue)) } ?? .null),
            ("streamID", frame.streamID.map { .int(Int64($0.rawValue)) } ?? .null),
            ("debugData", debug),
        ])
    }
}
