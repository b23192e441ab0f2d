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

    /// Whether `labels` (a request's log fields or a series' labels) meet every condition.
    package static func includes(_ labels: [String: String], _ conditions: [String: String]) -> Bool {
        conditions.allSatisfy { key, pattern in labels[key].map { matches(pattern, $0) } ?? false }
    }
}
