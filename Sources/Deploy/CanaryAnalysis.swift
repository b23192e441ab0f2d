import Foundation
import Manifest
import Policy
import Runtime
import Telemetry
import Vocabulary
import Web

/// The canary's live evidence: error rate and p99 per track from the nginx access log over the
/// policy window (no app instrumentation needed), plus the app's own Prometheus figures when it
/// exposes `/metrics`.
public struct CanaryAnalysis: Sendable {
    public struct TrackView: Sendable {
        public var stats: TrackStats
        /// From the app's /metrics, when it has one.
        public var appP99LatencyMS: Double?
        public var chaos: String?
    }

    public let manifest: Manifest

    public init(manifest: Manifest) { self.manifest = manifest }

    public var window: Double { manifest.policy.canarySafety.window.seconds }

    /// Stats per track from the access log, over the policy window ending now.
    public func logStats(now: Double = Date().timeIntervalSince1970) -> [Track: TrackStats] {
        TrackStats.compute(AccessLogWindow.recentEntries(path: manifest.guardSettings.log), now: now, window: window)
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

    /// Scrapes an instance's `/metrics`: p99 from its request histogram, and its chaos mode.
    public static func scrape(_ address: String) async -> (p99MS: Double?, chaos: String?) {
        guard let reply = try? await HTTP.get("http://\(address)/metrics", timeout: .seconds(1)), reply.status == 200,
              let text = try? PrometheusText(parsing: reply.text) else { return (nil, nil) }
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
