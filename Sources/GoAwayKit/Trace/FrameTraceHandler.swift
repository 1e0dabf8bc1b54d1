import GoAwayCore
import NIOCore
import NIOHPACK

/// Traces every HTTP/2 frame of a connection at the byte level, both ways, and passes the bytes on
/// untouched.
///
/// Why bytes and not `HTTP2Frame`: swift-nio-http2's frames carry neither wire length nor flags,
/// and frames written below `NIOHTTP2Handler` (the server's raw GOAWAYs) never pass through it.
/// So this handler sits between `NIOHTTP2Handler` and the socket (above TLS), cuts each direction
/// into frames (`FrameSplitter`) and decodes header blocks with its own HPACK decoder per direction:
/// each direction has an independent HPACK context, so feeding a decoder the same blocks in the same
/// order reproduces the peer's table exactly. Parsing and formatting are in GoAwayCore.
public final class FrameTraceHandler: ChannelDuplexHandler, RemovableChannelHandler {
    /// Bytes from the socket (below TLS decryption: plaintext).
    public typealias InboundIn = ByteBuffer
    /// The same bytes, passed on unchanged.
    public typealias InboundOut = ByteBuffer
    /// Bytes `NIOHTTP2Handler` writes.
    public typealias OutboundIn = IOData
    /// The same bytes, passed on unchanged.
    public typealias OutboundOut = IOData

    /// Which side this connection is: the client sends the connection preface, the server reads it.
    public enum Role: Sendable {
        /// We opened the connection.
        case client
        /// We accepted it.
        case server
    }

    private let connection: Int
    private let trace: FrameTrace
    private var inbound: Direction
    private var outbound: Direction
    private var announced = false

    /// The state of one direction: byte splitter, HPACK context, a header block being assembled.
    struct Direction {
        let direction: TraceDirection
        var splitter: FrameSplitter
        var decoder: HPACKDecoder
        /// HEADERS/PUSH_PROMISE and its CONTINUATIONs, held until END_HEADERS so the fields print
        /// under the HEADERS line.
        var held: [(FrameTraceEvent, [UInt8])] = []
    }

    /// A handler tracing connection number `connection` into `trace`.
    public init(connection: Int, trace: FrameTrace, role: Role) {
        self.connection = connection
        self.trace = trace
        func decoder() -> HPACKDecoder {
            HPACKDecoder(allocator: ByteBufferAllocator(), maxDynamicTableSize: HPACKDecoder.maxDynamicTableSize, maxHeaderListSize: 1 << 20)
        }
        let preface = FrameSplitter.clientPreface.count
        inbound = Direction(direction: .received, splitter: FrameSplitter(prefaceLength: role == .server ? preface : 0), decoder: decoder())
        outbound = Direction(direction: .sent, splitter: FrameSplitter(prefaceLength: role == .client ? preface : 0), decoder: decoder())
    }

    /// The loop's time, so a test's loop drives the trace's timestamps.
    static func now(_ context: ChannelHandlerContext) -> Instant {
        Instant(nanoseconds: Int64(context.eventLoop.now.uptimeNanoseconds))
    }

    /// Reports the connection as open when added to an active channel.
    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { announce(context) }
    }

    /// Reports the connection as open.
    public func channelActive(context: ChannelHandlerContext) {
        announce(context)
        context.fireChannelActive()
    }

    private func announce(_ context: ChannelHandlerContext) {
        guard !announced else { return }
        announced = true
        let remote = context.channel.remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "?"
        trace.sink(FrameTraceEvent(connection: connection, time: Self.now(context), kind: .connected(remote: remote)))
    }

    /// Reports the connection as closed.
    public func channelInactive(context: ChannelHandlerContext) {
        trace.sink(FrameTraceEvent(connection: connection, time: Self.now(context), kind: .closed))
        context.fireChannelInactive()
    }

    /// Traces the frames in these bytes, then passes them on.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        process(buffer, &inbound, other: &outbound, now: Self.now(context))
        context.fireChannelRead(data)
    }

    /// Traces the frames in these bytes, then passes them on.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .byteBuffer(let buffer) = unwrapOutboundIn(data) {
            process(buffer, &outbound, other: &inbound, now: Self.now(context))
        }
        context.write(data, promise: promise)
    }

    private func process(_ buffer: ByteBuffer, _ d: inout Direction, other: inout Direction, now: Instant) {
        let frames = d.splitter.feed(buffer.readableBytesView)
        guard !frames.isEmpty else { return }
        for raw in frames {
            let frame = TracedFrame(direction: d.direction, raw: raw)
            let event = FrameTraceEvent(connection: connection, time: now, kind: .frame(frame))
            switch frame.payload {
            case .headers(let fragment), .pushPromise(_, let fragment), .continuation(let fragment):
                if case .continuation = frame.payload, d.held.isEmpty {
                    trace.sink(event)  // a stray CONTINUATION: shown, nothing to decode
                    continue
                }
                d.held.append((event, fragment))
                if raw.header.endHeaders { release(&d) }
            case .settings(let settings) where !raw.header.isAck:
                // The peer's HEADER_TABLE_SIZE bounds the other direction's encoder.
                for s in settings where s.id == .headerTableSize {
                    other.decoder.maxDynamicTableLength = Int(s.value)
                }
                trace.sink(event)
            default:
                trace.sink(event)
            }
        }
    }

    /// Decodes a complete header block and emits its frames, fields under the first.
    private func release(_ d: inout Direction) {
        var block = ByteBuffer(bytes: d.held.flatMap { $0.1 })
        var events = d.held.map { $0.0 }
        d.held.removeAll()
        guard case .frame(var first) = events[0].kind else { return }
        do {
            let headers = try d.decoder.decodeHeaders(from: &block)
            first.headerFields = headers.map { HeaderField($0.name, $0.value) }
        } catch {
            first.headerError = "\(error)"
        }
        events[0].kind = .frame(first)
        for e in events { trace.sink(e) }
    }
}
