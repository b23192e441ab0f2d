import Foundation
import Manifest
import Policy
import Runtime
import Telemetry
import Vocabulary
import Web

/// Where a promotion reads the canary's live figures: the edge's access log and the app's
/// `/metrics` for a real stack (`CanaryAnalysis`), a script in tests.
public protocol CanaryEvidence: Sendable {
    /// Reads the canary's `/metrics` now: the start of an interval its Prometheus figures are measured over.
    func scrape(_ canary: StackState.TrackRecord) async -> CanaryAnalysis.Scrape
    /// The canary_safety input over the window ending now (Prometheus figures since `since`), and
    /// the scrape it ended with.
    func input(_ canary: StackState.TrackRecord, since: CanaryAnalysis.Scrape?) async -> (input: JSONValue, scrape: CanaryAnalysis.Scrape)
}

/// The canary's live evidence: error rate and p99 per track from the nginx access log over the
/// policy window (no app instrumentation needed), plus the app's own Prometheus figures when it
/// exposes `/metrics`.
public struct CanaryAnalysis: CanaryEvidence {
    public let manifest: Manifest
    /// The stack's edge log, where its runtime's nginx writes it.
    public let accessLog: String

    public init(manifest: Manifest, accessLog: String) {
        self.manifest = manifest
        self.accessLog = accessLog
    }

    public var window: Double { manifest.policy.canarySafety.window.seconds }

    /// Stats per track from the access log, over the policy window ending now.
    public func logStats(now: Double = Date().timeIntervalSince1970) -> [Track: TrackStats] {
        TrackStats.compute(AccessLogWindow.recentEntries(path: accessLog), now: now, window: window)
    }

    public func scrape(_ canary: StackState.TrackRecord) async -> Scrape { await Self.scrape(canary.address) }

    public func input(_ canary: StackState.TrackRecord, since: Scrape?) async -> (input: JSONValue, scrape: Scrape) {
        await canaryInput(address: canary.address, since: since, probe: min(manifest.policy.canarySafety.interval, .seconds(5)))
    }

    /// The `canary_safety` input for these stats.
    public static func input(_ stats: TrackStats, app: Double? = nil) -> JSONValue {
        var input: JSONValue = [
            "error_rate": .measured(stats.errorRate),
            "p99_latency_ms": .measured(stats.p99LatencyMS ?? 0),
            "requests": .number(Double(stats.requests)),
            "window_s": .number(stats.window),
        ]
        if let app, case .object(var object) = input {
            object["app_p99_latency_ms"] = .measured(app)
            input = .object(object)
        }
        return input
    }

    /// One reading of an instance's `/metrics` and when it was taken; two of them measure the
    /// counters and histograms of Prometheus metrics over the time between.
    public struct Scrape: Sendable {
        public let text: PrometheusText?
        public let at: ContinuousClock.Instant

        /// The app's p99 from its request histogram, and its chaos mode.
        public var app: (p99MS: Double?, chaos: String?) {
            guard let text else { return (nil, nil) }
            let buckets = text.matching("http_request_duration_seconds_bucket").compactMap { sample -> (bound: Double, count: Double)? in
                guard let le = sample.labels["le"] else { return nil }
                let bound = le == "+Inf" ? Double.infinity : Double(le)
                return bound.map { ($0, sample.value) }
            }
            let modes = ["none", "slow", "error"]
            let chaos = text.value("chaos_active").map { value in Int(exactly: value).flatMap { modes.indices.contains($0) ? modes[$0] : nil } ?? "unknown" }
            return (Quantile.fromHistogram(buckets, 0.99).map { $0 * 1000 }, chaos)
        }
    }

    /// Reads an instance's `/metrics` (nil text when it has none or it does not answer).
    public static func scrape(_ address: String) async -> Scrape {
        let reply = try? await HTTP.get("http://\(address)/metrics", timeout: .seconds(1))
        let text = reply.flatMap { $0.status == 200 ? try? PrometheusText(parsing: $0.text) : nil }
        return Scrape(text: text, at: .now)
    }

    /// The whole canary_safety input for the canary at `address`: the log's figures over the window
    /// ending now, its app's p99, and the user's metrics under `metrics` (null when unmeasurable).
    /// Prometheus metrics are measured from `since` to now; without it, over `probe` from now.
    /// Returns the scrape it ended with, the start of the next interval.
    public func canaryInput(address: String, since: Scrape? = nil, probe: Duration = .seconds(5)) async -> (input: JSONValue, scrape: Scrape) {
        let metrics = manifest.policy.canarySafety.metrics
        var first = since
        if first == nil, metrics.contains(where: { $0.source == .prometheus }) {
            first = await Self.scrape(address)
            try? await Task.sleep(for: probe)
        }
        let latest = await Self.scrape(address)
        let now = Date().timeIntervalSince1970
        let entries = AccessLogWindow.recentEntries(path: accessLog)
            .filter { $0.track == .canary && $0.timestamp > now - window && $0.timestamp <= now }
        let stats = TrackStats.compute(entries, now: now, window: window)[.canary] ?? TrackStats(requests: 0, serverErrors: 0, p99LatencyMS: nil, window: window)
        var input = Self.input(stats, app: latest.app.p99MS)
        if !metrics.isEmpty, case .object(var object) = input {
            var measured: [String: JSONValue] = [:]
            for metric in metrics {
                let figure: Double? = switch metric.source {
                case .log: metric.measure(log: entries, window: window)
                case .prometheus:
                    first.flatMap { first in
                        guard let before = first.text, let after = latest.text else { return nil }
                        return metric.measure(before: before, after: after, seconds: (latest.at - first.at).seconds)
                    }
                }
                measured[metric.name] = figure.map(JSONValue.measured) ?? .null
            }
            object["metrics"] = .object(measured)
            input = .object(object)
        }
        return (input, latest)
    }
}
