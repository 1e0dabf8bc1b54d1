/// Request streams: admission during a drain, the request body and its flow control, and the
/// request that goes on after its response ended.
///
/// Flow control (RFC 9113 §6.9), with `InboundWindow`: the connection window is granted back as
/// DATA arrives (the stream windows bound what each stream may buffer, so one slow handler cannot
/// starve the others); a stream's window as its handler consumes the body, so a stalled handler
/// holds at most one stream window. Padding (the pad length octet and the pad) is credit at once.
///
/// A response may end before its request (a handler that answers without reading the upload). The
/// request then stays open ("lingering"): its bytes are discarded and its window kept closed, and
/// RST_STREAM(NO_ERROR) ends the upload (RFC 9113 §8.1) once it has cost half a window or at the
/// second stall check that finds it so. Not with the response: once we reset a stream
/// swift-nio-http2 ignores every later frame on it (§5.1 allows that), so a reset at once would
/// hide the peer's stream errors — DATA after its own RST_STREAM, a zero or overflowing
/// WINDOW_UPDATE, a content-length that does not match — and the peer would hear nothing.
extension ServerConnectionStateMachine {
    mutating func headers(_ id: StreamID, endStream: Bool, valid: Bool, now: Instant, into actions: inout [Action]) {
        if var stream = streams[id] {
            // Trailers end the request body.
            stream.requestEnded = true
            stream.window.close()
            if !valid {
                // Malformed trailers: a stream error. The close that follows the reset fails the
                // request (with PROTOCOL_ERROR, the reset's code) unless its response ended.
                if let reason = protection.streamError(now: now) { return abortForAbuse(reason, now: now, into: &actions) }
                streams[id] = stream
                return actions.append(.resetStream(id, code: .protocolError))
            }
            if stream.bodyOpen {
                stream.bodyOpen = false
                actions.append(.endRequestBody(id))
            }
            streams[id] = stream
            return
        }
        switch state {
        case .closed:
            return actions.append(.refuseStream(id))
        case .draining(_, let lastStreamID, _) where id > lastStreamID:
            return actions.append(.refuseStream(id))
        case .answering(_, let lastStreamID, _) where id > lastStreamID:
            return actions.append(.holdStream(id))
        case .active, .notified, .draining, .answering:
            break
        }
        // A malformed request over the stream-error limits ends the connection instead (as
        // swift-nio-http2 does with its own): no RST_STREAM, the stream is not processed.
        if !valid, let reason = protection.streamError(now: now) { return abortForAbuse(reason, now: now, into: &actions) }
        if streams.isEmpty { actions.append(.idle(false)) }
        var stream = Stream(window: InboundWindow(target: initialWindowSize), requestEnded: endStream || !valid, bodyOpen: valid && !endStream)
        if !valid {
            // Malformed (RFC 9113 §8.1.1): a stream error; the stream still counts as opened.
            stream.responseEnded = true
            actions.append(.resetStream(id, code: .protocolError))
        }
        if stream.requestEnded { stream.window.close() }
        streams[id] = stream
        requestCount += 1
        if id > highestPeerStreamID { highestPeerStreamID = id }
        if valid, case .schedule(let at) = protection.streamOpened(now: now) { deadlines[.stall] = at }
        streamOpenedDuringDrain(now: now, into: &actions)
        // Last: the handler may answer synchronously, after what the stream's arrival decided
        // (a two-phase max-requests notice goes out before the answer).
        if valid { actions.append(.deliverRequest(id, endStream: endStream)) }
    }

    /// A stream opened: it may race a notice, or be the request that reaches the limit.
    private mutating func streamOpenedDuringDrain(now: Instant, into actions: inout [Action]) {
        pingStrikes = 0
        if case .notified(_, let since) = state {
            // Streams still racing the notice: the peer has not read it yet. The final GOAWAY waits
            // for a quiet notice wait after the last of them, never past the cap.
            let cap = since + max(policy.pingAckTimeout, policy.noticeMinimumWait)
            deadlines[.notice] = min(now + policy.noticeWait(roundTrip: roundTrip), cap)
            return
        }
        if case .active = state, let max = policy.maxRequestsPerConnection, requestCount >= max {
            beginShutdown(.maxRequests, now: now, into: &actions)
        }
    }

    mutating func data(_ id: StreamID, bytes: Int, paddingBytes: Int?, endStream: Bool, into actions: inout [Action]) {
        if let increment = connectionWindow.received(dataBytes: bytes, paddingBytes: paddingBytes, delivered: false) {
            actions.append(.windowUpdate(.root, increment: increment))
        }
        guard var stream = streams[id] else { return }
        if endStream {
            stream.requestEnded = true
            stream.window.close()
        }
        var increment: Int?
        if stream.bodyOpen {
            increment = stream.window.received(dataBytes: bytes, paddingBytes: paddingBytes, delivered: true)
            actions.append(.deliverData(id, endStream: endStream))
            if endStream { stream.bodyOpen = false }
        } else if stream.lingering {
            // Answered before the request ended: discarded, the window stays closed (held).
            let length = InboundWindow.flowControlledLength(dataBytes: bytes, paddingBytes: paddingBytes)
            _ = stream.window.received(dataBytes: length, paddingBytes: nil, delivered: true)
            stream.discarded += length
            if stream.discarded >= initialWindowSize / 2 { actions.append(.resetStream(id, code: .noError)) }
        } else {
            // Nobody reads it any more (the reader is gone): the window goes back at once.
            increment = stream.window.received(dataBytes: bytes, paddingBytes: paddingBytes, delivered: false)
        }
        streams[id] = stream
        if let increment { actions.append(.windowUpdate(id, increment: increment)) }
    }

    mutating func bodyConsumed(_ id: StreamID, bytes: Int, into actions: inout [Action]) {
        guard let increment = streams.modify(id, { $0.window.consumed(bytes) }) ?? nil else { return }
        actions.append(.windowUpdate(id, increment: increment))
    }

    mutating func streamReset(_ id: StreamID, code: HTTP2ErrorCode, into actions: inout [Action]) {
        frameCounts.resets += 1
        guard var stream = streams[id] else { return }
        // The StreamClosedEvent follows; failing the body now wakes a reading handler.
        stream.bodyOpen = false
        _ = stream.window.readerGone()
        streams[id] = stream
        if !stream.responseEnded { actions.append(.failRequest(id, code: code)) }
    }

    mutating func streamClosed(_ id: StreamID, code: HTTP2ErrorCode?, now: Instant, into actions: inout [Action]) {
        guard let stream = streams.removeValue(forKey: id) else { return }
        sendProgress &+= 1
        if streams.isEmpty { actions.append(.idle(true)) }
        if !stream.responseEnded {
            actions.append(.failRequest(id, code: code ?? .cancel))
        } else if isDraining {
            completedDuringDrain += 1
        }
        guard streams.isEmpty else { return }
        lastStreamActivity = now
        switch state {
        case .draining(let reason, _, let since):
            close(reason: reason, drainStarted: since)
            actions.append(.close)
        case .answering:
            // Answered. The GOAWAY follows one notice wait later: by then the client has put its
            // next requests on the connection (held, above the GOAWAY's id, re-sent elsewhere) and
            // waits on them, instead of being halfway through sending one when the GOAWAY lands.
            deadlines[.notice] = now + policy.noticeWait(roundTrip: roundTrip)
        case .active where peerSentGoAway:
            close(reason: .peerGoAway, drainStarted: nil)
            actions.append(.close)
        case .active, .notified, .closed:
            break
        }
    }

    // MARK: Responses

    mutating func responseEnded(_ id: StreamID, into actions: inout [Action]) {
        guard var stream = streams[id], !stream.responseEnded else { return }
        stream.responseEnded = true
        if stream.bodyOpen {
            // The handler is done with its body; the request stays open (lingering).
            stream.bodyOpen = false
            actions.append(.endRequestBody(id))
        }
        streams[id] = stream
    }

    mutating func dataSent(_ id: StreamID, bytes: Int, endStream: Bool, awaited: Bool, into actions: inout [Action]) {
        protection.dataSent(bytes: bytes)
        if endStream {
            responseEnded(id, into: &actions)
        } else if awaited {
            streams.modify(id) { $0.writePending = true }
        }
    }

    /// The stall check: responses blocked at two checks in a row with no progress end the
    /// connection (`send_timeout`); an upload still going on after its answer, at two checks in a
    /// row, is ended with RST_STREAM(NO_ERROR).
    mutating func stallCheck(now: Instant, into actions: inout [Action]) {
        var blocked = 0
        for id in streams.keys.sorted() {
            let stream = streams[id]!
            if stream.lingering {
                if stream.lingerSeen { actions.append(.resetStream(id, code: .noError)) } else { streams.modify(id) { $0.lingerSeen = true } }
            } else if stream.writePending || stream.responseEnded {
                blocked += 1
            }
        }
        switch protection.stallTimerFired(blocked: blocked, progress: sendProgress, openStreams: streams.count, now: now) {
        case .none: break
        case .schedule(let at): deadlines[.stall] = at
        case .abuse(let reason): abortForAbuse(reason, now: now, into: &actions)
        }
    }
}
