@_exported import GoAwayCore
// The vocabulary of the public API, so `import GoAwayKit` alone is enough to write a handler or a
// request: swift-http-types' request, response and fields, and NIO's `ByteBuffer` and
// `SocketAddress`. Scoped, not whole modules: HTTPTypes 1.7 has its own `HTTP2ErrorCode`, which
// would make GoAwayCore's ambiguous, and most of NIOCore is not ours to put in scope. Import
// HTTPTypes or NIOCore yourself for the rest (then write `GoAwayCore.HTTP2ErrorCode`).
@_exported import struct HTTPTypes.HTTPRequest
@_exported import struct HTTPTypes.HTTPResponse
@_exported import struct HTTPTypes.HTTPFields
@_exported import struct HTTPTypes.HTTPField
@_exported import struct NIOCore.ByteBuffer
@_exported import enum NIOCore.SocketAddress
