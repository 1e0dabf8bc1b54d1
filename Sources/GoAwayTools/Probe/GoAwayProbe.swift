import GoAwayKit
import GoAwayCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import NIOSSL

/// `goaway probe`: finds a server's connection limits (requests per connection, idle timeout, max
/// age, PING policy) by holding connections open on a schedule and watching for GOAWAY.
///
/// The schedule and the verdicts are GoAwayCore's `ProbePlanner` and `ProbeAnalysis`; this is the
/// shell that runs the planner's actions on one event loop, with a minimal connection of its own
/// (`NIOHTTP2Handler` + `ProbeConnectionHandler`): the pooled client would hide what the probe
/// measures — it re-sends, reconnects and keeps several connections.
public enum GoAwayProbe {
    public static func run(
        url: String,
        configuration: ProbePlanner.Configuration = .defaults,
        tls: HTTP2ClientConfiguration.TLS = .defaults,
        frameTrace: FrameTrace? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ProbeReport {
        let endpoint = try HTTP2Endpoint(url: url)
        let path = HTTP2Endpoint.pathAndQuery(of: url)
        let ssl = endpoint.isTLS ? try ClientRuntime.makeTLSContext(tls) : nil
        let loop = group.next()
        let promise = loop.makePromise(of: ProbeReport.self)
        loop.execute {
            let driver = ProbeDriver(loop: loop, endpoint: endpoint, path: path, ssl: ssl, frameTrace: frameTrace,
                                     configuration: configuration, promise: promise)
            driver.step()
        }
        return try await promise.futureResult.get()
    }
}

/// Runs the planner's actions. Every method runs on `loop`; the state is confined to it.
final class ProbeDriver: @unchecked Sendable {
    let loop: any EventLoop
    let endpoint: HTTP2Endpoint
    let path: String
    let ssl: NIOSSLContext?
    let frameTrace: FrameTrace?
    let promise: EventLoopPromise<ProbeReport>
    private var planner: ProbePlanner
    private var handlers: [Int: ProbeConnectionHandler] = [:]
    private var timer: Scheduled<Void>?
    private var done = false

    init(loop: any EventLoop, endpoint: HTTP2Endpoint, path: String, ssl: NIOSSLContext?, frameTrace: FrameTrace?,
         configuration: ProbePlanner.Configuration, promise: EventLoopPromise<ProbeReport>) {
        self.loop = loop
        self.endpoint = endpoint
        self.path = path
        self.ssl = ssl
        self.frameTrace = frameTrace
        self.promise = promise
        self.planner = ProbePlanner(configuration: configuration, now: Self.now())
    }

    static func now() -> Instant { Instant(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds)) }

    private var stepping = false
    private var again = false

    /// Runs actions until the planner waits or finishes. Re-entrant calls (a close whose
    /// channelInactive reports back synchronously) run after the current one.
    func step() {
        loop.preconditionInEventLoop()
        guard !done else { return }
        if stepping {
            again = true
            return
        }
        stepping = true
        defer { stepping = false }
        repeat {
            again = false
            runActions()
        } while again && !done
    }

    private func runActions() {
        timer?.cancel()
        timer = nil
        for _ in 0..<10_000 {
            let now = Self.now()
            switch planner.next(now: now) {
            case .connect(let c):
                connect(c)
                return
            case .sendRequest(let c):
                guard let h = handlers[c], let stream = h.sendRequest(path: path, authority: endpoint.authority, scheme: endpoint.scheme) else {
                    planner.closed(c, now: now)
                    continue
                }
                planner.requestSent(c, stream: stream, now: now)
            case .sendPing(let c):
                handlers[c]?.sendPing()
            case .close(let c):
                handlers.removeValue(forKey: c)?.close()
            case .wait(let until):
                let delay = until.nanoseconds - now.nanoseconds
                timer = loop.scheduleTask(in: .nanoseconds(max(delay, 1_000_000))) { [self] in step() }
                return
            case .finish:
                done = true
                for h in handlers.values { h.close() }
                handlers.removeAll()
                promise.succeed(ProbeAnalysis.analyze(planner.logs, configuration: planner.configuration))
                return
            }
        }
    }

    private func connect(_ c: Int) {
        let handler = ProbeConnectionHandler(connection: c, driver: self)
        handlers[c] = handler
        let (ssl, endpoint, trace) = (self.ssl, self.endpoint, self.frameTrace)
        let timeout = TimeAmount.seconds(10)
        ClientPipeline.bootstrap(
            group: loop, connectTimeout: timeout, tls: ssl, endpoint: endpoint, trace: trace, traceConnection: c + 1,
            settings: [HTTP2Setting(parameter: .enablePush, value: 0), HTTP2Setting(parameter: .maxConcurrentStreams, value: 0)]
        ) { sync in try sync.addHandler(handler) }
            .connect(host: endpoint.address ?? endpoint.host, port: endpoint.port)
            .whenFailure { [self] error in
                planner.connectFailed(c, error: "\(error)", now: Self.now())
                handlers[c] = nil
                step()
            }
    }

    // MARK: events from connections

    func event(_ body: (inout ProbePlanner, Instant) -> Void) {
        body(&planner, Self.now())
        step()
    }
}

/// One probe connection: opens GET streams, answers flow control, reports GOAWAY, PING, stream
/// ends and the close to the driver.
final class ProbeConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    let connection: Int
    let driver: ProbeDriver
    private var context: ChannelHandlerContext?
    private var nextStreamID: Int32 = 1
    private var status: [HTTP2StreamID: Int] = [:]
    private var closed = false
    private var connectionWindow = InboundWindow(target: InboundWindow.protocolDefault, threshold: 1)

    init(connection: Int, driver: ProbeDriver) {
        self.connection = connection
        self.driver = driver
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { active() }
    }

    func channelActive(context: ChannelHandlerContext) {
        active()
        context.fireChannelActive()
    }

    private var announced = false
    private func active() {
        guard !announced else { return }
        announced = true
        let c = connection
        // Let the preface and SETTINGS go out before the first request.
        context?.eventLoop.execute { [driver] in driver.event { $0.connected(c, now: $1) } }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        let c = connection
        driver.event { $0.closed(c, now: $1) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOHTTP2Errors.StreamError || error is PeerStreamError { return }
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let c = connection
        let sid = frame.streamID
        let stream = StreamID(Int32(sid))
        switch frame.payload {
        case .goAway(let last, let code, let opaque):
            let debug = opaque.map { Array($0.readableBytesView) } ?? []
            driver.event { $0.goAwayReceived(c, lastStreamID: StreamID(Int32(last)), code: GoAwayCore.HTTP2ErrorCode(nio: code), debugData: GoAwayDebugData(debug), now: $1) }
        case .ping(_, let ack) where !ack:
            driver.event { $0.pingReceived(c, now: $1) }
        case .headers(let h):
            if let s = h.headers.first(name: ":status").flatMap(Int.init) { status[sid] = s }
            if h.endStream { ended(sid) }
        case .data(let d):
            // The probe reads nothing: every byte (padding included) goes back at once, the
            // stream's too unless the frame ended it.
            if let n = connectionWindow.received(dataBytes: d.data.readableBytes, paddingBytes: d.paddingBytes, delivered: false) {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: n))), promise: nil)
                var stream = InboundWindow(target: InboundWindow.protocolDefault, threshold: 1)
                if d.endStream { stream.close() }
                if let n = stream.received(dataBytes: d.data.readableBytes, paddingBytes: d.paddingBytes, delivered: false) {
                    context.write(wrapOutboundOut(HTTP2Frame(streamID: sid, payload: .windowUpdate(windowSizeIncrement: n))), promise: nil)
                }
                context.flush()
            }
            if d.endStream { ended(sid) }
        case .rstStream(let code):
            status[sid] = nil
            driver.event { $0.streamReset(c, stream: stream, code: GoAwayCore.HTTP2ErrorCode(nio: code), now: $1) }
        default:
            break
        }
    }

    private func ended(_ sid: HTTP2StreamID) {
        let c = connection
        let s = status.removeValue(forKey: sid)
        driver.event { $0.responseEnded(c, stream: StreamID(Int32(sid)), status: s, now: $1) }
    }

    /// Opens a GET stream; `nil` when the connection is gone.
    func sendRequest(path: String, authority: String, scheme: String) -> StreamID? {
        guard let context, !closed else { return nil }
        let sid = HTTP2StreamID(nextStreamID)
        nextStreamID += 2
        let headers: HPACKHeaders = [":method": "GET", ":scheme": scheme, ":authority": authority, ":path": path, "user-agent": "goaway-probe"]
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: sid, payload: .headers(.init(headers: headers, endStream: true)))), promise: nil)
        return StreamID(Int32(sid))
    }

    func sendPing() {
        guard let context, !closed else { return }
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream, payload: .ping(HTTP2PingData(withInteger: 0x7072_6f62_65), ack: false))), promise: nil)
    }

    func close() {
        guard let context, !closed else { return }
        context.close(promise: nil)
    }
}
