import Foundation

/// A measurement a user adds to the canary analysis (`canary_safety.metrics`, after Flagger's metric
/// templates): computed on the canary's own requests over the analysis window, from the edge's log
/// or from the app's Prometheus `/metrics`, and handed to the policy as `input.metrics.NAME`, where
/// the default policy holds it to `min`/`max` and a user's Rego may use it any way.
public struct CanaryMetric: Sendable, Equatable {
    public enum Source: String, Sendable, CaseIterable {
        /// nginx's JSON access log: the canary track's requests in the window.
        case log
        /// The canary instance's `/metrics`: counters and histograms over the analysis interval.
        case prometheus
    }

    public enum Kind: String, Sendable, CaseIterable {
        /// Matching requests (log) or counter increase (prometheus).
        case count
        /// The count per second.
        case rate
        /// The share of the matching requests (or series) that also match `of`; no requests: unmeasured.
        case ratio
        /// A quantile of request_time in ms (log) or of a histogram (prometheus).
        case quantile
        /// A gauge's current value (prometheus).
        case value
    }

    public var name: String
    public var source: Source
    public var kind: Kind
    /// prometheus: the metric's name (for a quantile, the histogram's, without `_bucket`).
    public var metric: String?
    /// Which requests or series: log fields `method`, `path`, `status`; prometheus labels.
    public var match: [String: String]
    /// ratio: the further conditions of the numerator.
    public var of: [String: String]
    public var quantile: Double
    /// The figure is multiplied by this (1000 turns a histogram in seconds into ms).
    public var scale: Double
    public var min: Double?
    public var max: Double?

    public init(name: String, source: Source = .log, kind: Kind, metric: String? = nil, match: [String: String] = [:], of: [String: String] = [:],
                quantile: Double = 0.99, scale: Double = 1, min: Double? = nil, max: Double? = nil) {
        (self.name, self.source, self.kind, self.metric, self.match, self.of) = (name, source, kind, metric, match, of)
        (self.quantile, self.scale, self.min, self.max) = (quantile, scale, min, max)
    }

    /// The log fields a log metric may match on.
    public static let logFields = ["method", "path", "status"]

    /// `pattern` against a value: equal; a prefix when it ends in `*` (`/api/*`); a status class
    /// when it is a digit and `xx` (`5xx`).
    public static func matches(_ pattern: String, _ value: String) -> Bool {
        if pattern.hasSuffix("*") { return value.hasPrefix(pattern.dropLast()) }
        if pattern.count == 3, pattern.hasSuffix("xx"), let first = pattern.first, first.isNumber { return value.count == 3 && value.first == first }
        return pattern == value
    }

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

    static func includes(_ labels: [String: String], _ conditions: [String: String]) -> Bool {
        conditions.allSatisfy { key, pattern in labels[key].map { matches(pattern, $0) } ?? false }
    }

    static func sum(_ text: PrometheusText, _ name: String, _ conditions: [String: String]) -> Double {
        text.samples.reduce(0) { $0 + ($1.name == name && includes($1.labels, conditions) ? $1.value : 0) }
    }
}
