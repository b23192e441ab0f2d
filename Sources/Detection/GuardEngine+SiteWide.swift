import CPrefetch
import Foundation
import Telemetry
import Vocabulary

/// The site as a whole: global anomalies and the recalc timer that keeps the learned figures current.
extension GuardEngine {
    /// Global anomalies: the learnable rate against the baseline (once it holds `min_points`
    /// minutes), and site-wide login failures (credential stuffing). Alerts only, never bans.
    mutating func checkGlobal(at second: Int) {
        if loginFailures.requestTotal >= config.rules.stuffingFloor,
           Double(loginFailures.requestTotal) >= config.multiplier * learnedLoginFailures,
           Self.cooledDown(since: lastStuffingAlert, at: second, config.globalCooldown) {
            lastStuffingAlert = second
            var decision = GuardDecision(at: second, action: .globalAnomaly, ip: nil, duration: nil,
                                         condition: "credential_stuffing login_failures=\(loginFailures.requestTotal)/\(config.window)s",
                                         rate: loginFailures.rate, baseline: learnedLoginFailures / Double(config.window))
            decision.alert = .credentialStuffing
            pending.append(decision)
        }
        guard !leavesTrafficAlertsToSite, Self.cooledDown(since: lastGlobalAlert, at: second, config.globalCooldown) else { return }
        // The summary's fields are read one by one: copying it whole (it holds a string) costs a
        // retain and a release on every line.
        let rate = learnable.rate
        guard let points = baseline.current?.points, let mean = baseline.current?.mean, let stddev = baseline.current?.stddev,
              rate >= mean,
              let condition = Self.trafficAnomaly(rate: rate, requests: learnable.requestTotal, points: points, mean: mean, stddev: stddev, config: config)
        else { return }
        lastGlobalAlert = second
        var decision = GuardDecision(at: second, action: .globalAnomaly, ip: nil, duration: nil, condition: condition, rate: rate, baseline: mean)
        decision.alert = .traffic
        pending.append(decision)
    }

    /// The global rate rule, for one edge's traffic or the whole site's: `rate` (req/s over the
    /// window, `requests` in it) against the learned mean and spread once the baseline holds
    /// `min_points` minutes and a whole window. The alert's condition, or nil.
    public static func trafficAnomaly(rate: Double, requests: Int, points: Int, mean: Double, stddev: Double, config: GuardConfig) -> String? {
        guard points >= max(config.window, config.minPoints * 60), rate >= mean, requests >= config.minRequests else { return nil }
        // Per-second counts of independent clients vary at least like a Poisson count: √mean.
        let z = (rate - mean) / max(stddev, mean.squareRoot())
        if z >= config.zScore { return String(format: "z=%.2f", z) }
        if rate >= config.multiplier * mean { return String(format: "rate=%.1fx", rate / mean) }
        return nil
    }

    /// Whether an alert last raised at `last` (nil: never) may be raised again at `second`. Static, so
    /// the hot path's call copies nothing of the engine.
    static func cooledDown(since last: Int?, at second: Int, _ cooldown: Int) -> Bool {
        guard let last else { return true }
        return second - last >= cooldown
    }

    /// The recalc timer: baseline summary, per-client expectation, clients' own rates, eviction.
    mutating func recalc(at second: Int) {
        lastRecalc = second
        guard let summary = baseline.recalc(at: second) else { return }
        banBook.forgetForgiven(at: second)
        if Self.cooledDown(since: lastStuffingAlert, at: second, config.globalCooldown) {
            learnedLoginFailures += (Double(loginFailures.requestTotal) - learnedLoginFailures) / 30
        }
        // Window request counts of the clients that set the expectation (rate = count / window).
        var counts: [Int32] = []
        let samples = Float(max(1, config.baselineWindow / max(1, config.recalcEvery)))
        let length = config.window
        for slot in clients.indices where clients[slot].isTracked {
            var client = clients[slot]
            withBuckets(slot) { client.window.advance(to: second, buckets: $0, length: length) }
            let banned = banBook.isBanned(client.ip)
            if client.window.requests == 0 {
                if second - client.lastSeen > config.baselineWindow, !banned {
                    index.remove(client.ip)
                    client.isTracked = false
                    freeSlots.append(Int32(slot))
                }
                clients[slot] = client
                continue
            }
            if client.anomalousUntil < second, !banned, !client.shielded {
                counts.append(client.window.requests)
                // A client learns its own normal, but never above `multiplier` × the expected client's,
                // so a slow ramp cannot teach the guard that a flood is normal.
                let rate = client.window.rate(length)
                let learnable = typicalClientRate > 0 ? min(rate, config.multiplier * typicalClientRate) : rate
                client.ownSamples += 1
                client.ownRate += (Float(learnable) - client.ownRate) / min(Float(client.ownSamples), samples)
            }
            clients[slot] = client
        }
        if !counts.isEmpty {
            // The two busiest clients never set the expectation for everybody: one client's burst
            // must not blind the detector to another's (on a small site the quantile is the top).
            let at = max(0, min(counts.count - 3, Int(Double(counts.count) * config.clientQuantile)))
            let median = counts.count / 2
            Selection.select(at, in: &counts, 0..<counts.count)
            if median < at { Selection.select(median, in: &counts, 0..<at) }
            if median > at { Selection.select(median, in: &counts, (at + 1)..<counts.count) }
            let quantile = Double(counts[at]) / Double(length)
            typicalClientRate = quantile
            clientRateSpread = max(0, quantile - Double(counts[median]) / Double(length)) / 2.33
        }
        pending.append(GuardDecision(
            at: second, action: .baselineRecalc, ip: nil, duration: config.recalcEvery,
            condition: String(format: "mean=%.3f stddev=%.3f error_rate=%.3f points=%d source=%@ expected_client=%.3f client_spread=%.3f",
                              summary.mean, summary.stddev, summary.errorRate, summary.points, summary.source, typicalClientRate, clientRateSpread),
            rate: global.rate, baseline: summary.mean))
    }
}
