import GoAwayCore
import HTTPTypes
import NIOCore
import NIOHTTP2

/// Responses: heads and DATA turned into the machine's events and the caller's body; the one
/// place a stream ends.
extension ClientConnectionHandler {
    func receivedHeaders(_ headers: HTTP2Frame.FramePayload.Headers, streamID: HTTP2StreamID) {
        guard let st = streams[streamID] else { return }
        if st.responded {  // trailers (swift-nio-http2 checked END_STREAM on them)
            if let malformed = ResponseHeaders.checkTrailers(headers.headers) {
                malformedHeaders(streamID, malformed)
            } else if headers.endStream {
                complete(streamID)
            }
            return
        }
        let parsed: ResponseHeaders.Head
        switch ResponseHeaders.head(headers.headers) {
        case .success(let head): parsed = head
        case .failure(let malformed):
            malformedHeaders(streamID, malformed)
            return
        }
        if parsed.status.kind == .informational { return }
        let verdict = core.responseHead(StreamID(Int32(streamID)), contentLength: parsed.contentLength, now: now)
        let (body, continuation) = makeBody(streamID)
        streams.modify(streamID) { (s: inout StreamIO) -> Void in
            s.responded = true
            s.body = continuation
        }
        guard delegate.responseHead(st.request.id, HTTP2ClientResponse(status: parsed.status, block: headers.headers, body: body)) else {
            _ = remove(streamID)
            continuation.finish()
            st.uploadTask?.cancel()
            resetStreamOnly(streamID, code: .cancel)
            delegate.streamDone(st.request.id)
            return
        }
        if case .tooLarge(let detail) = verdict {
            failBody(streamID, HTTP2ClientError(.responseTooLarge, detail: detail))
        } else if headers.endStream {
            complete(streamID)
        }
    }

    func receivedData(_ body: HTTP2Frame.FramePayload.Data, streamID: HTTP2StreamID) {
        guard case .byteBuffer(let buffer) = body.data else { return }
        let result = core.dataReceived(
            StreamID(Int32(streamID)), dataBytes: buffer.readableBytes, paddingBytes: body.paddingBytes, endStream: body.endStream, now: now)
        switch result.delivery {
        case .deliver, .deliverAndEnd:
            if buffer.readableBytes > 0 { streams[streamID]?.body?.yield(buffer) }
            if case .deliverAndEnd = result.delivery { complete(streamID) }
        case .tooLarge(let detail):
            failBody(streamID, HTTP2ClientError(.responseTooLarge, detail: detail))
        case .ignore:
            break
        }
        // The stream first, the connection window after: no write before the frame is handled.
        if let increment = result.streamWindowUpdate, streams[streamID] != nil { write(streamID, .windowUpdate(windowSizeIncrement: increment)) }
        if let increment = result.connectionWindowUpdate { write(.rootStream, .windowUpdate(windowSizeIncrement: increment)) }
    }

    /// A malformed header block is a stream error (RFC 9113 §8.1.1): RST_STREAM(PROTOCOL_ERROR);
    /// before the head the pool decides, after it the body fails `streamReset`.
    func malformedHeaders(_ streamID: HTTP2StreamID, _ malformed: ResponseHeaders.Malformed) {
        logger.debug("malformed headers", metadata: ["goaway.connection": "\(id)", "goaway.stream": "\(streamID)", "goaway.error": "\(malformed.reason)"])
        if let st = remove(streamID) {
            finish(st, streamID: streamID, resetCode: .protocolError, cutOffDetail: "protocol error: malformed headers: \(malformed.reason)")
        }
        resetStreamOnly(streamID, code: .protocolError)
    }

    /// The caller took `bytes` of the body: maybe give the stream's window back.
    func bodyConsumed(_ sid: HTTP2StreamID, bytes: Int) {
        guard !closed, let increment = core.bodyConsumed(StreamID(Int32(sid)), bytes: bytes, now: now), streams[sid] != nil else { return }
        write(sid, .windowUpdate(windowSizeIncrement: increment))
        flushSoon()
    }

    /// Nobody reads the response body any more: RST_STREAM(CANCEL), free the slot.
    func bodyAbandoned(_ sid: HTTP2StreamID) {
        guard streams[sid]?.responded == true else { return }
        failBody(sid, HTTP2ClientError(.cancelled, detail: "nobody reads the response body any more"))
        flushSoon()
    }

    func complete(_ streamID: HTTP2StreamID) {
        guard let st = remove(streamID) else { return }
        st.body?.finish()
        delegate.streamDone(st.request.id)
    }

    /// Ends a response body with `error` and resets its stream (only); frees the slot.
    func failBody(_ streamID: HTTP2StreamID, _ error: HTTP2ClientError) {
        guard let st = remove(streamID) else { return }
        st.uploadTask?.cancel()
        st.body?.finish(throwing: error)
        resetStreamOnly(streamID, code: .cancel)
        delegate.streamDone(st.request.id)
    }

    /// A stream ended abnormally: before the head the pool decides (re-send or typed error); after
    /// it the body fails, because the caller already has the response.
    func finish(_ st: StreamIO, streamID: HTTP2StreamID, resetCode: NIOHTTP2.HTTP2ErrorCode?, cutOffDetail: String) {
        st.uploadTask?.cancel()
        guard st.responded else {
            delegate.streamFailed(st.request.id, streamID: streamID, lastStreamID: lastStreamID, resetCode: resetCode, cause: core.failure)
            return
        }
        st.body?.finish(throwing: HTTP2ClientError(
            resetCode == nil ? .responseIncomplete : .streamReset, detail: core.failure.map { "\(cutOffDetail) (\($0))" } ?? cutOffDetail,
            resetCode: resetCode.map { GoAwayCore.HTTP2ErrorCode(nio: $0) }))
        delegate.streamDone(st.request.id)
    }

    /// The one place a stream leaves the table and the machine.
    func remove(_ sid: HTTP2StreamID) -> StreamIO? {
        guard let st = streams.removeValue(forKey: sid) else { return nil }
        core.streamClosed(StreamID(Int32(sid)))
        return st
    }

    func resetStreamOnly(_ sid: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode) {
        write(sid, .rstStream(code))
    }
}
