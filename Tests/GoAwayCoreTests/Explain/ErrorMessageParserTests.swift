import Testing
@testable import GoAwayCore

@Suite("Explain: error message parser")
struct ErrorMessageParserTests {
    @Test("recognises every message form", arguments: messageCases)
    func recognises(_ c: MessageCase) throws {
        let o = try #require(ErrorMessageParser.parse(c.message), "not recognised: \(c.message)")
        #expect(o.stack == c.stack)
        #expect(o.kind == c.kind)
        #expect(o.code == c.code)
        #expect(o.lastStreamID == c.lastStreamID)
        #expect(o.streamID == c.streamID)
        #expect(o.debugData?.unredacted == c.debug)
        #expect(o.sender == c.sender)
    }

    @Test("rejects messages that are not HTTP/2 shutdowns", arguments: unrecognisedMessages)
    func rejects(_ message: String) {
        #expect(ErrorMessageParser.parse(message) == nil)
    }

    @Test func goNotesSayWhyGoCouldNotRetry() throws {
        let o = try #require(ErrorMessageParser.parse(messageCases.first { $0.name == "go-cannot-retry-body" }!.message))
        #expect(o.notes == [.goBodyNotReplayable])
    }

    @Test func nioCancelIsFlaggedAsPossiblyUnprocessed() throws {
        let o = try #require(ErrorMessageParser.parse(messageCases.first { $0.name == "nio-stream-closed-cancel" }!.message))
        #expect(o.notes == [.nioCancelMayMeanUnprocessed])
    }

    @Test(arguments: [
        ("NO_ERROR", HTTP2ErrorCode.noError), ("ErrorCodes.REFUSED_STREAM", .refusedStream),
        ("NGHTTP2_ENHANCE_YOUR_CALM", .enhanceYourCalm), ("HTTP2ErrorCode<0x8 Cancel>", .cancel),
        ("HTTP2ErrorCode<0xd HTTP/1.1 Required>", .http11Required), ("unknown error code 0x1f", HTTP2ErrorCode(0x1f)),
        ("11", .enhanceYourCalm), ("0xa", .connectError),
    ])
    func parsesCodeSpellings(_ text: String, _ code: HTTP2ErrorCode) {
        #expect(ErrorMessageParser.parseCode(text) == code)
    }

    @Test func unquotesGoEscapes() {
        #expect(ErrorMessageParser.unquote(#"a\"b\\c\x00"#)?.bytes == Array("a\"b\\c".utf8) + [0])
        #expect(ErrorMessageParser.unquote("") == nil)
    }

    @Test func rejectsStreamIDsAbove31Bits() {
        #expect(ErrorMessageParser.streamID("2147483647") == .max)
        #expect(ErrorMessageParser.streamID("2147483648") == nil)
    }
}
