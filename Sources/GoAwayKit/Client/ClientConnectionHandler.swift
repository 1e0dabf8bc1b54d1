import GoAwayCore
import HTTPTypes
import Logging
import NIOCore
import NIOHPACK
import NIOHTTP2


/// One HTTP/2 connection of the client: sits right after `NIOHTTP2Handler`, handles every
/// stream's frames itself, and decides nothing: `ClientConnectionStateMachine` holds the timers,
/// deadlines, stream ids and windows; this handler turns frames into its events and runs the
/// results. One timer, armed at the machine's `nextDeadline` (loop time, so tests drive it).
///
/// Why no multiplexer: a stream child channel per request costs a channel, a pipeline and several
/// allocations per request, and `NIOAsyncChannel` per stream was measured 3x slower than the inline pipeline in swift-nio-http2 1.46.
/// GOAWAY/RST/close are seen in one place, in order: nio-http2 forwards the GOAWAY frame before the
/// `StreamClosedEvent`s it causes, so every stream is classified against the last-stream-id it saw.
///
/// Back-pressure: a stream's window goes back as the caller reads the body (`HTTP2ResponseBody`
/// reports each chunk it hands out), the connection's on arrival; a stalled reader holds one
/// stream window at most. swift-nio-http2 enforces header list size, CONTINUATION and control
/// frame floods, and answers stream errors with RST_STREAM (`ClientPipeline` keeps those from
/// closing the connection); why a connection died is kept and named in the errors it causes.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// The I/O side of a stream (the machine has the rest).
    struct StreamIO {
        let request: PendingRequest
        var body: ResponseBodyStorage?
        var responded = false
        var uploadTask: Task<Void, Never>?
    }

    let id: ConnectionID
    let delegate: ClientConnectionDelegate
    let logger: Logger
    // `@exclusivity(unchecked)` on the state read or changed on every frame: no dynamic
    // exclusivity check (a `swift_beginAccess`/`endAccess` pair, ~80 instructions, ~16 times a
    // request). Sound because no access to them overlaps another: the handler runs only on its
    // channel's event loop (one thread); `core` and `pacer` are values whose methods call nothing
    // back; the closures given to `streams.modify` only set the stream's own fields; and nothing
    // these accesses call (NIO writes, the delegate) reaches them while the access lasts — every
    // call out happens between accesses, never inside one.
    @exclusivity(unchecked) var core: ClientConnectionStateMachine
    @exclusivity(unchecked) var context: ChannelHandlerContext?
    /// Open streams: a short array scan, not a hashed lookup (`StreamTable`).
    @exclusivity(unchecked) var streams = StreamTable<HTTP2StreamID, StreamIO>()
    @exclusivity(unchecked) private(set) var closed = false
    @exclusivity(unchecked) var needsFlush = false
    @exclusivity(unchecked) var flushScheduled = false
    /// Flushes part of a tick's requests early, so the server works while we build the rest.
    @exclusivity(unchecked) var pacer = FlushPacer()
    private var timer: Scheduled<Void>?
    /// The callbacks every response body of this connection reports to (`makeBody`).
    var bodyEventsCache: BodyEvents?
    private var timerAt: Instant?
    /// The stream of the frame `channelRead` is handling, and whether its `StreamClosedEvent` came
    /// while it did. NIOHTTP2Handler queues that event before it passes the frame on, and delivers
    /// its queue after every frame *we write*: a WINDOW_UPDATE or HEADERS written from `channelRead`
    /// used to close a stream whose last DATA frame we had not handled yet (`responseIncomplete`).
    @exclusivity(unchecked) private var readingStream: HTTP2StreamID?
    @exclusivity(unchecked) private var closedWhileReading = false

    init(id: ConnectionID, delegate: ClientConnectionDelegate, logger: Logger, configuration: HTTP2ClientConfiguration, keepaliveInterval: Duration?) {
        self.id = id
        self.delegate = delegate
        self.logger = logger
        self.core = ClientConnectionStateMachine(configuration: configuration.connectionCore(keepaliveInterval: keepaliveInterval))
    }

    /// Our SETTINGS: no push, our receive window, the largest response header list we accept.
    static func initialSettings(_ configuration: HTTP2ClientConfiguration) -> HTTP2Settings {
        [
            HTTP2Setting(parameter: .enablePush, value: 0),
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 0),
            HTTP2Setting(parameter: .initialWindowSize, value: min(max(configuration.receiveWindow, 0), InboundWindow.maximum)),
            HTTP2Setting(parameter: .maxHeaderListSize, value: min(max(configuration.maxResponseHeaderListSize, 0), Int(UInt32.max))),
        ]
    }

    var now: Instant { Instant(nanoseconds: Int64(clamping: context?.eventLoop.now.uptimeNanoseconds ?? 0)) }

    // MARK: lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { becameActive(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        becameActive(context: context)
        context.fireChannelActive()
    }

    private func becameActive(context: ChannelHandlerContext) {
        guard core.phase == .idle else { return }
        if let increment = core.activated(now: now) { write(.rootStream, .windowUpdate(windowSizeIncrement: increment)) }
        flushSoon()
        delegate.connectionActive(id, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
        rearm()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        timer?.cancel()
        bodyEventsCache = nil  // it holds this handler: bodies still out keep it only while they live
        core.channelInactive()
        let pending = streams
        streams.removeAll()
        // The pool learns first that this connection is gone, so the re-sends below go elsewhere.
        delegate.connectionClosed(id, cause: core.failure)
        for (sid, st) in zip(pending.keys, pending.values).sorted(by: { $0.0 < $1.0 }) {
            finish(st, streamID: sid, resetCode: nil, cutOffDetail: "the connection closed before the response ended")
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let e = error as? PeerStreamError {
            streamError(e.streamID, code: e.code, detail: "\(e.base)")
        } else if let e = error as? NIOHTTP2Errors.StreamError {
            streamError(e.streamID, code: .protocolError, detail: "\(e.baseError)")
        } else {
            logger.debug("connection error", metadata: ["goaway.connection": "\(id)", "goaway.error": "\(error)"])
            run(core.connectionFailed("connection error: \(error)"))
        }
    }

    /// swift-nio-http2 reset the stream (RST_STREAM with `code` is on the wire): its request ends.
    func streamError(_ sid: HTTP2StreamID, code: NIOHTTP2.HTTP2ErrorCode, detail: String) {
        logger.debug("stream error", metadata: ["goaway.connection": "\(id)", "goaway.stream": "\(sid)", "goaway.error": "\(detail)"])
        if let st = remove(sid) { finish(st, streamID: sid, resetCode: code, cutOffDetail: "protocol error: \(detail)") }
    }

    private func run(_ action: ClientConnectionStateMachine.OnClose) {
        guard let context, !closed else { return }
        switch action {
        case .none: return
        case .close: break
        case .sendGoAwayAndClose(let code):
            write(.rootStream, .goAway(lastStreamID: .rootStream, errorCode: NIOHTTP2.HTTP2ErrorCode(code), opaqueData: nil))
            flushNow()
        }
        if let failure = core.failure { logger.debug("connection failed", metadata: ["goaway.connection": "\(id)", "goaway.error": "\(failure)"]) }
        context.close(promise: nil)
    }

    // MARK: timers (the machine decides; one scheduled task at its next deadline)

    private func rearm() {
        guard let context, !closed, let next = core.nextDeadline else { return }
        // An early wake-up is harmless (`.none`), so only an earlier deadline re-arms.
        if let timerAt, timerAt <= next { return }
        timer?.cancel()
        timerAt = next
        let box = NIOLoopBound(self, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, next.nanoseconds)))) {
            box.value.timerFired()
        }
    }

    private func timerFired() {
        timerAt = nil
        timer = nil
        while !closed {
            switch core.deadlinesPassed(now: now) {
            case .none:
                flushSoon()
                rearm()
                return
            case .sendPing(let payload):
                write(.rootStream, .ping(HTTP2PingData(withInteger: payload), ack: false))
            case .failConnection(let code, _):
                run(code.map { .sendGoAwayAndClose($0) } ?? .close)
            case .failStreams(let ids, let reason):
                for sid in ids { failBody(HTTP2StreamID(Int(sid.rawValue)), HTTP2ClientError(.requestTimeout, detail: reason)) }
            case .connectTimedOut:
                delegate.connectTimedOut(id)
                run(.close)
            }
        }
    }

    // MARK: commands from the client (on the event loop)

    /// Opens streams for the requests with a single flush (a pool action often hands several at once).
    func start(_ requests: [PendingRequest]) {
        for request in requests { start(request, flush: false) }
        flushSoon()
        rearm()
    }

    /// Opens a stream for the request, or reports it never sent when this connection cannot.
    func start(_ request: PendingRequest, flush: Bool = true) {
        guard let context, !closed, case .open(let streamID) = core.openStream(now: now) else {
            delegate.streamFailed(request.id, streamID: nil, lastStreamID: lastStreamID, resetCode: nil, cause: core.failure)
            return
        }
        let sid = HTTP2StreamID(Int(streamID.rawValue))
        var state = StreamIO(request: request)
        let headersPromise = context.eventLoop.makePromise(of: Void.self)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: sid, payload: .headers(.init(headers: request.headers, endStream: request.body.isEmpty)))), promise: headersPromise)
        let box = NIOLoopBound(self, eventLoop: context.eventLoop)
        headersPromise.futureResult.whenFailure { error in box.value.headersNotSent(sid, error: error) }
        switch request.body.storage {
        case .empty: break
        case .bytes(let buffer):
            core.dataSent(streamID, bytes: buffer.readableBytes)
            write(sid, .data(.init(data: .byteBuffer(buffer), endStream: true)))
        case .factory(let make): state.uploadTask = upload(make(), streamID: sid, loop: context.eventLoop)
        case .stream(let oneShot): state.uploadTask = upload(oneShot.stream, streamID: sid, loop: context.eventLoop)
        }
        streams[sid] = state
        needsFlush = true
        if pacer.requestWritten(openStreams: streams.count) { flushNow() }
        if flush {
            flushSoon()
            rearm()
        }
    }

    func isOpen(_ sid: HTTP2StreamID) -> Bool { !closed && streams[sid] != nil }

    var lastStreamID: HTTP2StreamID? { core.lastStreamID.map { HTTP2StreamID(Int($0.rawValue)) } }

    /// The caller gave up (cancelled, timed out): RST_STREAM(CANCEL) this stream only.
    func cancel(_ request: RequestID, error: HTTP2ClientError) {
        // A search, not a second table kept per request: cancelling is rare, requests are not.
        guard let sid = zip(streams.keys, streams.values).first(where: { $0.1.request.id == request })?.0, let st = remove(sid) else { return }
        st.uploadTask?.cancel()
        st.body?.finish(throwing: error)
        resetStreamOnly(sid, code: .cancel)
        flushSoon()
    }

    /// Drained or shutting down: say GOAWAY (we accept no pushes: last-id 0) and close.
    func close() { run(core.closeRequested()) }

    func setKeepalive(_ interval: Duration?) {
        core.keepaliveIntervalChanged(interval)
        rearm()
    }

    // MARK: inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let outer = (readingStream, closedWhileReading)
        readingStream = frame.streamID
        closedWhileReading = false
        core.frameReceived(now: now)
        handle(frame)
        if closedWhileReading, let st = remove(frame.streamID) {
            finish(st, streamID: frame.streamID, resetCode: nil, cutOffDetail: "the stream closed before the response ended")
        }
        (readingStream, closedWhileReading) = outer
    }

    private func handle(_ frame: HTTP2Frame) {
        switch frame.payload {
        case .settings(.settings(let settings)):
            let limit = settings.last(where: { $0.parameter == .maxConcurrentStreams }).map(\.value)
            let initialWindow = settings.last(where: { $0.parameter == .initialWindowSize }).map(\.value)
            switch core.settingsReceived(maxConcurrentStreams: limit, initialWindowSize: initialWindow) {
            case .ready(let limit): delegate.connectionReady(id, maxConcurrentStreams: limit)
            case .maxConcurrentStreamsChanged(let limit): delegate.settingsChanged(id, maxConcurrentStreams: limit)
            case .none: break
            }
        case .settings(.ack):
            core.settingsAckReceived()
        case .ping(let data, ack: true):
            core.pingAckReceived(payload: data.integer)
        case .goAway(let last, let code, let opaque):
            core.goAwayReceived(lastStreamID: StreamID(Int32(last)))
            delegate.goAwayReceived(id, lastStreamID: last, code: code, debugData: opaque.map { Array($0.readableBytesView) } ?? [])
        case .headers(let headers):
            receivedHeaders(headers, streamID: frame.streamID)
        case .data(let body):
            receivedData(body, streamID: frame.streamID)
        case .windowUpdate(let increment) where frame.streamID != .rootStream:
            if case .resetStream(let code) = core.windowUpdateReceived(StreamID(Int32(frame.streamID)), increment: increment) {
                let nioCode = NIOHTTP2.HTTP2ErrorCode(code)
                resetStreamOnly(frame.streamID, code: nioCode)
                streamError(frame.streamID, code: nioCode, detail: increment == 0 ? "WINDOW_UPDATE increment 0" : "stream window beyond 2^31-1")
            }
        case .rstStream(let code):
            if let st = remove(frame.streamID) { finish(st, streamID: frame.streamID, resetCode: code, cutOffDetail: "the server reset the stream") }
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushSoon()
        rearm()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A metatype compare first: a failing `as?` from `Any` is a full dynamic cast, and most
        // events (stream created, window updated: several per request) are not this one.
        if type(of: event) == StreamClosedEvent.self, let closedEvent = event as? StreamClosedEvent {
            if closedEvent.streamID == readingStream {
                // The frame being read closed its stream, and something we wrote while handling it made
                // NIOHTTP2Handler deliver the event early: judge the stream after the frame.
                closedWhileReading = true
            } else if let st = remove(closedEvent.streamID) {
                // Streams above a GOAWAY's last-id arrive here with reason CANCEL; never trust that code.
                finish(st, streamID: closedEvent.streamID, resetCode: nil, cutOffDetail: "the stream closed before the response ended")
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}
