import NIOCore
import NIOPosix
import Testing

@testable import GoAwayKit

/// The words a failed connect gets, in memory (the CLI tests see them end to end).
struct ConnectFailureTests {
    func judge(_ bytes: [UInt8]) -> ConnectFailure? {
        ConnectSniffer.judgeFirstBytes(ByteBuffer(bytes: bytes), target: "h:1")
    }

    @Test func firstBytesFromTheServer() {
        #expect(judge(Array("HTTP/1.1 400 Bad Request\r\n".utf8))?.message == "the server does not speak HTTP/2 (it answered HTTP/1.1)")
        #expect(judge(Array("<!DOCTYPE HTML>\n<html>".utf8))?.message == "the server does not speak HTTP/2 (it answered in HTTP/1: \"<!DOCTYPE HTML>\")")
        #expect(judge([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46])?.kind == .notHTTP2)
        // SETTINGS, and any other frame type, are left to swift-nio-http2.
        #expect(judge([0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]) == nil)
        #expect(judge([0, 0, 8, 0x7, 0, 0, 0, 0, 0]) == nil)
        #expect(judge([0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44]) == nil, "binary garbage: nio's connection error")
    }

    @Test func errorsAreNamed() {
        let refused = IOError(errnoCode: ECONNREFUSED, reason: "connect")
        #expect(ConnectFailure.classify(refused, target: "127.0.0.1:1", host: "127.0.0.1").message == "connection refused (127.0.0.1:1)")
        #expect(ConnectFailure.classify(ChannelError.connectTimeout(.seconds(2)), target: "h:1", host: "h").kind == .timeout)
        #expect(ConnectFailure.tlsReasons("Error: 1 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at /x/y.cc:1")
            == ["CERTIFICATE_VERIFY_FAILED"])
        #expect(ConnectFailure.sanitize(#"connection error: UnableToParseFrame(file: "NIOHTTP2/HTTP2ChannelHandler.swift", line: 662)"#)
            == "connection error: UnableToParseFrame")
    }
}
