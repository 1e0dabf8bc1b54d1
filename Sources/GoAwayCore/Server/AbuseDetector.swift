/// Frames the peer sent that the protections count. The shell bumps these integers as frames
/// arrive (no clock, no allocation); the detector reads them once per read batch.
public struct PeerFrameCounts: Sendable, Hashable {
    /// PING frames (acks included).
    public var pings = 0
    /// SETTINGS frames (acks included).
    public var settings = 0
    /// PRIORITY frames.
    public var priorities = 0
    /// WINDOW_UPDATE frames, on any stream.
    public var windowUpdates = 0
    /// RST_STREAM frames.
    public var resets = 0
    /// Counts, all zero by default.
    public init(pings: Int = 0, settings: Int = 0, priorities: Int = 0, windowUpdates: Int = 0, resets: Int = 0) {
        self.pings = pings
        self.settings = settings
        self.priorities = priorities
        self.windowUpdates = windowUpdates
        self.resets = resets
    }
}

/// A limit swift-nio-http2 enforced; the shell names it from the error type NIOHTTP2Handler raised.
public enum LibraryLimit: Sendable, Hashable, CaseIterable {
    /// `ExcessiveRSTFrames`
    case resetFrames
    /// `ExcessiveStreamErrors`
    case streamErrors
    /// `ExcessiveNumberOfGlitches`
    case glitches
    /// `ExcessiveControlFrames` (PING, SETTINGS, PRIORITY, ALTSVC, ORIGIN together)
    case controlFrames
    /// `ExcessiveOutboundFrameBuffering`: control-frame replies pile up because the peer does not read.
    case outboundBuffering
    /// `ExcessiveContinuationFrames`
    case continuationFrames
    /// `ExcessiveEmptyDataFrames`
    case emptyDataFrames
    /// `ExcessivelyLargeHeaderBlock`
    case headerBlockTooLarge
}

/// Decides when a peer is abusing the connection. A value type: counts and instants in, a
/// `ShutdownReason` (the GOAWAY's debug-data token) out. Owned by `ServerConnectionStateMachine`,
/// which turns a verdict into "GOAWAY(highest stream, code, token), close".
///
/// ```
///   frames ──(shell counts)──► readBatchEnded ──► window-update budget exceeded? ──► abuse
///   scanner: mid-frame / header block open at batch end ──► header timer armed (if not)
///   header timer ──► still waiting and no frame completed for headerTimeout? ──► abuse
///   stall timer ──► responses blocked at two checks in a row with no progress? ──► abuse
///   NIOHTTP2Handler error ──► libraryLimit ──► reason by frame counts ──► abuse
///   stream error (ours or swift-nio-http2's) ──► over streamErrorRateLimit or the glitches? ──► abuse
/// ```
public struct AbuseDetector: Sendable {
    /// The limits it enforces.
    public let policy: ServerProtectionPolicy
    /// Streams the peer opened (the WINDOW_UPDATE budget grows with them).
    public private(set) var streamsOpened = 0
    /// DATA writes and bytes we sent (the WINDOW_UPDATE budget grows with them).
    public private(set) var dataWritesSent = 0
    /// DATA payload bytes we sent.
    public private(set) var dataBytesSent = 0
    /// When a frame last completed (or the connection started): the header timeout counts from here.
    private var lastFrameCompleted: Instant
    private var framesCompletedSeen = 0
    private(set) var headerTimerArmed = false
    /// What the last stall check saw: blocked responses and the progress counter then.
    private var stallSnapshot: (blocked: Bool, progress: Int) = (false, 0)
    private(set) var stallTimerArmed = false
    /// When the stream errors of the last `streamErrorRateLimit.window` happened (allocated on the
    /// first error: most connections never have one), and how many over the connection's life.
    private var recentStreamErrors = RecentEvents()
    /// Stream errors over the connection's life: malformed requests we reset and the ones swift-nio-http2 reported.
    public private(set) var streamErrors = 0

    /// A detector for a connection that starts at `now`.
    public init(policy: ServerProtectionPolicy, now: Instant) {
        self.policy = policy
        self.lastFrameCompleted = now
    }

    /// Whether the shell arms a timer for the detector.
    public enum TimerAction: Sendable, Equatable {
        case none
        case schedule(Instant)
    }

    /// The connection started: it waits for the preface.
    public mutating func started(now: Instant) -> TimerAction {
        guard let timeout = policy.headerTimeout else { return .none }
        headerTimerArmed = true
        return .schedule(now + timeout)
    }

    /// The peer opened a stream; arms the stall check (`sendStallTimeout`) if it is not armed.
    public mutating func streamOpened(now: Instant) -> TimerAction {
        streamsOpened += 1
        guard let timeout = policy.sendStallTimeout, !stallTimerArmed else { return .none }
        stallTimerArmed = true
        stallSnapshot = (false, 0)
        return .schedule(now + timeout)
    }

    /// We wrote a DATA frame of `bytes`.
    public mutating func dataSent(bytes: Int) {
        dataWritesSent += 1
        dataBytesSent += bytes
    }

    /// WINDOW_UPDATE frames an honest peer could have sent so far; `nil` when unlimited.
    public var windowUpdateBudget: Int? {
        guard let allowance = policy.windowUpdateAllowance else { return nil }
        let frames = dataWritesSent + dataBytesSent / 16384
        return allowance + 2 * streamsOpened + policy.windowUpdatesPerDataFrame * frames
    }

    /// What the end of a read batch leads to: nothing, the header timer, or an abuse verdict.
    public enum OnReadBatch: Sendable, Equatable {
        case none
        case scheduleHeaderTimer(at: Instant)
        case abuse(ShutdownReason)
    }

    /// End of one read batch. `waitingForFrame`: the bytes end inside a frame or an open header
    /// block (or before the preface is complete). `framesCompleted`: the scanner's running count.
    public mutating func readBatchEnded(counts: PeerFrameCounts, waitingForFrame: Bool, framesCompleted: Int, now: Instant) -> OnReadBatch {
        if let budget = windowUpdateBudget, counts.windowUpdates > budget {
            return .abuse(.windowUpdateAbuse)
        }
        if framesCompleted != framesCompletedSeen {
            framesCompletedSeen = framesCompleted
            lastFrameCompleted = now
        }
        // The timer is left armed when the wait ends: it re-checks when it fires, which costs one
        // wake-up instead of a cancel and a re-arm per batch.
        guard waitingForFrame, !headerTimerArmed, let timeout = policy.headerTimeout else { return .none }
        headerTimerArmed = true
        return .scheduleHeaderTimer(at: lastFrameCompleted + timeout)
    }

    /// What a fired timer leads to: nothing, another check at an instant, or an abuse verdict.
    public enum OnTimer: Sendable, Equatable {
        case none
        case schedule(Instant)
        case abuse(ShutdownReason)
    }

    /// The header timer fired: abuse when the connection still waits inside a frame (or the preface)
    /// and no frame completed for `headerTimeout`; else a later check or nothing.
    public mutating func headerTimerFired(waitingForFrame: Bool, now: Instant) -> OnTimer {
        headerTimerArmed = false
        guard waitingForFrame, let timeout = policy.headerTimeout else { return .none }
        let due = lastFrameCompleted + timeout
        if now < due {
            headerTimerArmed = true
            return .schedule(due)
        }
        return .abuse(.headerTimeout)
    }

    /// `blocked`: responses waiting on the peer (a write not yet taken, or a finished response whose
    /// stream has not closed). `progress`: the shell's running count of such waits that ended.
    /// Stalled when blocked at two checks in a row with no progress between them.
    public mutating func stallTimerFired(blocked: Int, progress: Int, openStreams: Int, now: Instant) -> OnTimer {
        stallTimerArmed = false
        guard let timeout = policy.sendStallTimeout else { return .none }
        if blocked > 0, stallSnapshot.blocked, stallSnapshot.progress == progress {
            return .abuse(.sendTimeout)
        }
        stallSnapshot = (blocked > 0, progress)
        guard openStreams > 0 else { return .none }
        stallTimerArmed = true
        return .schedule(now + timeout)
    }

    /// A stream error the peer caused: a malformed header block we reset (the server checks
    /// request headers itself, so swift-nio-http2 no longer counts them), or one swift-nio-http2
    /// reset. Counted as swift-nio-http2 counts its own, with the same limits: more than
    /// `streamErrorRateLimit.maximumCount` within its window (MadeYouReset), or more than
    /// `maximumConnectionGlitches` over the connection's life, is `rapid_reset`. swift-nio-http2
    /// still counts the errors it finds: those hit whichever count is reached first.
    public mutating func streamError(now: Instant) -> ShutdownReason? {
        streamErrors += 1
        if streamErrors > policy.maximumConnectionGlitches { return .rapidReset }
        let limit = policy.streamErrorRateLimit
        return recentStreamErrors.record(now, within: limit.window) > limit.maximumCount ? .rapidReset : nil
    }

    /// Instants of recent events, oldest first: a sliding-window count.
    struct RecentEvents: Sendable {
        private var instants: [Instant] = []
        private var start = 0

        /// Records `now`, forgets those more than `window` before it; the count left.
        mutating func record(_ now: Instant, within window: Duration) -> Int {
            while start < instants.count, now - instants[start] > window { start += 1 }
            if start > 32, start * 2 > instants.count {
                instants.removeFirst(start)
                start = 0
            }
            instants.append(now)
            return instants.count - start
        }
    }

    /// Which token a swift-nio-http2 limit becomes. Control-frame limits are named after the frame
    /// the peer sent most of (swift-nio-http2 counts them together).
    public static func reason(for limit: LibraryLimit, counts: PeerFrameCounts) -> ShutdownReason {
        switch limit {
        case .resetFrames, .streamErrors, .glitches: .rapidReset
        case .continuationFrames: .continuationFlood
        case .emptyDataFrames: .emptyFrames
        case .headerBlockTooLarge: .headerListSize
        case .controlFrames, .outboundBuffering:
            if counts.priorities > counts.pings && counts.priorities > counts.settings {
                .priorityFlood
            } else if counts.settings > counts.pings {
                .settingsFlood
            } else {
                .pingFlood
            }
        }
    }
}
