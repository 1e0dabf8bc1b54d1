import Testing

@testable import GoAwayCore

struct InboundWindowTests {
    /// One DATA frame's flow-controlled length (RFC 9113 §6.1: padding and its length octet count).
    struct LengthRow: Sendable, CustomTestStringConvertible {
        var data: Int
        var padding: Int?
        var expected: Int
        var testDescription: String { "data \(data) padding \(padding.map(String.init) ?? "none")" }
    }

    @Test(arguments: [
        LengthRow(data: 0, padding: nil, expected: 0),
        LengthRow(data: 100, padding: nil, expected: 100),
        // PADDED with pad length 0: the octet alone.
        LengthRow(data: 100, padding: 0, expected: 101),
        LengthRow(data: 100, padding: 10, expected: 111),
        LengthRow(data: 0, padding: 255, expected: 256),
        LengthRow(data: 16_384, padding: 255, expected: 16_640),
    ])
    func flowControlledLength(_ row: LengthRow) {
        #expect(InboundWindow.flowControlledLength(dataBytes: row.data, paddingBytes: row.padding) == row.expected)
    }

    /// A sequence of events on one window and the increment each must return.
    enum Step: Sendable {
        case received(data: Int, padding: Int?, delivered: Bool, expect: Int?)
        case consumed(Int, expect: Int?)
        case readerGone(expect: Int?)
        case close
    }

    struct Script: Sendable, CustomTestStringConvertible {
        var name: String
        var target: Int
        var threshold: Int?
        var steps: [Step]
        /// After the steps: (outstanding, held).
        var end: (outstanding: Int, held: Int)
        var testDescription: String { name }
    }

    static let scripts: [Script] = [
        Script(name: "undelivered bytes are credit at once, update at half the window", target: 1000, steps: [
            .received(data: 400, padding: nil, delivered: false, expect: nil),
            .received(data: 99, padding: nil, delivered: false, expect: nil),
            .received(data: 1, padding: nil, delivered: false, expect: 500),
            .received(data: 10, padding: nil, delivered: false, expect: nil),
        ], end: (10, 0)),
        Script(name: "padding counted once: data + pad + length octet", target: 1000, steps: [
            .received(data: 389, padding: 109, delivered: false, expect: nil),  // 499
            .received(data: 0, padding: 0, delivered: false, expect: 500),  // the octet makes 500
        ], end: (0, 0)),
        Script(name: "delivered bytes wait for the reader; padding does not", target: 1000, steps: [
            .received(data: 600, padding: 9, delivered: true, expect: nil),  // credit 10
            .consumed(300, expect: nil),  // credit 310
            .consumed(190, expect: 500),  // credit 500
            .received(data: 400, padding: nil, delivered: true, expect: nil),
        ], end: (510, 510)),
        Script(name: "a stalled reader holds at most the window: nothing goes back", target: 1000, steps: [
            .received(data: 500, padding: nil, delivered: true, expect: nil),
            .received(data: 500, padding: nil, delivered: true, expect: nil),
        ], end: (1000, 1000)),
        Script(name: "reader gone: what it held is credit", target: 1000, steps: [
            .received(data: 800, padding: nil, delivered: true, expect: nil),
            .readerGone(expect: 800),
        ], end: (0, 0)),
        Script(name: "closed: no more updates", target: 1000, steps: [
            .received(data: 400, padding: nil, delivered: true, expect: nil),
            .close,
            .consumed(400, expect: nil),
        ], end: (400, 0)),
        Script(name: "threshold 1: every byte back at once (the probe)", target: 65_535, threshold: 1, steps: [
            .received(data: 1, padding: nil, delivered: false, expect: 1),
            .received(data: 0, padding: 3, delivered: false, expect: 4),
            .received(data: 0, padding: nil, delivered: false, expect: nil),
        ], end: (0, 0)),
        Script(name: "consuming more than held is clamped", target: 1000, steps: [
            .received(data: 100, padding: nil, delivered: true, expect: nil),
            .consumed(700, expect: nil),
        ], end: (100, 0)),
    ]

    @Test(arguments: scripts)
    func script(_ script: Script) {
        var w = InboundWindow(target: script.target, threshold: script.threshold)
        for (i, step) in script.steps.enumerated() {
            switch step {
            case .received(let data, let padding, let delivered, let expect):
                #expect(w.received(dataBytes: data, paddingBytes: padding, delivered: delivered) == expect, "step \(i)")
            case .consumed(let n, let expect):
                #expect(w.consumed(n) == expect, "step \(i)")
            case .readerGone(let expect):
                #expect(w.readerGone() == expect, "step \(i)")
            case .close:
                w.close()
            }
            #expect(w.held <= w.outstanding && w.outstanding <= w.target, "step \(i): held \(w.held) outstanding \(w.outstanding)")
        }
        #expect(w.outstanding == script.end.outstanding)
        #expect(w.held == script.end.held)
        #expect(w.peerWindow == script.target - script.end.outstanding)
    }

    @Test func connectionOpensFromTheProtocolDefault() {
        var w = InboundWindow(target: 1 << 20, advertised: InboundWindow.protocolDefault)
        #expect(w.peerWindow == 65_535)
        #expect(w.openingIncrement() == (1 << 20) - 65_535)
        #expect(w.peerWindow == 1 << 20)
        #expect(w.openingIncrement() == nil)
        // A window below the default: the peer already has more, nothing to raise.
        var small = InboundWindow(target: 16_384, advertised: InboundWindow.protocolDefault)
        #expect(small.openingIncrement() == nil)
    }

    @Test func thresholdDefaultsToHalfAndStaysInRange() {
        #expect(InboundWindow(target: 1000).threshold == 500)
        #expect(InboundWindow(target: 1).threshold == 1)
        #expect(InboundWindow(target: 1000, threshold: 5000).threshold == 1000)
        #expect(InboundWindow(target: InboundWindow.maximum).threshold == InboundWindow.maximum / 2)
    }

    /// Any interleaving: the increments granted plus what is outstanding equal what was received,
    /// and held bytes never go back.
    @Test func randomInterleavingsConserveBytes() {
        var seed: UInt64 = 0x1234_5678
        func next(_ n: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(n))
        }
        for _ in 0..<200 {
            var w = InboundWindow(target: 65_535)
            var received = 0
            var granted = 0
            var delivered = 0
            var consumed = 0
            for _ in 0..<100 {
                if next(2) == 0, w.peerWindow > 0 {
                    let data = next(min(w.peerWindow, 16_384) + 1)
                    let padding: Int? = next(3) == 0 && w.peerWindow - data > 0 ? next(min(w.peerWindow - data, 256)) : nil
                    let length = InboundWindow.flowControlledLength(dataBytes: data, paddingBytes: padding)
                    guard length <= w.peerWindow else { continue }
                    received += length
                    delivered += data
                    granted += w.received(dataBytes: data, paddingBytes: padding, delivered: true) ?? 0
                } else {
                    let n = next(delivered - consumed + 1)
                    consumed += n
                    granted += w.consumed(n) ?? 0
                }
                #expect(received == granted + w.outstanding)
                #expect(w.held == delivered - consumed)
            }
        }
    }
}
