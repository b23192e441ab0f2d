import Detection
import Prometheus

/// The Prometheus text exposition (format 0.0.4) of one dashboard state, by swift-prometheus: the
/// state's figures go into a registry made for this scrape (a scrape shows the state as of now,
/// counters included, since the snapshot holds their totals), then the guard's live histograms.
enum MetricsText {
    static func render(_ state: DashboardState, live: GuardMetrics) -> String {
        let registry = PrometheusCollectorRegistry()
        let guardState = state.guardState
        func gauge(_ name: String, _ help: String, _ value: Double, _ labels: [(String, String)] = []) {
            registry.makeGauge(name: name, labels: labels, help: help).set(to: value)
        }
        registry.makeCounter(name: "guard_lines_total", labels: [], help: "Access-log lines read.").increment(by: Int64(guardState.lines))
        registry.makeCounter(name: "guard_bad_lines_total", labels: [], help: "Malformed access-log lines counted and skipped.")
            .increment(by: Int64(guardState.badLines))
        gauge("guard_bad_lines_ratio", "Share of the last minute's access-log lines that were malformed.", guardState.badLinesRatio)
        for (name, value, help) in [
            ("guard_late_lines_total", guardState.lateLines, "Lines behind the guard's clock, within guard.reorder_horizon: counted at their own second."),
            ("guard_stale_lines_total", guardState.staleLines, "Lines further behind the guard's clock than guard.reorder_horizon: counted in the totals only."),
            ("guard_clock_steps_total", guardState.clockSteps, "Times the log's clock stepped back and later lines were shifted forward."),
        ] {
            registry.makeCounter(name: name, labels: [], help: help).increment(by: Int64(value))
        }
        gauge("guard_log_backlog_bytes", "Bytes of the access log not read yet.", Double(guardState.backlogBytes))
        gauge("guard_log_lag_seconds", "How far behind the wall clock the newest line of the last read was, when it was read.",
              guardState.lagSeconds ?? .nan)
        gauge("guard_bans_active", "Bans in force.", Double(guardState.bans.count))
        gauge("guard_cohorts_flagged", "Cohorts of quiet addresses whose naked clients are challenged.", Double(guardState.cohorts.count))
        gauge("guard_cohort_naked_addresses", "Naked addresses (pages, no asset) in the flagged cohorts.", Double(guardState.cohorts.reduce(0) { $0 + $1.naked }))
        for rule in GuardRule.allCases {
            registry.makeCounter(name: "guard_bans_total", labels: [("reason", rule.rawValue)],
                                 help: "Bans since the daemon started, by the rule that decided them.")
                .increment(by: Int64(guardState.bansTotal[rule] ?? 0))
        }
        gauge("guard_global_rps", "Requests per second over the global window.", guardState.globalRPS)
        gauge("guard_baseline_mean", "Learned mean of requests per second.", guardState.baseline?.mean ?? .nan)
        gauge("guard_baseline_stddev", "Learned standard deviation of requests per second.", guardState.baseline?.stddev ?? .nan)
        gauge("guard_tracked_clients", "Client addresses with a live window.", Double(guardState.trackedClients))
        gauge("guard_firewall_pending", "Bans and lifts the firewall has not taken yet (retried every second).", Double(guardState.firewallPending))
        registry.makeCounter(name: "guard_firewall_failures_total", labels: [], help: "Firewall batches refused (each is retried).")
            .increment(by: Int64(guardState.firewallFailures))
        if let shared = guardState.shared {
            gauge("guard_shared_connected", "1 while the shared decisions database answers.", shared.connected ? 1 : 0)
            gauge("guard_shared_pending", "Decisions of this edge not yet in the shared database.", Double(shared.pending))
            gauge("guard_site_rps", "The whole site's learnable requests per second over the window, summed over the edges.", shared.siteRPS)
            gauge("guard_site_baseline_mean", "Learned mean of the site's requests per second.", shared.siteBaseline?.mean ?? .nan)
            gauge("guard_site_edges_reporting", "Edges that reported the site's newest gathered second.", Double(shared.siteEdges))
            for edge in shared.edges {
                gauge("guard_edge_heartbeat_age_seconds", "Seconds since each edge's last heartbeat.", Double(guardState.at - edge.heartbeat),
                      [("edge", edge.edge)])
                gauge("guard_edge_bans_active", "Bans in force on each edge, from its last heartbeat.", Double(edge.bans), [("edge", edge.edge)])
            }
        }
        for track in state.deploy?.tracks ?? [] {
            let labels = [("track", track.track), ("version", track.version)]
            gauge("swiftdeploy_track_requests_per_second", "Requests per second per track, from the access log.", track.rps, labels)
            gauge("swiftdeploy_track_error_rate", "Share of 5xx answers per track over the analysis window.", track.errorRate ?? .nan, labels)
            gauge("swiftdeploy_track_p99_latency_seconds", "p99 latency per track over the analysis window.", (track.p99MS ?? .nan) / 1000, labels)
            gauge("swiftdeploy_track_weight", "Share of traffic routed to the track, percent.", Double(track.weight), labels)
            gauge("swiftdeploy_track_healthy", "1 when the track's health check answers 200.", track.healthy ? 1 : 0, labels)
        }
        for policy in state.deploy?.policies ?? [] {
            gauge("swiftdeploy_policy_allow", "1 when the policy allows, 0 when it blocks.", policy.allow ? 1 : 0, [("policy", policy.policy)])
        }
        var text = registry.emitToBuffer()
        live.registry.emit(into: &text)
        return String(decoding: text, as: UTF8.self)
    }
}
