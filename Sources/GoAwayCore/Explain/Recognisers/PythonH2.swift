extension ErrorMessageParser {
    /// Python h2 events, as httpx/httpcore surface them in `RemoteProtocolError`:
    /// `<ConnectionTerminated error_code:ErrorCodes.NO_ERROR, last_stream_id:1, additional_data:None>`
    /// (newer Pythons print the code as a number; `additional_data` is hex), and the
    /// `ConnectionTerminated(error_code=…, last_stream_id=…)` spelling some wrappers use.
    @Sendable static func recognisePythonH2(_ text: String) -> GoAwayObservation? {
        if let m = text.firstMatch(
            of: /ConnectionTerminated[ (]error_code[:=]\s*([\w.]+),\s*last_stream_id[:=]\s*(\d+)(?:,\s*additional_data[:=]\s*(None|b'(?:[^'\\]|\\.)*'|b"(?:[^"\\]|\\.)*"|[0-9a-fA-F]+))?/
        ) {
            return GoAwayObservation(
                stack: .pythonH2, kind: .goaway, code: parseCode(m.1), lastStreamID: streamID(m.2),
                debugData: m.3.flatMap(pythonBytes)
            )
        }
        if let m = text.firstMatch(of: /StreamReset[ (]stream_id[:=]\s*(\d+),\s*error_code[:=]\s*([\w.]+)/) {
            return GoAwayObservation(stack: .pythonH2, kind: .rstStream, code: parseCode(m.2), streamID: streamID(m.1))
        }
        return nil
    }

    /// `None`, `b'...'` or hex, as h2 prints `additional_data`.
    static func pythonBytes(_ raw: Substring) -> GoAwayDebugData? {
        if raw == "None" { return nil }
        if raw.hasPrefix("b'") || raw.hasPrefix("b\"") {
            return unquote(raw.dropFirst(2).dropLast())
        }
        return hexBytes(raw).map { GoAwayDebugData($0) }
    }
}
