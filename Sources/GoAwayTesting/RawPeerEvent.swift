import Foundation

/// One line of a raw-frame peer's output (`scripts/peers/rawh2.py`'s emitter: the drain client,
/// the attack client): `{"t": seconds since connect, "event": ..., ...}`.
public struct RawPeerEvent: Decodable, Sendable {
    /// What happened: `goaway`, `rst_stream`, `response`, `closed`, …
    public var event: String
    /// Seconds since the connection opened.
    public var t: Double?
    /// The stream id, for stream events.
    public var stream: Int?
    /// GOAWAY's last-stream-id.
    public var last_stream_id: Int?
    /// The GOAWAY or RST_STREAM error code.
    public var error_code: Int?
    /// GOAWAY debug data, as text.
    public var debug: String?
    /// A response's `:status`.
    public var status: Int?
    /// How the connection ended (`eof`, `reset`, or the error's type).
    public var how: String?

    /// Every JSON line of `text`; other lines are skipped.
    public static func parse(_ text: String) -> [RawPeerEvent] {
        text.split(separator: "\n").compactMap { try? JSONDecoder().decode(RawPeerEvent.self, from: Data($0.utf8)) }
    }
}
