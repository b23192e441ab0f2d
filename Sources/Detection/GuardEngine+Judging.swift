import CPrefetch
import Foundation
import Telemetry
import Vocabulary

/// How clients are judged: their expected rate, the learned rules, and the figures that explain a verdict.
extension GuardEngine {
    /// The rate a client is expected to send.
    func expected(for ip: IPAddress) -> Double {
        guard let client = client(ip) else { return max(typicalClientRate, config.clientFloor) }
        return expected(client)
    }

    /// max(quantile of client rates, own history, floor), scaled by √(agents sharing the address).
    func expected(_ client: Client) -> Double {
        let sharing = Double(max(1, min(16, client.behaviour.agents.nonzeroBitCount))).squareRoot()
        return max(typicalClientRate, client.ownSamples > 0 ? Double(client.ownRate) : 0, config.clientFloor) * sharing
    }

    /// Whether a client breaks the learned rate rules now: z ≥ z_score or rate ≥ multiplier × expected,
    /// both tightened while its errors surge.
    func judge(_ client: Client) -> Verdict? {
        guard Int(client.window.requests) >= config.minRequests else { return nil }
        let (rate, expected, z) = score(client)
        guard rate >= config.learnedFloor else { return nil }
        let surging = isSurging(client)
        let tighten = surging ? config.surgeTightening : 1
        let suffix = surging ? String(format: " error_surge=%.0f%%", client.window.errorRate * 100) : ""
        if z >= config.zScore * tighten {
            return Verdict(rule: surging ? .errorSurge : .zScore, condition: String(format: "z=%.2f rate=%.1fx", z, rate / expected) + suffix,
                           rate: rate, expected: expected)
        }
        if rate >= config.multiplier * tighten * expected {
            return Verdict(rule: surging ? .errorSurge : .multiplier, condition: String(format: "rate=%.1fx z=%.2f", rate / expected, z) + suffix,
                           rate: rate, expected: expected)
        }
        return nil
    }

    func isSurging(_ client: Client) -> Bool {
        let baselineErrors = max(baseline.current?.errorRate ?? 0, 0.01)
        return Int(client.window.errors) >= config.minRequests / 2 && client.window.errorRate >= config.errorSurge * baselineErrors
    }

    /// A client's window rate, what it is expected to send, and its z-score.
    func score(_ client: Client) -> (rate: Double, expected: Double, z: Double) {
        let rate = client.window.rate(config.window)
        let expected = expected(client)
        // Spread of client rates, but never below Poisson noise or half the expectation: within
        // 2.5× of what it is expected to send, z alone never condemns a client.
        let scale = max(clientRateSpread, (expected / Double(config.window)).squareRoot(), 0.5 * expected)
        return (rate, expected, (rate - expected) / scale)
    }

    /// Why one client is (or is not) banned right now: its figures against every rule.
    public struct Explanation: Sendable {
        public var at: Int
        public var rate: Double
        public var expected: Double
        public var z: Double
        /// The rate at which the learned rules would ban it now.
        public var threshold: Double
        public var requests: Int
        public var errorRate: Double
        public var agents: Int
        public var warm: Bool
        public var surging: Bool
        public var banned: Bool
        /// Each behaviour rule's level against its burst, by name.
        public var levels: [(rule: String, level: Double, burst: Double)]
        /// The flagged cohort that challenges this client, and why; nil when none does.
        public var cohort: String? = nil
    }

    /// The client's standing as of the engine's clock; nil when it is not tracked.
    public func explain(_ ip: IPAddress) -> Explanation? {
        guard let now, let client = client(ip) else { return nil }
        let behaviour = client.behaviour
        let (rate, expected, z) = score(client)
        let rules = config.rules, tick = Int32(truncatingIfNeeded: now)
        let surging = isSurging(client)
        let tighten = surging ? config.surgeTightening : 1
        let scale = z == 0 ? 0.5 * expected : (rate - expected) / z
        let threshold = max(config.learnedFloor, min(config.multiplier * tighten * expected, expected + config.zScore * tighten * scale))
        return Explanation(
            at: now, rate: rate, expected: expected, z: z, threshold: threshold, requests: Int(client.window.requests), errorRate: client.window.errorRate,
            agents: behaviour.agents.nonzeroBitCount, warm: isWarm, surging: surging, banned: banBook.isBanned(ip),
            levels: [("flood", behaviour.flood.current(at: tick, rules.flood), rules.flood.burst),
                     ("scanner", behaviour.scanner.current(at: tick, rules.scanner), rules.scanner.burst),
                     ("brute_force", behaviour.bruteForce.current(at: tick, rules.bruteForce), rules.bruteForce.burst),
                     ("scraper", behaviour.scraper.current(at: tick, rules.scraper), rules.scraper.burst)],
            cohort: cohortVerdict(for: ip).finding.map { "\($0.key): \($0.why)" })
    }

    /// The `count` busiest clients as of the engine's clock, busiest first (their windows are slid
    /// to now on the way, which changes nothing the engine decides). Keeps only the best `count`
    /// while it walks, so a hundred thousand clients are never sorted.
    public mutating func topClients(_ count: Int) -> [GuardSnapshot.Client] {
        var top: [GuardSnapshot.Client] = []
        let busier = { (a: GuardSnapshot.Client, b: GuardSnapshot.Client) in (a.rps, b.ip) > (b.rps, a.ip) }
        let length = config.window
        for slot in clients.indices where clients[slot].isTracked {
            if let now {
                var counter = clients[slot].window
                withBuckets(slot) { counter.advance(to: now, buckets: $0, length: length) }
                clients[slot].window = counter
            }
            let current = clients[slot]
            guard current.window.requests > 0 else { continue }
            let rate = current.window.rate(length)
            if top.count == count, let last = top.last, rate < last.rps { continue }
            let (_, expected, z) = score(current)
            let client = GuardSnapshot.Client(ip: current.ip.description, rps: rate, expected: expected, z: z,
                                              banned: banBook.isBanned(current.ip))
            top.insert(client, at: top.firstIndex { busier(client, $0) } ?? top.endIndex)
            if top.count > count { top.removeLast() }
        }
        return top
    }

    /// The learned rules wait until the baseline has seen a whole window: before that every client's
    /// window is still filling, and rates would look like they are rising. Behaviour rules don't wait.
    public var isWarm: Bool { (baseline.current?.points ?? 0) >= config.window }
}
