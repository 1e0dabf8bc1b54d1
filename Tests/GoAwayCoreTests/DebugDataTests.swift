import GoAwayCore
import Testing

@Suite("GOAWAY debug data redaction")
struct DebugDataTests {
    @Test(arguments: ShutdownReason.allCases)
    func everyTokenOurServerSendsIsShown(reason: ShutdownReason) {
        #expect(GoAwayDebugData(reason.rawValue).redacted == reason.rawValue)
    }

    @Test func anythingElseIsRedactedToItsLength() {
        #expect(GoAwayDebugData("internal-host-42.corp").redacted == "<redacted 21 bytes>")
        #expect(GoAwayDebugData("max_age ").redacted == "<redacted 8 bytes>")
        #expect(GoAwayDebugData([0x00, 0x41]).unredacted == "\\x00A")
        #expect(GoAwayDebugData([]).redacted == "")
    }
}
