import Foundation
import Detection
import Testing
import Vocabulary

/// The site's traffic, summed over edges, judged as one: generated per-edge traffic (several seeds,
/// uneven shares between edges) with the clock given second by second.
struct SiteTrafficTests {
    /// A Poisson count with mean `mean` (Knuth's method for small means, normal approximation above).
    static func poisson(_ mean: Double, _ random: inout SeededRandom) -> Int {
        if mean > 30 {
            let u1 = Double.random(in: Double.ulpOfOne..<1, using: &random), u2 = Double.random(in: 0..<1, using: &random)
            let normal = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            return max(0, Int((mean + normal * mean.squareRoot()).rounded()))
        }
        let limit = exp(-mean)
        var (count, product) = (0, Double.random(in: 0..<1, using: &random))
        while product > limit {
            count += 1
            product *= Double.random(in: 0..<1, using: &random)
        }
        return count
    }

    /// Seconds of a site whose edges take `shares` of a traffic of `rate` req/s, `surge` × higher
    /// between `surgeFrom` and `surgeTo` (spread over every edge like the normal traffic).
    static func site(seed: UInt64, seconds: Range<Int>, rate: Double, shares: [Double], surge: Double, during: Range<Int>) -> [TrafficSecond] {
        var random = SeededRandom(seed: seed)
        return seconds.map { second in
            let factor = during.contains(second) ? surge : 1
            let perEdge = shares.map { poisson(rate * $0 * factor, &random) }
            return TrafficSecond(second: second, requests: perEdge.reduce(0, +), errors: 0, edges: shares.count)
        }
    }

    @Test(arguments: [(UInt64(1), 12.0, [0.5, 0.3, 0.2]), (2, 40, [0.34, 0.33, 0.33]), (3, 5, [0.7, 0.2, 0.1]), (4, 90, [0.25, 0.25, 0.5])])
    func oneAlertPerAnomalyForTheWholeSite(seed: UInt64, rate: Double, shares: [Double]) {
        let start = 1_800_000_000
        // 40 minutes of normal traffic, then three minutes at 2.5× (every edge's slice rises the same).
        let surgeAt = start + 2400
        let seconds = Self.site(seed: seed, seconds: start..<(surgeAt + 180), rate: rate, shares: shares, surge: 2.5,
                                during: surgeAt..<(surgeAt + 180))
        var site = SiteTraffic(config: GuardConfig())
        var alerts: [GuardDecision] = []
        for second in seconds {
            if let alert = site.add(second) { alerts.append(alert) }
        }
        #expect(alerts.count == 1, "one alert for one anomaly (cooldown \(GuardConfig().globalCooldown) s): \(alerts.map(\.condition))")
        let alert = alerts.first
        #expect(alert.map { (surgeAt..<(surgeAt + 60)).contains($0.at) } == true, "raised within a minute of the surge's start: \(String(describing: alert?.at))")
        #expect(alert?.alert == .traffic)
        #expect(alert?.condition.hasPrefix("site ") == true && alert?.condition.hasSuffix("edges=3") == true, "\(alert?.condition ?? "")")
        #expect(abs((site.baseline.current?.mean ?? 0) - rate) < rate * 0.25 + 1, "the site's normal is the sum of the edges'")
    }

    @Test(arguments: [UInt64(5), 6, 7])
    func steadyTrafficRaisesNothing(seed: UInt64) {
        let start = 1_800_000_000
        let seconds = Self.site(seed: seed, seconds: start..<(start + 3600), rate: 25, shares: [0.6, 0.4], surge: 1, during: 0..<0)
        var site = SiteTraffic(config: GuardConfig())
        let alerts = seconds.compactMap { site.add($0) }
        #expect(alerts.isEmpty, "\(alerts.map(\.condition))")
        #expect(site.edges == 2)
    }

    @Test func secondsNobodyReportedCountAsQuiet() {
        var config = GuardConfig()
        config.window = 10
        var site = SiteTraffic(config: config)
        _ = site.add(TrafficSecond(second: 100, requests: 50, errors: 0, edges: 2))
        #expect(site.rate == 5)
        // Nine silent seconds later the 50 requests are still in the window; one more and they are gone.
        _ = site.add(TrafficSecond(second: 109, requests: 10, errors: 0, edges: 2))
        #expect(site.rate == 6)
        _ = site.add(TrafficSecond(second: 110, requests: 0, errors: 0, edges: 2))
        #expect(site.rate == 1)
        // An old or repeated second changes nothing.
        #expect(site.add(TrafficSecond(second: 105, requests: 500, errors: 0, edges: 2)) == nil)
        #expect(site.rate == 1)
    }

    /// A second's requests added at once learn the same as adding them one by one, late ones included.
    @Test(arguments: [UInt64(11), 12, 13])
    func wholeSecondsLearnLikeSingleRequests(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var one = Baseline(window: 120, minPoints: 1, meanFloor: 0), whole = Baseline(window: 120, minPoints: 1, meanFloor: 0)
        for second in 1000..<1300 {
            let (requests, errors) = (Int.random(in: 0..<20, using: &random), Int.random(in: 0..<3, using: &random))
            // Some seconds arrive a little late (after the next one opened).
            let at = Bool.random(using: &random) ? second : second - 1
            for index in 0..<requests { one.add(at: at, error: index < errors) }
            whole.add(at: at, requests: requests, errors: min(errors, requests))
        }
        #expect(one.recalc(at: 1300) == whole.recalc(at: 1300))
        #expect(one.snapshot() == whole.snapshot())
    }
}
