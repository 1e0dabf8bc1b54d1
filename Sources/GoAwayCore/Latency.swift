/// Latency summaries shared by `goaway load` and `goaway drill`.
public enum Latency {
    /// Nearest-rank percentile of sorted nanosecond samples, in milliseconds (0 for no samples).
    public static func percentileMs(_ sorted: [Int64], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return Double(sorted[min(sorted.count - 1, max(0, rank - 1))]) / 1e6
    }
}
