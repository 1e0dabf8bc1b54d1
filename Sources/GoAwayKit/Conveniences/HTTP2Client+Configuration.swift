extension HTTP2Client {
    /// The configuration the client was made with (adapters read `maxReplayBufferSize` from it).
    public var configuration: HTTP2ClientConfiguration { runtime.configuration }
}
