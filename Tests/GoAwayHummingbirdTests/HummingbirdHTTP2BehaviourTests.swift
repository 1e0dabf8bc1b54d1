import HummingbirdHTTP2
import Testing

/// Facts about HummingbirdHTTP2 that docs/hummingbird.md states; when Hummingbird changes them,
/// this fails and the page must be corrected.
@Suite struct HummingbirdHTTP2BehaviourTests {
    @Test func initDropsMaxAgeTimeout() {
        let configuration = HTTP2ChannelConfiguration(idleTimeout: .seconds(30), gracefulCloseTimeout: .seconds(5), maxAgeTimeout: .seconds(600))
        #expect(configuration.idleTimeout == .seconds(30))
        #expect(configuration.gracefulCloseTimeout == .seconds(5))
        #expect(configuration.maxAgeTimeout == nil)   // dropped by init (2.28.1)
        var set = HTTP2ChannelConfiguration()
        set.maxAgeTimeout = .seconds(600)
        #expect(set.maxAgeTimeout == .seconds(600))   // only assigning the property works
        #expect(HTTP2ChannelConfiguration().gracefulCloseTimeout == nil)   // no grace bound by default
    }
}
