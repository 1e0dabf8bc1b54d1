/// What happened during one phase, on a time axis (milliseconds from the phase start): one lane per
/// client connection (open, GOAWAYs, close), the re-sends, the losses, the fleet's steps and the
/// throughput. Built from the client's events by `apply(_:atMs:)`; drawn by `renderHTML()`.
package struct DrillTimeline: Sendable, Hashable, Codable {
    package struct Lane: Sendable, Hashable, Codable {
        package var connection: Int
        package var endpoint: String
        package var openedMs: Double
        /// Every GOAWAY the connection received, in order: the first is the notice (last id
        /// 2^31-1 in a two-phase drain), the last the final one.
        package var goAways: [GoAwayMark] = []
        package var closedMs: Double?
        package init(connection: Int, endpoint: String, openedMs: Double) {
            self.connection = connection
            self.endpoint = endpoint
            self.openedMs = openedMs
        }
    }

    package struct GoAwayMark: Sendable, Hashable, Codable {
        package var atMs: Double
        package var code: String
        package var lastStreamID: Int32
        package init(atMs: Double, code: String, lastStreamID: Int32) {
            self.atMs = atMs
            self.code = code
            self.lastStreamID = lastStreamID
        }
        /// `lastStreamID == 2^31-1`: a drain's first notice, not the final word.
        package var isNotice: Bool { lastStreamID == Int32.max }
    }

    /// A point in time with a label (a re-send's reason, a lost request's fate, a fleet step).
    package struct Mark: Sendable, Hashable, Codable {
        package var atMs: Double
        package var label: String
        package init(atMs: Double, label: String) {
            self.atMs = atMs
            self.label = label
        }
    }

    package enum Event: Sendable, Hashable {
        case opened(connection: Int, endpoint: String)
        case goAway(connection: Int, code: String, lastStreamID: Int32)
        case closed(connection: Int)
        case resent(reason: String)
        case step(String)
    }

    package var lanes: [Lane] = []
    package var resends: [Mark] = []
    package var losses: [Mark] = []
    package var steps: [Mark] = []
    /// Requests that ended (answered or failed) per `bucketMs`, from the phase start.
    package var throughput: [Int] = []
    package var bucketMs: Double = 100
    package var durationMs: Double = 0

    package init() {}

    package mutating func apply(_ event: Event, atMs: Double) {
        switch event {
        case .opened(let id, let endpoint):
            lanes.append(Lane(connection: id, endpoint: endpoint, openedMs: atMs))
        case .goAway(let id, let code, let last):
            if let i = lanes.lastIndex(where: { $0.connection == id }) {
                lanes[i].goAways.append(GoAwayMark(atMs: atMs, code: code, lastStreamID: last))
            }
        case .closed(let id):
            if let i = lanes.lastIndex(where: { $0.connection == id }), lanes[i].closedMs == nil {
                lanes[i].closedMs = atMs
            }
        case .resent(let reason):
            resends.append(Mark(atMs: atMs, label: reason))
        case .step(let label):
            steps.append(Mark(atMs: atMs, label: label))
        }
        durationMs = max(durationMs, atMs)
    }

    /// Counts `endsMs` (when each request ended) into buckets of `bucketMs`.
    package mutating func setThroughput(endsMs: [Double], bucketMs: Double = 100) {
        self.bucketMs = bucketMs
        let last = endsMs.max() ?? 0
        durationMs = max(durationMs, last)
        var buckets = [Int](repeating: 0, count: Int(durationMs / bucketMs) + 1)
        for t in endsMs where t >= 0 { buckets[min(buckets.count - 1, Int(t / bucketMs))] += 1 }
        throughput = buckets
    }

    /// Requests per second of each bucket.
    package var ratePerSecond: [Double] { throughput.map { Double($0) * 1000 / bucketMs } }
}
