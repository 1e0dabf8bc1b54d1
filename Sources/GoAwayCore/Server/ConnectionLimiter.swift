/// Decides what a new connection over `maxConnections` costs: an idle connection, or itself.
///
/// Shedding the oldest idle connection first (a graceful drain, NO_ERROR `max_connections`) keeps
/// serving the peer that is here now and costs nobody a request: an idle connection has none in
/// flight. Only when every connection is busy is the new one refused (GOAWAY ENHANCE_YOUR_CALM
/// `max_connections`, last-stream-id 0: nothing was processed, the client may retry elsewhere).
public enum ConnectionLimiter {
    /// One open connection as the server's registry sees it.
    public struct Connection: Sendable, Hashable {
        /// The server's id for the connection (grows with accept time).
        public var id: Int
        /// No open stream.
        public var idle: Bool
        /// Already draining or shed: shedding it again frees nothing new.
        public var leaving: Bool
        /// A connection as the registry sees it.
        public init(id: Int, idle: Bool, leaving: Bool) {
            self.id = id
            self.idle = idle
            self.leaving = leaving
        }
    }

    /// What to do with the new connection.
    public enum Decision: Sendable, Equatable {
        case accept
        /// Accept the new connection and drain this idle one.
        case shed(id: Int)
        /// Refuse the new connection.
        case refuse
    }

    /// `open`: the connections open before `newID`, in any order. Ids grow with accept time, so the
    /// smallest idle id is the oldest idle connection.
    public static func connectionAccepted(newID: Int, open: [Connection], maxConnections: Int?) -> Decision {
        guard let max = maxConnections else { return .accept }
        let staying = open.lazy.filter { !$0.leaving && $0.id != newID }.count
        if staying + 1 <= max { return .accept }
        let victim = open.filter { $0.idle && !$0.leaving && $0.id != newID }.min { $0.id < $1.id }
        if let victim { return .shed(id: victim.id) }
        return .refuse
    }
}
