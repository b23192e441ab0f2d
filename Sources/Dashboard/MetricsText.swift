import Guard

/// The Prometheus text exposition (format 0.0.4) of one dashboard state.
enum MetricsText {
    static func render(_ state: DashboardState) -> String {
        var out = ""
        let guardState = state.guardState
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for sample in samples { out += sampleLine(name, sample.labels, sample.value) }
        }
        metric("guard_lines_total", "counter", "Access-log lines read.", [([], Double(guardState.lines))])
        metric("guard_bad_lines_total", "counter", "Malformed access-log lines counted and skipped.", [([], Double(guardState.badLines))])
        metric("guard_bans_active", "gauge", "Bans in force.", [([], Double(guardState.bans.count))])
        metric("guard_bans_total", "counter", "Bans since the daemon started, by the rule that decided them.",
               GuardRule.allCases.map { ([("reason", $0.rawValue)], Double(guardState.bansTotal[$0] ?? 0)) })
        metric("guard_global_rps", "gauge", "Requests per second over the global window.", [([], guardState.globalRPS)])
        metric("guard_baseline_mean", "gauge", "Learned mean of requests per second.", [([], guardState.baseline?.mean ?? .nan)])
        metric("guard_baseline_stddev", "gauge", "Learned standard deviation of requests per second.", [([], guardState.baseline?.stddev ?? .nan)])
        metric("guard_tracked_clients", "gauge", "Client addresses with a live window.", [([], Double(guardState.trackedClients))])
        let latency = guardState.detectionLatency
        out += "# HELP guard_detection_latency_seconds From the deciding line's timestamp to the ban in the firewall.\n"
        out += "# TYPE guard_detection_latency_seconds histogram\n"
        for (index, bound) in latency.bounds.enumerated() {
            out += sampleLine("guard_detection_latency_seconds_bucket", [("le", number(bound))], Double(latency.cumulative[index]))
        }
        out += sampleLine("guard_detection_latency_seconds_bucket", [("le", "+Inf")], Double(latency.count))
        out += sampleLine("guard_detection_latency_seconds_sum", [], latency.sum)
        out += sampleLine("guard_detection_latency_seconds_count", [], Double(latency.count))
        if let deploy = state.deploy {
            let tracks = deploy.tracks
            func labels(_ track: DeployView.TrackView) -> [(String, String)] { [("track", track.track), ("version", track.version)] }
            metric("swiftdeploy_track_requests_per_second", "gauge", "Requests per second per track, from the access log.",
                   tracks.map { (labels($0), $0.rps) })
            metric("swiftdeploy_track_error_rate", "gauge", "Share of 5xx answers per track over the analysis window.",
                   tracks.map { (labels($0), $0.errorRate ?? .nan) })
            metric("swiftdeploy_track_p99_latency_seconds", "gauge", "p99 latency per track over the analysis window.",
                   tracks.map { (labels($0), ($0.p99MS ?? .nan) / 1000) })
            metric("swiftdeploy_track_weight", "gauge", "Share of traffic routed to the track, percent.", tracks.map { (labels($0), Double($0.weight)) })
            metric("swiftdeploy_track_healthy", "gauge", "1 when the track's health check answers 200.", tracks.map { (labels($0), $0.healthy ? 1 : 0) })
            metric("swiftdeploy_policy_allow", "gauge", "1 when the policy allows, 0 when it blocks.",
                   deploy.policies.map { ([("policy", $0.policy)], $0.allow ? 1 : 0) })
        }
        return out
    }

    static func sampleLine(_ name: String, _ labels: [(String, String)], _ value: Double) -> String {
        let labelText = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
        return "\(name)\(labelText) \(number(value))\n"
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Label values escape backslash, double quote and newline.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
