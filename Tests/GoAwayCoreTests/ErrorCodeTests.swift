import Testing
@testable import GoAwayCore
@Test func errorCodeNames() { #expect(HTTP2ErrorCode.enhanceYourCalm.description == "ENHANCE_YOUR_CALM (0xb)") }
