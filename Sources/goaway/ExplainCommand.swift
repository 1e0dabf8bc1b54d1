import ArgumentParser
import GoAwayCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `goaway explain`: parse and print only; the knowledge lives in GoAwayCore/Explain.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Explain an HTTP/2 GOAWAY / RST_STREAM error message: what happened to your requests, causes, fixes.",
        discussion: """
            Give either an error message as another stack printed it, quoted as one argument:
              goaway explain 'Error [ERR_HTTP2_GOAWAY_SESSION]: New streams cannot be ...'
            or the frame's fields:
              goaway explain --code NO_ERROR --last-stream-id 1999
            Exit status: 0 explained, 1 message not recognised, 2 bad option value.
            """
    )

    @Argument(help: "The error message, quoted as one argument.")
    var message: String?

    @Option(help: "GOAWAY error code: a name (NO_ERROR) or number (0x0, 11).")
    var code: String?

    // Strings, not typed options, so a bad value gets our one-line reason and exit status 2
    // rather than the parser's usage dump (exit 64).
    @Option(name: .customLong("last-stream-id"), help: "GOAWAY Last-Stream-ID (0 to 2147483647).")
    var lastStreamID: String?

    @Option(name: .customLong("debug-data"), help: "GOAWAY debug data, as text.")
    var debugData: String?

    @Option(help: "Output format: text, json or markdown.")
    var format: String = "text"

    @Flag(name: .customLong("show-debug-data"), help: "Show debug data verbatim (it may contain sensitive details).")
    var showDebugData = false

    /// Checked in `run()`, not `validate()`: ArgumentParser runs `validate()` even for `--help`,
    /// and our one-line reason would leak into the help output.
    func checkArguments() throws {
        let usesFields = code != nil || lastStreamID != nil || debugData != nil
        if message != nil && usesFields {
            try usageError("give either a message or --code/--last-stream-id/--debug-data, not both")
        }
        if message == nil && code == nil {
            try usageError("give an error message, or --code (with optional --last-stream-id, --debug-data)")
        }
        if let code, HTTP2ErrorCode(parsing: code) == nil {
            try usageError("--code \(code): not an HTTP/2 error code name or number")
        }
        if let lastStreamID, parsedLastStreamID == nil {
            try usageError("--last-stream-id \(lastStreamID): must be a number from 0 to 2147483647")
        }
        if ExplainFormat(rawValue: format) == nil {
            try usageError("--format \(format): must be text, json or markdown")
        }
    }

    private var parsedLastStreamID: StreamID? {
        guard let lastStreamID, let value = Int32(lastStreamID), value >= 0 else { return nil }
        return StreamID(value)
    }

    private func usageError(_ reason: String) throws -> Never {
        printToStandardError("goaway explain: \(reason)")
        throw ExitCode(2)
    }

    func run() throws {
        try checkArguments()
        let observation: GoAwayObservation
        if let message {
            guard let parsed = ErrorMessageParser.parse(message) else {
                let oneLine = message.split(whereSeparator: \.isNewline).joined(separator: " ")
                printToStandardError("goaway explain: message not recognised as an HTTP/2 GOAWAY/RST_STREAM error: \(oneLine)")
                throw ExitCode(1)
            }
            observation = parsed
        } else {
            observation = Explainer.observation(
                code: HTTP2ErrorCode(parsing: code!)!,
                lastStreamID: parsedLastStreamID,
                debugData: debugData.map { GoAwayDebugData($0) }
            )
        }
        let explanation = Explainer.explain(observation, showDebugData: showDebugData)
        print(explanation.rendered(as: ExplainFormat(rawValue: format) ?? .text), terminator: "")
    }
}

/// `stderr` is a global C variable Swift 6 will not touch; file descriptor 2 is always stderr.
private func printToStandardError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { buffer in _ = write(2, buffer.baseAddress, buffer.count) }
}
