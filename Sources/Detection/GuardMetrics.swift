import Prometheus

/// What the guard measures as it runs, for Prometheus (swift-prometheus): figures that cannot be
/// read back from a snapshot, such as how long a ban took from the deciding line to the firewall.
public final class GuardMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// From the deciding line's timestamp to the ban in the firewall.
    public let detectionLatency: DurationHistogram

    public init() {
        detectionLatency = registry.makeDurationHistogram(
            name: "guard_detection_latency_seconds",
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5)],
            help: "From the deciding line's timestamp to the ban in the firewall.")
    }

    /// Records one ban's detection latency.
    public func observeDetection(seconds: Double) {
        detectionLatency.record(.nanoseconds(Int64((max(0, seconds) * 1e9).rounded())))
    }
}
