import Foundation
import Vocabulary

/// What one traffic track did over a window of the access log: the canary analysis' evidence.
public struct TrackStats: Sendable, Equatable {
    public var requests: Int
    public var serverErrors: Int
    /// Nearest-rank 99th percentile of request_time, in milliseconds; nil without requests.
    public var p99LatencyMS: Double?
    public var window: Double

    public init(requests: Int, serverErrors: Int, p99LatencyMS: Double?, window: Double) {
        self.requests = requests
        self.serverErrors = serverErrors
        self.p99LatencyMS = p99LatencyMS
        self.window = window
    }

    public var errorRate: Double { requests == 0 ? 0 : Double(serverErrors) / Double(requests) }
    public var requestsPerSecond: Double { window > 0 ? Double(requests) / window : 0 }

    /// Stats per track from entries whose timestamp is within `window` seconds before `now`.
    public static func compute(_ entries: [AccessLogEntry], now: Double, window: Double) -> [Track: TrackStats] {
        var latencies: [Track: [Double]] = [:]
        var errors: [Track: Int] = [:]
        for entry in entries where entry.timestamp > now - window && entry.timestamp <= now {
            guard let track = entry.track else { continue }
            latencies[track, default: []].append(entry.requestTime * 1000)
            if entry.status >= 500 { errors[track, default: 0] += 1 }
        }
        var stats: [Track: TrackStats] = [:]
        for track in Track.allCases {
            let values = latencies[track] ?? []
            stats[track] = TrackStats(requests: values.count, serverErrors: errors[track] ?? 0,
                                      p99LatencyMS: Quantile.nearestRank(values, 0.99), window: window)
        }
        return stats
    }
}

/// Percentiles that are real order statistics, not means.
public enum Quantile {
    /// Nearest-rank percentile: the smallest value with at least `q` of the values at or below it.
    public static func nearestRank(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }

    /// Prometheus `histogram_quantile`: linear interpolation inside the bucket holding the rank.
    /// `buckets` are (upper bound, cumulative count) pairs, +Inf last.
    public static func fromHistogram(_ buckets: [(bound: Double, count: Double)], _ q: Double) -> Double? {
        let sorted = buckets.sorted { $0.bound < $1.bound }
        guard let total = sorted.last?.count, total > 0 else { return nil }
        let rank = q * total
        var lowerBound = 0.0, lowerCount = 0.0
        for bucket in sorted {
            if bucket.count >= rank {
                if bucket.bound.isInfinite { return lowerBound }
                let inBucket = bucket.count - lowerCount
                return inBucket <= 0 ? bucket.bound : lowerBound + (bucket.bound - lowerBound) * (rank - lowerCount) / inBucket
            }
            lowerBound = bucket.bound
            lowerCount = bucket.count
        }
        return sorted.last?.bound
    }
}

/// Reads the recent end of an access log: enough lines to cover a window, never the whole file.
public enum AccessLogWindow {
    /// Entries from the last `maxBytes` of the file that parse as JSON log lines.
    public static func recentEntries(path: String, maxBytes: Int = 32 << 20) -> [AccessLogEntry] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let start = size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0
        try? handle.seek(toOffset: start)
        guard let data = try? handle.readToEnd() else { return [] }
        var entries: [AccessLogEntry] = []
        data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            // A chunk that starts mid-file starts mid-line: skip to the first full line.
            let first = start > 0 ? LineSplitter.newline(in: bytes, from: 0).map { $0 + 1 } ?? bytes.count : 0
            _ = LineSplitter.lines(in: UnsafeBufferPointer(rebasing: bytes[first...])) { line in
                if let entry = JSONLogLine.parse(line) { entries.append(entry) }
            }
        }
        return entries
    }
}
