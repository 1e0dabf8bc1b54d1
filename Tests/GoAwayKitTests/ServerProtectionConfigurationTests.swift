import GoAwayCore
import NIOHTTP2
import Testing

@testable import GoAwayKit

@Suite("Server protection configuration")
struct ServerProtectionConfigurationTests {
    static let custom = ServerProtectionPolicy(
        resetFrameRateLimit: .init(maximumCount: 1, window: .seconds(2)),
        streamErrorRateLimit: .init(maximumCount: 3, window: .seconds(4)),
        maximumConnectionGlitches: 5,
        controlFrameRateLimit: .init(maximumCount: 6, window: .seconds(7)),
        maximumBufferedControlFrames: 8,
        maximumSequentialContinuationFrames: 9,
        maximumSequentialEmptyDataFrames: 10,
        maximumRecentlyResetStreams: 11,
        windowUpdateAllowance: 12,
        windowUpdatesPerDataFrame: 13,
        headerTimeout: .seconds(14),
        sendStallTimeout: .seconds(15),
        maxConnections: 16
    )

    @Test func everyFieldSurvivesInit() {
        let p = Self.custom
        #expect(p.resetFrameRateLimit == .init(maximumCount: 1, window: .seconds(2)))
        #expect(p.streamErrorRateLimit == .init(maximumCount: 3, window: .seconds(4)))
        #expect(p.maximumConnectionGlitches == 5)
        #expect(p.controlFrameRateLimit == .init(maximumCount: 6, window: .seconds(7)))
        #expect(p.maximumBufferedControlFrames == 8)
        #expect(p.maximumSequentialContinuationFrames == 9)
        #expect(p.maximumSequentialEmptyDataFrames == 10)
        #expect(p.maximumRecentlyResetStreams == 11)
        #expect(p.windowUpdateAllowance == 12)
        #expect(p.windowUpdatesPerDataFrame == 13)
        #expect(p.headerTimeout == .seconds(14))
        #expect(p.sendStallTimeout == .seconds(15))
        #expect(p.maxConnections == 16)
        #expect(HTTP2Server.Configuration(protection: p).protection == p)
    }

    /// The swift-nio-http2 limits reach NIOHTTP2Handler's configuration.
    @Test func swiftNIOHTTP2LimitsArePassedThrough() {
        let (c, s) = HTTP2Server.nioConfiguration(settings: [], protection: Self.custom)
        #expect(s.streamResetFrameRateLimit.maximumCount == 1 && s.streamResetFrameRateLimit.windowLength == .seconds(2))
        // Stream errors are ours to count (AbuseDetector.streamError): swift-nio-http2's counter is
        // one that cannot trip, so it preallocates nothing to speak of.
        #expect(s.streamErrorRateLimit.maximumCount == 2 && s.streamErrorRateLimit.windowLength == .nanoseconds(0))
        #expect(c.maximumConnectionGlitches == 5)
        #expect(c.controlFrameRateLimit.maximumCount == 6 && c.controlFrameRateLimit.windowLength == .seconds(7))
        #expect(c.maximumBufferedControlFrames == 8)
        #expect(c.maximumSequentialContinuationFrames == 9)
        #expect(c.maximumSequentialEmptyDataFrames == 10)
        #expect(c.maximumRecentlyResetStreams == 11)
    }

    /// Our defaults for swift-nio-http2's limits are its own (1.46), so behaviour is unchanged.
    @Test func defaultsMatchSwiftNIOHTTP2AndTheDocs() {
        let (c, s) = HTTP2Server.nioConfiguration(settings: [], protection: .defaults)
        let nioConnection = NIOHTTP2Handler.ConnectionConfiguration()
        let nioStream = NIOHTTP2Handler.StreamConfiguration()
        #expect(c.maximumSequentialContinuationFrames == nioConnection.maximumSequentialContinuationFrames)
        #expect(c.maximumSequentialEmptyDataFrames == nioConnection.maximumSequentialEmptyDataFrames)
        #expect(c.maximumBufferedControlFrames == nioConnection.maximumBufferedControlFrames)
        #expect(c.maximumRecentlyResetStreams == nioConnection.maximumRecentlyResetStreams)
        #expect(c.maximumConnectionGlitches == nioConnection.maximumConnectionGlitches)
        #expect(c.controlFrameRateLimit == nioConnection.controlFrameRateLimit)
        #expect(s.streamResetFrameRateLimit == nioStream.streamResetFrameRateLimit)
        let d0 = ServerProtectionPolicy.defaults.streamErrorRateLimit
        #expect(d0.maximumCount == nioStream.streamErrorRateLimit.maximumCount && d0.window == .seconds(30), "ours, with its defaults")

        let d = ServerProtectionPolicy.defaults
        #expect(d.windowUpdateAllowance == 100 && d.windowUpdatesPerDataFrame == 10)
        #expect(d.headerTimeout == .seconds(10) && d.sendStallTimeout == .seconds(30) && d.maxConnections == 10_000)
        #expect(HTTP2Server.Configuration().protection == d)
    }

    @Test(arguments: [
        "resetFrameRateLimit.maximumCount", "controlFrameRateLimit.window", "maximumSequentialContinuationFrames",
        "windowUpdateAllowance", "headerTimeout", "sendStallTimeout", "maxConnections",
    ])
    func invalidValuesAreRejectedWithTheirName(name: String) {
        var config = HTTP2Server.Configuration()
        switch name {
        case "resetFrameRateLimit.maximumCount": config.protection.resetFrameRateLimit.maximumCount = 0
        case "controlFrameRateLimit.window": config.protection.controlFrameRateLimit.window = .zero
        case "maximumSequentialContinuationFrames": config.protection.maximumSequentialContinuationFrames = -1
        case "windowUpdateAllowance": config.protection.windowUpdateAllowance = -1
        case "headerTimeout": config.protection.headerTimeout = .zero
        case "sendStallTimeout": config.protection.sendStallTimeout = .seconds(-1)
        default: config.protection.maxConnections = 0
        }
        #expect {
            try config.validate()
        } throws: { error in
            guard let e = error as? HTTP2ServerError else { return false }
            return e.code == .invalidConfiguration && e.message.contains("protection." + name)
        }
    }
}
