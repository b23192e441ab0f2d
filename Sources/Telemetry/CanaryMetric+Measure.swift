import EdgeRules
import Foundation

/// Measuring a user's canary metric on what the edge saw: the canary's log entries, or two scrapes of its `/metrics`.
extension CanaryMetric {
    /// Over the canary's log entries in a window of `window` seconds; nil when it cannot be measured.
    public func measure(log entries: [AccessLogEntry], window: Double) -> Double? {
        func fields(_ entry: AccessLogEntry) -> [String: String] {
            let path = entry.uri.firstIndex(of: "?").map { String(entry.uri[..<$0]) } ?? entry.uri
            return ["method": entry.method, "path": path, "status": String(entry.status)]
        }
        let selected = entries.filter { Self.includes(fields($0), match) }
        let figure: Double?
        switch kind {
        case .count: figure = Double(selected.count)
        case .rate: figure = window > 0 ? Double(selected.count) / window : nil
        case .ratio: figure = selected.isEmpty ? nil : Double(selected.filter { Self.includes(fields($0), of) }.count) / Double(selected.count)
        case .quantile: figure = Quantile.nearestRank(selected.map { $0.requestTime * 1000 }, quantile)
        case .value: figure = nil
        }
        return figure.map { $0 * scale }
    }

    /// Between two scrapes of the canary's `/metrics` taken `seconds` apart; nil when it cannot be measured.
    public func measure(before: PrometheusText, after: PrometheusText, seconds: Double) -> Double? {
        guard let metric else { return nil }
        func increase(_ name: String, _ labels: [String: String]) -> Double {
            let now = Self.sum(after, name, labels), then = Self.sum(before, name, labels)
            return now >= then ? now - then : now  // a counter that went down was reset: it counted from zero
        }
        let figure: Double?
        switch kind {
        case .count: figure = increase(metric, match)
        case .rate: figure = seconds > 0 ? increase(metric, match) / seconds : nil
        case .ratio:
            let whole = increase(metric, match)
            figure = whole > 0 ? increase(metric, match.merging(of) { $1 }) / whole : nil
        case .quantile:
            let bucket = "\(metric)_bucket"
            let bounds = Set(after.samples.filter { $0.name == bucket && Self.includes($0.labels, match) }.compactMap { $0.labels["le"] })
            let buckets = bounds.compactMap { le -> (bound: Double, count: Double)? in
                guard let bound = le == "+Inf" ? Double.infinity : Double(le) else { return nil }
                return (bound, increase(bucket, match.merging(["le": le]) { $1 }))
            }
            figure = Quantile.fromHistogram(buckets, quantile)
        case .value:
            figure = after.samples.contains { $0.name == metric && Self.includes($0.labels, match) } ? Self.sum(after, metric, match) : nil
        }
        return figure.map { $0 * scale }
    }

    private static func sum(_ text: PrometheusText, _ name: String, _ conditions: [String: String]) -> Double {
        text.samples.reduce(0) { $0 + ($1.name == name && includes($1.labels, conditions) ? $1.value : 0) }
    }
}
