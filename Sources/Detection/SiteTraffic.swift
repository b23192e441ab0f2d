import Vocabulary

/// The whole site's traffic when several edges share it (`guard.shared`): the per-second sum of
/// every edge's learnable requests, its own rolling baseline, and the global traffic rule judged on
/// that total. One edge sees only its slice of a site behind DNS or a load balancer; a flood spread
/// over every edge may stay under each edge's own normal while the site's doubles.
/// Driven by the seconds it is given (the shared table's, oldest first), so tests are exact.
public struct SiteTraffic: Sendable {
    public private(set) var config: GuardConfig
    public private(set) var baseline: Baseline
    /// The last `config.window` seconds' requests, by second modulo the window.
    private var recent: [Int]
    private var recentTotal = 0
    /// The newest second added.
    public private(set) var newest: Int?
    /// Edges that reported the newest second.
    public private(set) var edges = 0
    private var lastRecalc: Int?
    private var lastAlert: Int?

    public init(config: GuardConfig) {
        self.config = config
        baseline = Baseline(window: config.baselineWindow, minPoints: config.minPoints, meanFloor: config.meanFloor)
        recent = [Int](repeating: 0, count: max(1, config.window))
    }

    /// The site's rate over the window (req/s).
    public var rate: Double { Double(recentTotal) / Double(recent.count) }

    /// Adds the next second (older or repeated seconds are ignored); returns the site's traffic
    /// alert when this second raises one (at most one per `global_cooldown`).
    public mutating func add(_ next: TrafficSecond) -> GuardDecision? {
        if let newest, next.second <= newest { return nil }
        slide(to: next.second)
        let slot = next.second % recent.count
        recent[slot] = next.requests
        recentTotal += next.requests
        newest = next.second
        edges = next.edges
        baseline.add(at: next.second, requests: next.requests, errors: next.errors)
        // The second is closed: the baseline's summary may count it from here on.
        baseline.close(upTo: next.second + 1)
        if lastRecalc == nil { lastRecalc = next.second }
        if let last = lastRecalc, next.second - last >= config.recalcEvery {
            baseline.recalc(at: next.second + 1)
            lastRecalc = next.second
        }
        return check(at: next.second)
    }

    /// Empties the window's seconds between the newest and `second` (those no edge reported).
    private mutating func slide(to second: Int) {
        guard let newest else { return }
        let gap = min(second - newest, recent.count)
        for offset in 0..<gap {
            let slot = (second - offset) % recent.count
            recentTotal -= recent[slot]
            recent[slot] = 0
        }
    }

    private mutating func check(at second: Int) -> GuardDecision? {
        guard GuardEngine.cooledDown(since: lastAlert, at: second, config.globalCooldown), let summary = baseline.current,
              let condition = GuardEngine.trafficAnomaly(rate: rate, requests: recentTotal, points: summary.points, mean: summary.mean,
                                                         stddev: summary.stddev, config: config)
        else { return nil }
        lastAlert = second
        var decision = GuardDecision(at: second, action: .globalAnomaly, ip: nil, duration: nil,
                                     condition: "site \(condition) edges=\(edges)", rate: rate, baseline: summary.mean)
        decision.alert = .traffic
        return decision
    }

    /// Applies changed settings (SIGHUP); what was learned is kept.
    public mutating func reconfigure(_ new: GuardConfig) {
        baseline.reshape(window: new.baselineWindow, minPoints: new.minPoints, meanFloor: new.meanFloor)
        if new.window != config.window {
            recent = [Int](repeating: 0, count: max(1, new.window))
            recentTotal = 0
        }
        config = new
    }
}
