import GoAwayCore
import NIOCore
import NIOHTTP2

/// What a connection tells the client. Called on the connection's event loop.
protocol ClientConnectionDelegate: AnyObject, Sendable {
    func connectionActive(_ id: ConnectionID, handler: NIOLoopBound<ClientConnectionHandler>)
    func connectionReady(_ id: ConnectionID, maxConcurrentStreams: Int?)
    func settingsChanged(_ id: ConnectionID, maxConcurrentStreams: Int)
    func goAwayReceived(_ id: ConnectionID, lastStreamID: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode, debugData: [UInt8])
    /// The request's stream ended before a response head: the pool decides about a re-send.
    /// `cause`: why the connection failed, when it did (for the error's detail).
    func streamFailed(_ request: RequestID, streamID: HTTP2StreamID?, lastStreamID: HTTP2StreamID?, resetCode: NIOHTTP2.HTTP2ErrorCode?, cause: String?)
    /// Returns false when nobody waits for it any more (cancelled, timed out): reset the stream.
    func responseHead(_ request: RequestID, _ response: HTTP2ClientResponse) -> Bool
    /// The stream is over (complete, or cut off after the head): free its slot.
    func streamDone(_ request: RequestID)
    /// The server's first SETTINGS did not come within the connect timeout (the machine's
    /// `connectTimedOut`): the channel closes next, and the connect failed as a timeout.
    func connectTimedOut(_ id: ConnectionID)
    /// `cause`: why it failed, if it did (protocol error, missing ack).
    func connectionClosed(_ id: ConnectionID, cause: String?)
}
