import HTTPTypes

extension HTTPRequest {
    /// A request with only a method and a path; `scheme` and `authority` are left `nil`, which
    /// `HTTP2Client` fills in from the endpoint it sends to.
    ///
    /// ```swift
    /// let response = try await client.execute(.get("/health"), maxResponseBytes: 1 << 16)
    /// ```
    public static func get(_ path: String, headerFields: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: .get, scheme: nil, authority: nil, path: path, headerFields: headerFields)
    }

    /// A HEAD request for `path` (see ``get(_:headerFields:)``).
    public static func head(_ path: String, headerFields: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: .head, scheme: nil, authority: nil, path: path, headerFields: headerFields)
    }

    /// A POST request for `path` (see ``get(_:headerFields:)``). Not idempotent: when a connection
    /// breaks after it may have been processed, the client fails it with `possiblyProcessed` rather
    /// than send it twice.
    public static func post(_ path: String, headerFields: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: .post, scheme: nil, authority: nil, path: path, headerFields: headerFields)
    }

    /// A PUT request for `path` (see ``get(_:headerFields:)``).
    public static func put(_ path: String, headerFields: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: .put, scheme: nil, authority: nil, path: path, headerFields: headerFields)
    }

    /// A DELETE request for `path` (see ``get(_:headerFields:)``).
    public static func delete(_ path: String, headerFields: HTTPFields = [:]) -> HTTPRequest {
        HTTPRequest(method: .delete, scheme: nil, authority: nil, path: path, headerFields: headerFields)
    }
}
