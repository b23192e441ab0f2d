import CoreMetrics
import Prometheus

/// The demo's own metrics: requests and their latency are recorded through swift-metrics, backed by
/// a swift-prometheus registry of this instance's own (no process-wide bootstrap, so tests can run
/// many instances), and exposed in Prometheus text format by that registry.
struct DemoMetrics: Sendable {
    /// Latency bucket bounds; wide enough to place a p99 anywhere up to 10 s.
    static let buckets: [Duration] = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                      .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10)]

    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let latency: CoreMetrics.Timer
    private let uptime: CoreMetrics.Gauge
    private let mode: CoreMetrics.Gauge
    private let chaos: CoreMetrics.Gauge

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = ["http_request_duration_seconds": Self.buckets]
        self.factory = factory
        latency = CoreMetrics.Timer(label: "http_request_duration_seconds", factory: factory)
        uptime = CoreMetrics.Gauge(label: "app_uptime_seconds", factory: factory)
        mode = CoreMetrics.Gauge(label: "app_mode", factory: factory)
        chaos = CoreMetrics.Gauge(label: "chaos_active", factory: factory)
    }

    func record(method: String, path: String, status: Int, seconds: Double) {
        CoreMetrics.Counter(label: "http_requests_total", dimensions: [("method", method), ("path", path), ("status_code", String(status))],
                factory: factory).increment()
        latency.recordNanoseconds(Int64((seconds * 1e9).rounded()))
    }

    /// The exposition, with the gauges set to now: uptime, track (0 stable, 1 canary), chaos (0 none, 1 slow, 2 error).
    func render(uptime seconds: Double, mode track: TrackMode, chaos fault: Chaos) -> String {
        uptime.record(seconds)
        mode.record(track.gaugeValue)
        chaos.record(fault.gaugeValue)
        return registry.emitToString()
    }
}
