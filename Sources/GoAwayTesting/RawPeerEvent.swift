import Foundation

/// One line of a raw-frame peer's output (`scripts/peers/rawh2.py`'s emitter: the drain client,
/// the attack client): `{"t": seconds since connect, "event": ..., ...}`.
public struct RawPeerEvent: Decodable, Sendable {
    public var event: String
    public var t: Double?
    public var stream: Int?
    public var last_stream_id: Int?
    public var error_code: Int?
    public var debug: String?
    public var status: Int?
    public var how: String?

    /// Every JSON line of `text`; other lines are skipped.
    public static func parse(_ text: String) -> [RawPeerEvent] {
        text.split(separator: "\n").compactMap { try? JSONDecoder().decode(RawPeerEvent.self, from: Data($0.utf8)) }
    }
}
