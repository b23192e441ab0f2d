/// The demo's own request counters and latency histogram, rendered in Prometheus text format.
struct DemoMetrics: Sendable {
    /// Upper bounds in seconds; wide enough to place a p99 anywhere up to 10 s.
    static let buckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct RequestKey: Hashable, Comparable {
        let method: String
        let path: String
        let status: Int
        static func < (a: Self, b: Self) -> Bool { (a.path, a.method, a.status) < (b.path, b.method, b.status) }
    }

    private(set) var requests: [RequestKey: Int] = [:]
    private(set) var bucketCounts = [Int](repeating: 0, count: buckets.count)
    private(set) var durationCount = 0
    private(set) var durationSum = 0.0

    mutating func record(method: String, path: String, status: Int, seconds: Double) {
        requests[RequestKey(method: method, path: path, status: status), default: 0] += 1
        for (index, bound) in Self.buckets.enumerated() where seconds <= bound {
            bucketCounts[index] += 1
        }
        durationCount += 1
        durationSum += seconds
    }

    func render(uptime: Double, mode: TrackMode, chaos: Chaos) -> String {
        var out = ""
        out += "# HELP http_requests_total Application requests served, by method, path and status code.\n"
        out += "# TYPE http_requests_total counter\n"
        for key in requests.keys.sorted() {
            out += "http_requests_total{method=\"\(key.method)\",path=\"\(key.path)\",status_code=\"\(key.status)\"} \(requests[key]!)\n"
        }
        out += "# HELP http_request_duration_seconds Application request latency.\n"
        out += "# TYPE http_request_duration_seconds histogram\n"
        for (index, bound) in Self.buckets.enumerated() {
            out += "http_request_duration_seconds_bucket{le=\"\(format(bound))\"} \(bucketCounts[index])\n"
        }
        out += "http_request_duration_seconds_bucket{le=\"+Inf\"} \(durationCount)\n"
        out += "http_request_duration_seconds_sum \(durationSum)\n"
        out += "http_request_duration_seconds_count \(durationCount)\n"
        out += "# HELP app_uptime_seconds Seconds since the service started.\n"
        out += "# TYPE app_uptime_seconds gauge\n"
        out += "app_uptime_seconds \(uptime)\n"
        out += "# HELP app_mode Traffic track: 0 stable, 1 canary.\n"
        out += "# TYPE app_mode gauge\n"
        out += "app_mode \(mode.gaugeValue)\n"
        out += "# HELP chaos_active Injected fault: 0 none, 1 slow, 2 error.\n"
        out += "# TYPE chaos_active gauge\n"
        out += "chaos_active \(chaos.gaugeValue)\n"
        return out
    }

    private func format(_ bound: Double) -> String {
        bound == bound.rounded() ? String(Int(bound)) : String(bound)
    }
}
