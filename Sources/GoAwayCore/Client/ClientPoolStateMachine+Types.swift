/// The vocabulary of `ClientPoolStateMachine`: connections, requests, endpoints and services as the
/// pool sees them, and the actions it returns.
extension ClientPoolStateMachine {
    /// A connection's state in the pool: opening, taking streams, going away (GOAWAY, max age, shutdown), gone.
    public enum ConnectionState: Hashable, Sendable { case connecting, active, draining, closed }

    /// One connection as the pool sees it.
    public struct Connection: Hashable, Sendable {
        /// Its id.
        public var id: ConnectionID
        /// The index of its endpoint.
        public var endpoint: Int
        /// Its state.
        public var state: ConnectionState
        /// Streams we may open: min(peer limit, cap), or the assumption while connecting.
        public var maxStreams: Int
        /// Requests on it now.
        public var inFlight: Set<RequestID>
        /// Streams ever handed to it.
        public var dispatched = 0
        /// The lowest last-stream-id received (a peer may not raise it; if it does we keep the lower).
        public var lastStreamID: StreamID?
        /// When the attempt began (its back-off delay included): a failing endpoint's circuit
        /// measures the connect budget from its first failed attempt's start.
        public var startedAt: Instant = .zero
        /// Its back-off delay runs: nothing is dialed yet (`connectDue` ends it). Always
        /// `connecting`: the pool drops such a connection when it gives it up (shutdown, its
        /// address left the answer), without a `.close`.
        public var backingOff = false
        /// Streams it can take now (0 unless active).
        public var available: Int { state == .active ? max(0, maxStreams - inFlight.count) : 0 }
    }

    struct Request: Hashable, Sendable {
        var idempotent: Bool
        var replayable: Bool
        var attempt = Attempt()
        var connection: ConnectionID?
        /// When the caller stops waiting: not-processed re-sends go on until then.
        var deadline: Instant?
        /// Why it was last sent back (its `notProcessed` reason if it runs out of time).
        var lastReason: ResendReason?
        /// Its response head arrived: its deadline no longer applies.
        var answered = false
    }

    struct Endpoint: Hashable, Sendable {
        var consecutiveFailures = 0
        /// Start of the first attempt of the current run of failures.
        var failingSince: Instant?
        /// The circuit is open: the endpoint failed `retry.maxAttempts` times in a row or for longer
        /// than the connect budget. While every endpoint's circuit is open and no connection is
        /// up, requests fail at once with the cause (gRPC's TRANSIENT_FAILURE) instead of queueing;
        /// one probe attempt at a time, with back-off, goes on while requests arrive.
        var circuitOpen = false
        /// The service (URL) it belongs to, and its address when the service's host name was resolved.
        var service = 0
        var address: String?
        /// Its address left the host's DNS answer: no new connections or streams; its connections
        /// drain and close. The slot is reused by the next new address.
        var retired = false
        var lastKnownMaxStreams: Int?
        /// Streams the endpoint's last GOAWAY'd connection had processed ((last-id + 1) / 2): servers
        /// that close a connection after N requests (nginx `keepalive_requests`, max-age) do it again.
        var streamsPerConnection: Int?
    }

    /// How a service (one URL of the client) turns into endpoints.
    public enum ServiceKind: Hashable, Sendable {
        /// One endpoint, no resolution (an IP literal, or a name the shell connects to as it is).
        case fixed
        /// A host name: its endpoints are the addresses of the latest answer (`addressesResolved`);
        /// the pool asks again (`.resolve`) when a connection of it is replaced after a GOAWAY or a
        /// failure.
        case resolved
    }

    struct Service: Hashable, Sendable {
        var kind: ServiceKind
        var resolving = false
        /// The latest resolution failed (or answered no address) and none succeeded since.
        var resolveFailed = false
        /// Endpoints whose GOAWAY'd connection waits for the re-resolution before it is replaced,
        /// so the replacement goes to the new answer (at most `replacementResolveBound`).
        var replacements: [Int] = []
        /// A GOAWAY'd connection's re-resolution is awaited: no new connection to the service
        /// until the answer, a failure, or `replacementDue`.
        var awaitingAnswer = false
    }

    /// What the shell does next, in order.
    public enum Action: Hashable, Sendable {
        /// Send the request on that connection (the shell opens the stream).
        case execute(RequestID, on: ConnectionID)
        /// Open a connection to endpoint index `endpoint`: at once when `delay` is zero, else call
        /// `connectDue` after `delay` (back-off), which says whether to open it then.
        case connect(ConnectionID, endpoint: Int, delay: Duration)
        /// Close the connection (drained, idle, or shutting down).
        case close(ConnectionID)
        /// Give up on the request.
        case fail(RequestID, RequestFailure)
        /// Resolve the service's host name; report with `addressesResolved` or `resolveFailed`.
        case resolve(service: Int)
        /// Call `replacementDue(service:)` after `delay`: replacements that wait for the service's
        /// re-resolution open then with the last known addresses if no answer came.
        case replacementDue(service: Int, after: Duration)
        /// The request went back to the queue (for events and metrics).
        case requeued(RequestID, ResendReason)
        /// Call `retryDue` for the request after `delay` (re-send back-off, or waiting for the
        /// retry budget).
        case retryAfter(RequestID, Duration)
        /// The keepalive interval changed (ENHANCE_YOUR_CALM "too_many_pings").
        case keepaliveChanged(Duration)
        /// Reset the request's stream on that connection (RST_STREAM CANCEL): the caller gave up.
        case cancelStream(RequestID, on: ConnectionID)
        /// Shutting down, and every connection is gone: `shutdown` is complete (once).
        case shutdownComplete
    }
}
