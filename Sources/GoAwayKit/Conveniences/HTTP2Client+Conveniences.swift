import HTTPTypes
import NIOCore

extension HTTP2Client {
    /// The response body limit of the buffered conveniences (`get`, `post`, …): 4 MiB.
    public static let defaultMaxResponseBytes = 4 << 20

    /// GETs `path` and collects the whole response body (at most `maxResponseBytes`, else
    /// `responseTooLarge`). A non-2xx status is a response, not an error: check `response.status`.
    ///
    /// ```swift
    /// let response = try await client.get("/health")
    /// print(response.status, response.text)
    /// ```
    nonisolated(nonsending) public func get(
        _ path: String, headerFields: HTTPFields = [:], maxResponseBytes: Int = HTTP2Client.defaultMaxResponseBytes
    ) async throws -> HTTP2BufferedResponse {
        try await execute(.get(path, headerFields: headerFields), maxResponseBytes: maxResponseBytes)
    }

    /// POSTs `body` to `path` and collects the whole response body. The body is replayable when it
    /// is bytes, a string or a factory, so a GOAWAY never costs it; when the connection breaks after
    /// the server may have processed it, this throws `HTTP2ClientError` with code `possiblyProcessed`.
    nonisolated(nonsending) public func post(
        _ path: String, body: HTTP2RequestBody, headerFields: HTTPFields = [:],
        maxResponseBytes: Int = HTTP2Client.defaultMaxResponseBytes
    ) async throws -> HTTP2BufferedResponse {
        try await execute(.post(path, headerFields: headerFields), body: body, maxResponseBytes: maxResponseBytes)
    }

    /// PUTs `body` to `path` and collects the whole response body (idempotent: re-sent once if the
    /// connection breaks before the response).
    nonisolated(nonsending) public func put(
        _ path: String, body: HTTP2RequestBody, headerFields: HTTPFields = [:],
        maxResponseBytes: Int = HTTP2Client.defaultMaxResponseBytes
    ) async throws -> HTTP2BufferedResponse {
        try await execute(.put(path, headerFields: headerFields), body: body, maxResponseBytes: maxResponseBytes)
    }

    /// DELETEs `path` and collects the whole response body.
    nonisolated(nonsending) public func delete(
        _ path: String, headerFields: HTTPFields = [:], maxResponseBytes: Int = HTTP2Client.defaultMaxResponseBytes
    ) async throws -> HTTP2BufferedResponse {
        try await execute(.delete(path, headerFields: headerFields), maxResponseBytes: maxResponseBytes)
    }
}

extension HTTP2BufferedResponse {
    /// The body decoded as UTF-8 (invalid bytes become U+FFFD).
    public var text: String { String(buffer: body) }
}
