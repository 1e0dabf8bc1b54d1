import GoAwayKit
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix

/// Serves a Hummingbird 2 router (any `HTTPResponder`) with GoAwayKit's `HTTP2Server`.
///
/// ```swift
/// let router = Router(context: GoAwayRequestContext.self)
/// router.get("/hello") { _, _ in "hello\n" }
/// let server = HTTP2Server(configuration: config, router: router)
/// try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm], logger: logger).run()
/// ```
///
/// Why the responder, not an `HTTPServerBuilder`: Hummingbird's `HTTPServerBuilder` only builds a
/// `ServerChildChannel` — a NIO pipeline run inside Hummingbird's own `Server`, which owns the
/// listener, the accept loop and graceful shutdown. Everything that makes a connection end without
/// losing a request lives in `HTTP2Server` around the pipeline: the bounded two-phase drain (GOAWAY
/// 2^31-1 + PING, at most `pingAckTimeout`, then the final GOAWAY and at most `drainGrace`), max age
/// with ±10% jitter, max requests per connection, idle timeout, the connection limit, hostile-peer
/// protections, `events`, `statistics` and metrics. Plugging the router in as the request handler
/// keeps all of it and adds nothing between the two: each HTTP/2 stream becomes one Hummingbird
/// `Request`, its body streams both ways with flow control, and the result is this same
/// `HTTP2Server`, a swift-service-lifecycle `Service`.
///
/// The request context: Hummingbird's `BasicRequestContext` is made from a NIO `Channel`, which a
/// GoAwayKit handler does not see. Use ``GoAwayRequestContext``, or any context whose `Source` is
/// ``GoAwayRequestContextSource`` (for a custom context, that is its one line to change).
///
/// Differences from Hummingbird's own server: errors that are not `HTTPResponseError` become a 500
/// (as in `Application`); no `Date` header is added; trailing headers passed to
/// `ResponseBodyWriter.finish(_:)` are not sent (GoAwayKit takes trailers with the response head).
extension HTTP2Server {
    /// A server answering every request with `responder` (e.g. `router.buildResponder()`).
    public convenience init<Responder: HTTPResponder>(
        configuration: Configuration = .defaults,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        responder: Responder,
        logger: Logger = Logger(label: "goaway.hummingbird", factory: { _ in SwiftLogNoOpLogHandler() })
    ) where Responder.Context: Hummingbird.RequestContext, Responder.Context.Source == GoAwayRequestContextSource {
        self.init(configuration: configuration, eventLoopGroup: eventLoopGroup) { head, body, connection in
            try await HummingbirdBridge.respond(responder, head: head, body: body, connection: connection, logger: logger)
        }
    }

    /// A server answering every request with the responder `router` builds.
    public convenience init<Builder: HTTPResponderBuilder>(
        configuration: Configuration = .defaults,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        router: Builder,
        logger: Logger = Logger(label: "goaway.hummingbird", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    where Builder.Responder.Context: Hummingbird.RequestContext, Builder.Responder.Context.Source == GoAwayRequestContextSource {
        let responder = router.buildResponder()
        self.init(configuration: configuration, eventLoopGroup: eventLoopGroup, responder: responder, logger: logger)
    }
}

enum HummingbirdBridge {
    static func respond<Responder: HTTPResponder>(
        _ responder: Responder, head: HTTPRequest, body: GoAwayKit.RequestBody, connection: GoAwayKit.RequestContext, logger: Logger
    ) async throws -> ServerResponse
    where Responder.Context: Hummingbird.RequestContext, Responder.Context.Source == GoAwayRequestContextSource {
        var logger = logger
        logger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
        let context = Responder.Context(source: GoAwayRequestContextSource(logger: logger, connection: connection))
        let request = Request(head: head, body: HummingbirdCore.RequestBody(asyncSequence: body))
        let response: Response
        do {
            response = try await responder.respond(to: request, context: context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            logger.debug("unrecognised error", metadata: ["error.type": "\(error)"])
            response = Response(status: .internalServerError)
        }
        var head = response.head
        if let length = response.body.contentLength, head.headerFields[.contentLength] == nil, length > 0 {
            head.headerFields[.contentLength] = String(length)
        }
        if response.body.contentLength == 0 {
            // Still run the body: a closure body may do work even when it writes nothing.
            try await response.body.write(DiscardingWriter())
            return ServerResponse(head)
        }
        let responseBody = response.body
        return ServerResponse(head, body: .stream { writer in
            try await responseBody.write(StreamWriter(writer: writer))
        })
    }
}

/// Hummingbird's body writer over GoAwayKit's: each write waits for the peer's flow-control window.
struct StreamWriter: HummingbirdCore.ResponseBodyWriter {
    let writer: GoAwayKit.ResponseBodyWriter
    mutating func write(_ buffer: ByteBuffer) async throws { try await writer.write(buffer) }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

struct DiscardingWriter: HummingbirdCore.ResponseBodyWriter {
    mutating func write(_ buffer: ByteBuffer) async throws {}
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// What a Hummingbird request context is made from when GoAwayKit serves the router: the request's
/// logger (with `hb.request.id`) and GoAwayKit's facts about its connection and stream.
public struct GoAwayRequestContextSource: RequestContextSource, Sendable {
    /// The request's logger.
    public var logger: Logger
    /// Connection id, stream id and addresses of the request.
    public var connection: GoAwayKit.RequestContext

    /// A source for one request.
    public init(logger: Logger, connection: GoAwayKit.RequestContext) {
        self.logger = logger
        self.connection = connection
    }
}

/// A ready-made Hummingbird request context for routers served by `HTTP2Server`: the equivalent of
/// `BasicRequestContext`, plus the connection's facts and the remote address (for
/// `TracingMiddleware`).
public struct GoAwayRequestContext: RemoteAddressRequestContext {
    /// Made from a ``GoAwayRequestContextSource`` (not a NIO `Channel`).
    public typealias Source = GoAwayRequestContextSource
    /// Hummingbird's per-request storage (parameters, endpoint path, logger).
    public var coreContext: CoreRequestContextStorage
    /// Connection id, stream id and addresses.
    public let connection: GoAwayKit.RequestContext

    /// Made by the server for each request.
    public init(source: GoAwayRequestContextSource) {
        self.coreContext = CoreRequestContextStorage(source: source)
        self.connection = source.connection
    }

    /// The peer's address.
    public var remoteAddress: SocketAddress? { connection.remoteAddress }
}
