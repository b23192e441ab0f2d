import Foundation
import Telemetry

/// One thing the guard decided, with everything needed to explain it afterwards.
public struct GuardDecision: Sendable, Equatable {
    public enum Action: String, Sendable {
        case ban
        case unban
        case globalAnomaly = "global_anomaly"
        case baselineRecalc = "baseline_recalc"
        /// Too many distinct addresses to track: the guard alerts instead of growing without bound.
        case trackingCap = "tracking_cap"
    }

    public var at: Int
    public var action: Action
    public var ip: IPAddress?
    /// Ban length in seconds; nil is permanent (and for actions without a length).
    public var duration: Int?
    public var condition: String
    /// The observed rate (req/s over the window): the client's, or the site's for global decisions.
    public var rate: Double
    /// What that rate was compared with: the client's expected rate, or the site's learned mean.
    public var baseline: Double
    /// For bans: the offence number; for unbans: the length the next ban would have (nil = permanent).
    public var offence: Int = 0
    public var nextDuration: Int?? = .none
    /// For detected bans: the log timestamp of the line that decided it (detection latency is
    /// measured from there).
    public var observedAt: Double?

    public init(at: Int, action: Action, ip: IPAddress?, duration: Int?, condition: String, rate: Double, baseline: Double,
                offence: Int = 0, nextDuration: Int?? = .none) {
        self.at = at
        self.action = action
        self.ip = ip
        self.duration = duration
        self.condition = condition
        self.rate = rate
        self.baseline = baseline
        self.offence = offence
        self.nextDuration = nextDuration
    }
}

/// The detection pipeline, driven by the timestamps it is given: per-IP and global sliding windows,
/// the learned baseline, the detector and the ban book. Feeding it a log with the log's own times
/// gives the same decisions as living through it (`guard replay`).
///
/// Per-IP expectation: comparing a client with the whole site's mean never catches an attacker that
/// sends less than `multiplier` times the site's total. Instead each client is compared with what a
/// client normally does: the median per-client rate at the last recalc, or its own learned rate when
/// it has a history (so a big, steady legitimate client is judged against itself). z uses the spread
/// of per-client rates. See docs/guard.md.
public struct GuardEngine: Sendable {
    public private(set) var config: GuardConfig
    public private(set) var baseline: Baseline
    public private(set) var banBook: BanBook
    public private(set) var global: SlidingWindow
    var clients: [IPAddress: Client] = [:]
    public private(set) var typicalClientRate: Double = 0
    public private(set) var clientRateSpread: Double = 0
    public private(set) var now: Int?
    private var lastRecalc: Int?
    private var lastGlobalAlert: Int?
    private var lastCapAlert: Int?
    public private(set) var untrackedRequests = 0
    private var pending: [GuardDecision] = []

    /// Every client's per-second buckets, `config.window` of them per slot.
    private var slab: [UInt32] = []
    private var freeSlots: [Int32] = []
    private var nextSlot: Int32 = 0

    struct Client: Sendable {
        var window = WindowCounter()
        var slot: Int32
        /// The client's learned rate (mean of its window rate at recent recalcs while it behaved).
        var ownRate = 0.0
        var ownSamples = 0
        /// Second until which the client counts as anomalous (kept out of learning).
        var anomalousUntil = Int.min
        var lastSeen: Int
    }

    public init(config: GuardConfig) {
        self.config = config
        baseline = Baseline(window: config.baselineWindow, minPoints: config.minPoints, meanFloor: config.meanFloor)
        banBook = BanBook(schedule: config.bans, forgiveAfter: config.forgiveAfter)
        global = SlidingWindow(length: config.window)
    }

    public var trackedClients: Int { clients.count }

    /// The window rate of one client (0 when untracked).
    public func rate(of ip: IPAddress) -> Double { clients[ip]?.window.rate(config.window) ?? 0 }

    /// A slot of the slab for a new client: an evicted one, or the next, growing the slab by doubling.
    private mutating func allocateSlot() -> Int32 {
        if let free = freeSlots.popLast() { return free }
        let slot = nextSlot
        nextSlot += 1
        let needed = Int(nextSlot) * config.window
        if needed > slab.count { slab.append(contentsOf: repeatElement(0, count: max(1024 * config.window, slab.count))) }
        return slot
    }

    /// Runs `body` on one client's buckets.
    @inline(__always)
    private mutating func withBuckets<T>(_ slot: Int32, _ body: (UnsafeMutableBufferPointer<UInt32>) -> T) -> T {
        let start = Int(slot) * config.window, length = config.window
        return slab.withUnsafeMutableBufferPointer { body(UnsafeMutableBufferPointer(rebasing: $0[start..<(start + length)])) }
    }

    public var hasDecisions: Bool { !pending.isEmpty }

    /// Takes the decisions made since the last call.
    public mutating func drain() -> [GuardDecision] {
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }

    /// Runs the timers up to `second`: due unbans, the baseline recalc, idle eviction.
    public mutating func advance(to second: Int) {
        if let now, second <= now { return }
        now = second
        for ban in banBook.expire(at: second) {
            pending.append(GuardDecision(at: ban.until ?? second, action: .unban, ip: ban.ip, duration: ban.duration,
                                         condition: "expired after offence \(ban.offence)", rate: rate(of: ban.ip),
                                         baseline: expected(for: ban.ip), offence: ban.offence,
                                         nextDuration: .some(banBook.nextLength(ban.ip, at: second))))
        }
        global.advance(to: second)
        baseline.close(upTo: second)
        if lastRecalc == nil { lastRecalc = second }
        if let last = lastRecalc, second - last >= config.recalcEvery { recalc(at: second) }
    }

    /// Feeds one request.
    public mutating func ingest(_ event: ClientEvent) {
        let second = Int(event.timestamp.rounded(.down))
        advance(to: second)
        global.add(at: second, error: event.isError)
        let ip = event.client
        if banBook.isBanned(ip) { return }
        let allowed = config.isAllowed(ip)
        var index = clients.index(forKey: ip)
        if index == nil {
            guard clients.count < config.maxTrackedIPs else {
                untrackedRequests += 1
                if lastCapAlert.map({ second - $0 >= config.globalCooldown }) ?? true {
                    lastCapAlert = second
                    pending.append(GuardDecision(at: second, action: .trackingCap, ip: nil, duration: nil,
                                                 condition: "tracking \(clients.count) addresses, the cap (max_tracked_ips)",
                                                 rate: global.rate, baseline: baseline.current?.mean ?? 0))
                }
                return
            }
            let bucketSlot = allocateSlot()
            withBuckets(bucketSlot) { buckets in for index in buckets.indices { buckets[index] = 0 } }
            clients[ip] = Client(slot: bucketSlot, lastSeen: second)
            index = clients.index(forKey: ip)
        }
        let slot = index!
        var counter = clients.values[slot].window
        let length = config.window
        withBuckets(clients.values[slot].slot) { counter.add(at: second, error: event.isError, buckets: $0, length: length) }
        clients.values[slot].window = counter
        clients.values[slot].lastSeen = second
        if !allowed, isWarm, let verdict = judge(clients.values[slot]) {
            clients.values[slot].anomalousUntil = second + config.window
            let ban = banBook.ban(ip, at: second, reason: verdict.condition)
            var decision = GuardDecision(at: second, action: .ban, ip: ip, duration: ban.duration, condition: verdict.condition,
                                         rate: verdict.rate, baseline: verdict.expected, offence: ban.offence)
            decision.observedAt = event.timestamp
            pending.append(decision)
            return
        }
        if !allowed && clients.values[slot].anomalousUntil < second { baseline.add(at: second, error: event.isError) }
        checkGlobal(at: second)
    }

    /// The rate a client is expected to send.
    func expected(for ip: IPAddress) -> Double {
        clients[ip].map(expected) ?? max(typicalClientRate, config.meanFloor)
    }

    func expected(_ client: Client) -> Double {
        max(typicalClientRate, client.ownSamples > 0 ? client.ownRate : 0, config.meanFloor)
    }

    struct Verdict {
        var condition: String
        var rate: Double
        var expected: Double
    }

    /// Whether a client breaks the rule now: z ≥ z_score or rate ≥ multiplier × expected, both
    /// tightened while its errors surge.
    func judge(_ client: Client) -> Verdict? {
        guard Int(client.window.requests) >= config.minRequests else { return nil }
        let (rate, expected, z) = score(client)
        let baselineErrors = max(baseline.current?.errorRate ?? 0, 0.01)
        let surging = Int(client.window.errors) >= config.minRequests / 2 && client.window.errorRate >= config.errorSurge * baselineErrors
        let tighten = surging ? config.surgeTightening : 1
        let suffix = surging ? String(format: " error_surge=%.0f%%", client.window.errorRate * 100) : ""
        if z >= config.zScore * tighten {
            return Verdict(condition: String(format: "z=%.2f", z) + suffix, rate: rate, expected: expected)
        }
        if rate >= config.multiplier * tighten * expected {
            return Verdict(condition: String(format: "rate=%.1fx", rate / expected) + suffix, rate: rate, expected: expected)
        }
        return nil
    }

    /// A client's window rate, what it is expected to send, and its z-score.
    func score(_ client: Client) -> (rate: Double, expected: Double, z: Double) {
        let rate = client.window.rate(config.window)
        let expected = expected(client)
        // Spread of per-client rates, but never below Poisson noise or half the expectation: within
        // 2.5× of what it is expected to send, z alone never condemns a client.
        let scale = max(clientRateSpread, (expected / Double(config.window)).squareRoot(), 0.5 * expected)
        return (rate, expected, (rate - expected) / scale)
    }

    /// The `count` busiest clients as of the engine's clock, busiest first (their windows are slid
    /// to now on the way, which changes nothing the engine decides). Keeps only the best `count`
    /// while it walks, so a hundred thousand clients are never sorted.
    public mutating func topClients(_ count: Int) -> [GuardSnapshot.Client] {
        var top: [GuardSnapshot.Client] = []
        let busier = { (a: GuardSnapshot.Client, b: GuardSnapshot.Client) in (a.rps, b.ip) > (b.rps, a.ip) }
        let length = config.window
        for index in clients.indices {
            if let now {
                var counter = clients.values[index].window
                withBuckets(clients.values[index].slot) { counter.advance(to: now, buckets: $0, length: length) }
                clients.values[index].window = counter
            }
            let current = clients.values[index]
            guard current.window.requests > 0 else { continue }
            let rate = current.window.rate(length)
            if top.count == count, let last = top.last, rate < last.rps { continue }
            let ip = clients.keys[index]
            let (_, expected, z) = score(current)
            let client = GuardSnapshot.Client(ip: ip.description, rps: rate, expected: expected, z: z, banned: banBook.isBanned(ip))
            top.insert(client, at: top.firstIndex { busier(client, $0) } ?? top.endIndex)
            if top.count > count { top.removeLast() }
        }
        return top
    }

    /// Nothing is judged until the baseline has seen a whole window: before that every client's
    /// window is still filling, and rates would look like they are rising.
    public var isWarm: Bool { (baseline.current?.points ?? 0) >= config.window }

    mutating func checkGlobal(at second: Int) {
        guard isWarm, let summary = baseline.current else { return }
        if let last = lastGlobalAlert, second - last < config.globalCooldown { return }
        let rate = global.rate
        guard rate >= summary.mean else { return }
        // Per-second counts of independent clients vary at least like a Poisson count: √mean.
        let z = (rate - summary.mean) / max(summary.stddev, summary.mean.squareRoot())
        guard global.requestTotal >= config.minRequests, z >= config.zScore || rate >= config.multiplier * summary.mean else { return }
        lastGlobalAlert = second
        let condition = z >= config.zScore ? String(format: "z=%.2f", z) : String(format: "rate=%.1fx", rate / summary.mean)
        pending.append(GuardDecision(at: second, action: .globalAnomaly, ip: nil, duration: nil, condition: condition,
                                     rate: rate, baseline: summary.mean))
    }

    /// The recalc timer: baseline summary, per-client expectation, clients' own rates, eviction.
    mutating func recalc(at second: Int) {
        lastRecalc = second
        guard let summary = baseline.recalc(at: second) else { return }
        var rates: [Double] = []
        let samples = max(1, config.baselineWindow / max(1, config.recalcEvery))
        var idle: [IPAddress] = []
        for (ip, var client) in clients {
            let length = config.window
            withBuckets(client.slot) { client.window.advance(to: second, buckets: $0, length: length) }
            if client.window.requests == 0 {
                if second - client.lastSeen > config.baselineWindow && !banBook.isBanned(ip) { idle.append(ip) }
                clients[ip] = client
                continue
            }
            if client.anomalousUntil < second && !banBook.isBanned(ip) && !config.isAllowed(ip) {
                let rate = client.window.rate(config.window)
                rates.append(rate)
                // A client learns its own normal, but never above `multiplier` × the typical client's,
                // so a slow ramp cannot teach the guard that a flood is normal.
                let learnable = typicalClientRate > 0 ? min(rate, config.multiplier * typicalClientRate) : rate
                client.ownSamples += 1
                client.ownRate += (learnable - client.ownRate) / Double(min(client.ownSamples, samples))
            }
            clients[ip] = client
        }
        for ip in idle {
            if let client = clients.removeValue(forKey: ip) { freeSlots.append(client.slot) }
        }
        if !rates.isEmpty {
            rates.sort()
            typicalClientRate = rates[rates.count / 2]
            let mean = rates.reduce(0, +) / Double(rates.count)
            clientRateSpread = (rates.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(rates.count)).squareRoot()
        }
        pending.append(GuardDecision(
            at: second, action: .baselineRecalc, ip: nil, duration: config.recalcEvery,
            condition: String(format: "mean=%.3f stddev=%.3f error_rate=%.3f points=%d source=%@ typical_client=%.3f client_spread=%.3f",
                              summary.mean, summary.stddev, summary.errorRate, summary.points, summary.source, typicalClientRate, clientRateSpread),
            rate: global.rate, baseline: summary.mean))
    }

    /// A manual ban (from the CLI or the dashboard); `length` nil is permanent.
    public mutating func banManually(_ ip: IPAddress, at second: Int, length: Int?) -> GuardDecision {
        let ban = banBook.ban(ip, at: second, reason: "manual", length: .some(length))
        let decision = GuardDecision(at: second, action: .ban, ip: ip, duration: ban.duration, condition: "manual",
                                     rate: rate(of: ip), baseline: expected(for: ip), offence: ban.offence)
        pending.append(decision)
        return decision
    }

    /// A manual unban; nil when the address was not banned.
    public mutating func unbanManually(_ ip: IPAddress, at second: Int) -> GuardDecision? {
        guard let ban = banBook.unban(ip) else { return nil }
        let decision = GuardDecision(at: second, action: .unban, ip: ip, duration: ban.duration, condition: "manual",
                                     rate: rate(of: ip), baseline: expected(for: ip), offence: ban.offence,
                                     nextDuration: .some(banBook.nextLength(ip, at: second)))
        pending.append(decision)
        return decision
    }

    /// What the engine has learned, for the store: the baseline and the per-client expectation.
    public struct Learned: Sendable, Equatable {
        public var baseline: Baseline.Snapshot
        public var typicalClientRate: Double
        public var clientRateSpread: Double

        public init(baseline: Baseline.Snapshot, typicalClientRate: Double, clientRateSpread: Double) {
            (self.baseline, self.typicalClientRate, self.clientRateSpread) = (baseline, typicalClientRate, clientRateSpread)
        }
    }

    /// The learned state as of now; `secondsAfter` limits the baseline's seconds to unsaved ones.
    public func learned(secondsAfter: Int? = nil) -> Learned {
        Learned(baseline: baseline.snapshot(secondsAfter: secondsAfter), typicalClientRate: typicalClientRate,
                clientRateSpread: clientRateSpread)
    }

    /// Restores what the store kept: bans, offences and, when there is one, the learned baseline
    /// (so a restarted guard is warm at once instead of relearning for a whole window).
    public mutating func restore(bans: [BanBook.Ban], offences: [BanBook.Offence], learned: Learned? = nil) {
        banBook.restore(bans: bans, offences: offences)
        guard let learned, learned.baseline.first != nil else { return }
        baseline.restore(learned.baseline)
        typicalClientRate = learned.typicalClientRate
        clientRateSpread = learned.clientRateSpread
        now = learned.baseline.newest
        lastRecalc = learned.baseline.newest
    }

    /// Applies changed settings (SIGHUP) without losing what was learned. The per-client window
    /// length sizes every client's buckets, so it changes only at a restart: the names of such
    /// settings are returned and their old values kept.
    public mutating func reconfigure(_ new: GuardConfig) -> [String] {
        var applied = new
        var needRestart: [String] = []
        if new.window != config.window { applied.window = config.window; needRestart.append("guard.window") }
        if (new.baselineWindow, new.minPoints, new.meanFloor) != (config.baselineWindow, config.minPoints, config.meanFloor) {
            var rebuilt = Baseline(window: new.baselineWindow, minPoints: new.minPoints, meanFloor: new.meanFloor)
            rebuilt.restore(baseline.snapshot())
            baseline = rebuilt
        }
        banBook.reschedule(applied.bans, forgiveAfter: applied.forgiveAfter)
        config = applied
        return needRestart
    }
}
