import CPrefetch
import Foundation
import Telemetry
import Vocabulary

/// The rule behind a ban: a behaviour rule, a learned rate rule, or a person.
public enum GuardRule: String, Sendable, Codable, CodingKeyRepresentable, CaseIterable {
    case flood, scanner, bruteForce = "brute_force", scraper, badAgent = "bad_agent"
    case zScore = "z_score", multiplier, errorSurge = "error_surge"
    case manual
}

/// The kinds of site-wide alert: the traffic against its learned normal, and login failures spread
/// over many addresses.
public enum GlobalAlert: String, Sendable, Codable {
    case traffic
    case credentialStuffing = "credential_stuffing"
}

/// One thing the guard decided, with everything needed to explain it afterwards.
public struct GuardDecision: Sendable, Equatable {
    public enum Action: String, Sendable, Codable {
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
    /// For bans: the rule that decided it.
    public var rule: GuardRule?
    /// For detected bans: the log timestamp of the line that decided it (detection latency is
    /// measured from there).
    public var observedAt: Double?
    /// The edge that decided, when another edge of the site did (shared through guard.shared);
    /// nil for this edge's own decisions, the only ones it announces and alerts on.
    public var edge: String?
    /// For global anomalies: which kind (an edge of a shared site raises each kind once for the site).
    public var alert: GlobalAlert?

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

/// The detection pipeline, driven by the timestamps it is given: per-client and global sliding
/// windows, the learned baseline, the rules and the ban book. Feeding it a log with the log's own
/// times gives the same decisions as living through it (`guard replay`).
///
/// Two families of rules judge each client (docs/guard.md has the reasoning):
/// - behaviour rules, from the first second: flood (pages at a rate no person sustains), scanner
///   (failed requests for many distinct paths), brute force (login failures), scraper (distinct
///   pages without assets) and bad agents; each is a leaky bucket per client;
/// - learned rate rules once the baseline is warm: z ≥ `z_score` or rate ≥ `multiplier` × expected,
///   tightened while the client's errors surge. The expectation is a high quantile of recent
///   clients' rates, or the client's own history where higher, never below `client_floor`, and
///   scaled up for an address that many user agents share (an office, a carrier NAT).
/// Rates count pages, API calls and logins; an asset counts only when the client repeats it.
public struct GuardEngine: Sendable {
    public private(set) var config: GuardConfig
    public private(set) var baseline: Baseline
    public private(set) var banBook: BanBook
    /// Every request, for display.
    public private(set) var global: SlidingWindow
    /// The traffic the baseline learns from (banned, allow-listed and anomalous clients left out):
    /// global anomalies compare this with the baseline, so both count the same thing.
    public private(set) var learnable: SlidingWindow
    /// Site-wide login failures (credential stuffing spreads them over many addresses).
    public private(set) var loginFailures: SlidingWindow
    private var learnedLoginFailures = 0.0
    /// Tracked clients by slot (a slot's buckets are `config.window` entries of `slab` from
    /// slot × window); `index` finds a client's slot by address.
    var clients: [Client] = []
    private var index = ClientIndex()
    /// The expected client rate (the `client_quantile` of recent clients' window rates).
    public private(set) var typicalClientRate: Double = 0
    /// A robust spread of client rates: (quantile − median) / 2.33.
    public private(set) var clientRateSpread: Double = 0
    /// The engine's time, from the lines' own times (late and stale lines, clock steps).
    public private(set) var clock: LogClock
    /// The engine's clock: the newest second placed or advanced to.
    public var now: Int? { clock.now }
    /// The second the timers last ran for.
    private var timersRan: Int?
    private var lastRecalc: Int?
    private var lastGlobalAlert: Int?
    private var lastStuffingAlert: Int?
    private var lastCapAlert: Int?
    public private(set) var untrackedRequests = 0
    /// Set while the site's total traffic is judged instead (`guard.shared`, database answering):
    /// this edge's slice of the traffic raises no traffic alert of its own.
    public var leavesTrafficAlertsToSite = false
    private var pending: [GuardDecision] = []

    /// Every client's per-second buckets, `config.window` of them per slot.
    private var slab: [UInt32] = []
    private var freeSlots: [Int32] = []

    struct Client: Sendable {
        var ip: IPAddress
        /// False for a slot whose client was evicted (it waits in `freeSlots`).
        var isTracked = true
        var window = WindowCounter()
        var behaviour = Behaviour()
        /// The client's learned rate (mean of its window rate at recent recalcs while it behaved).
        var ownRate: Float = 0
        var ownSamples: Int32 = 0
        /// Second until which the client counts as anomalous (kept out of learning).
        var anomalousUntil = Int.min
        var lastSeen: Int
        /// Never banned nor learned from (`GuardConfig.shields`), decided once per client.
        var shielded: Bool
    }

    public init(config: GuardConfig) {
        self.config = config
        baseline = Baseline(window: config.baselineWindow, minPoints: config.minPoints, meanFloor: config.meanFloor)
        banBook = BanBook(schedule: config.bans, forgiveAfter: config.forgiveAfter)
        clock = LogClock(horizon: config.reorderHorizon)
        global = SlidingWindow(length: config.window)
        learnable = SlidingWindow(length: config.window)
        loginFailures = SlidingWindow(length: config.window)
    }

    public var trackedClients: Int { index.count }

    /// The tracked client at `ip`.
    private func client(_ ip: IPAddress) -> Client? {
        guard let slot = index.slot(of: ip) else { return nil }
        return clients[Int(slot)]
    }

    /// The window rate of one client (0 when untracked).
    public func rate(of ip: IPAddress) -> Double { client(ip)?.window.rate(config.window) ?? 0 }

    /// Starts tracking `ip` in a free slot or a new one (growing the slab by doubling), with empty buckets.
    private mutating func track(_ ip: IPAddress, at second: Int) -> Int {
        let fresh = Client(ip: ip, lastSeen: second, shielded: config.shields(ip))
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = Int(free)
            clients[slot] = fresh
        } else {
            slot = clients.count
            clients.append(fresh)
            let needed = clients.count * config.window
            if needed > slab.count { slab.append(contentsOf: repeatElement(0, count: max(1024 * config.window, slab.count))) }
        }
        withBuckets(slot) { buckets in for index in buckets.indices { buckets[index] = 0 } }
        index.insert(ip, slot: Int32(slot))
        return slot
    }

    /// Forgets the sixteenth of tracked clients seen least recently (never one whose ban is in force,
    /// never more than that, so the cost per new client stays constant); returns how many.
    private mutating func evictLeastRecent() -> Int {
        var seen: [Int] = []
        seen.reserveCapacity(index.count)
        for slot in clients.indices where clients[slot].isTracked { seen.append(clients[slot].lastSeen) }
        guard !seen.isEmpty else { return 0 }
        let quota = max(1, seen.count / 16)
        Selection.select(quota - 1, in: &seen, 0..<seen.count)
        let cutoff = seen[quota - 1]
        var evicted = 0
        for slot in clients.indices where evicted < quota && clients[slot].isTracked && clients[slot].lastSeen <= cutoff {
            guard !banBook.isBanned(clients[slot].ip) else { continue }
            index.remove(clients[slot].ip)
            clients[slot].isTracked = false
            freeSlots.append(Int32(slot))
            evicted += 1
        }
        return evicted
    }

    /// Runs `body` on one client's buckets.
    @inline(__always)
    mutating func withBuckets<T>(_ slot: Int, _ body: (UnsafeMutableBufferPointer<UInt32>) -> T) -> T {
        let start = slot * config.window, length = config.window
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
        clock.advance(to: second)
        runTimers()
    }

    /// The timers for the clock's second, once per second.
    private mutating func runTimers() {
        guard let second = clock.now, second > timersRan ?? Int.min else { return }
        timersRan = second
        for ban in banBook.expire(at: second) {
            pending.append(GuardDecision(at: ban.until ?? second, action: .unban, ip: ban.ip, duration: ban.duration,
                                         condition: "expired after offence \(ban.offence)", rate: rate(of: ban.ip),
                                         baseline: expected(for: ban.ip), offence: ban.offence,
                                         nextDuration: .some(banBook.nextLength(ban.ip, at: second))))
        }
        global.advance(to: second)
        learnable.advance(to: second)
        loginFailures.advance(to: second)
        baseline.close(upTo: second)
        if lastRecalc == nil { lastRecalc = second }
        if let last = lastRecalc, second - last >= config.recalcEvery { recalc(at: second) }
    }

    /// A hint given a few requests ahead of `ingest(event)`: starts loading what judging it will
    /// touch, its entry in the address index (`far`), or its client's state and buckets (near, by
    /// when the index entry has arrived). With tens of thousands of clients that state is rarely in
    /// cache, and waiting for it was most of the time per line. Changes nothing the engine decides.
    @inline(__always)
    public func prefetch(_ event: ClientEvent, far: Bool) {
        if far { return index.prefetch(event.client) }
        guard let slot = index.slot(of: event.client) else { return }
        clients.withUnsafeBufferPointer { clients in
            let record = UnsafeRawPointer(clients.baseAddress! + Int(slot))
            for line in stride(from: 0, to: MemoryLayout<Client>.stride, by: 64) { cprefetch(record + line) }
        }
        let length = config.window
        slab.withUnsafeBufferPointer { slab in
            let buckets = UnsafeRawPointer(slab.baseAddress! + Int(slot) * length)
            for line in stride(from: 0, to: length * MemoryLayout<UInt32>.stride, by: 64) { cprefetch(buckets + line) }
        }
    }

    /// Feeds one request.
    public mutating func ingest(_ event: ClientEvent) {
        // Parsers only pass plausible times; anything else (a caller's bug) is dropped, never trapped on.
        guard event.timestamp.isFinite, abs(event.timestamp) < 1e15 else { return }
        let (placement, second) = clock.place(Int(event.timestamp.rounded(.down)))
        switch placement {
        case .stale: return
        case .current: runTimers()
        case .late: break
        }
        global.add(at: second, error: event.isError)
        let ip = event.client
        if banBook.isBanned(ip) { return }
        let slot: Int
        if let known = index.slot(of: ip) {
            slot = Int(known)
        } else {
            if index.count >= config.maxTrackedIPs {
                // Full: the least recently seen make room (a spoofed flood of one-shot sources must
                // not leave new clients, a real attacker among them, unjudged).
                let tracked = index.count
                let evicted = evictLeastRecent()
                if Self.cooledDown(since: lastCapAlert, at: second, config.globalCooldown) {
                    lastCapAlert = second
                    pending.append(GuardDecision(at: second, action: .trackingCap, ip: nil, duration: nil,
                                                 condition: "tracking \(tracked) addresses, the cap (max_tracked_ips); the \(evicted) least recently seen forgotten",
                                                 rate: global.rate, baseline: baseline.current?.mean ?? 0))
                }
                guard index.count < config.maxTrackedIPs else {
                    untrackedRequests += 1
                    return
                }
            }
            slot = track(ip, at: second)
        }
        // Conditions on the engine's own state are written without `&&`/`||`/`??`: their autoclosures
        // would copy the whole engine, for every line.
        let isProtected = clients[slot].shielded
        // An asset counts in the rate only when the client asks for the same one again.
        let lastAsset = clients[slot].behaviour.lastAsset
        let weighs = event.kind != .asset || event.path == lastAsset
        if event.kind == .asset { clients[slot].behaviour.lastAsset = event.path }
        if weighs {
            var counter = clients[slot].window
            let length = config.window
            withBuckets(slot) { counter.add(at: second, error: event.isError, buckets: $0, length: length) }
            clients[slot].window = counter
        }
        clients[slot].lastSeen = max(clients[slot].lastSeen, second)
        if event.isLoginFailure { loginFailures.add(at: second, error: true) }
        if !isProtected {
            let rules = config.rules
            var verdict: Verdict?
            if weighs, rules.flood.isEnabled, case .late = placement { verdict = lateFlood(slot, at: second) }
            if verdict == nil {
                verdict = clients.withUnsafeMutableBufferPointer { all in
                    all[slot].behaviour.judge(event, weighs: weighs, late: placement != .current, rules: rules, at: second)
                }
            }
            let warm = isWarm
            if verdict == nil, weighs, warm {
                let client = clients[slot]
                verdict = judge(client)
            }
            if let verdict {
                clients[slot].anomalousUntil = second + config.window
                let ban = banBook.ban(ip, at: second, reason: verdict.condition)
                var decision = GuardDecision(at: second, action: .ban, ip: ip, duration: ban.duration, condition: verdict.condition,
                                             rate: verdict.rate, baseline: verdict.expected, offence: ban.offence)
                decision.rule = verdict.rule
                decision.observedAt = event.timestamp
                pending.append(decision)
                return
            }
            if clients[slot].anomalousUntil < second {
                baseline.add(at: second, error: event.isError)
                learnable.add(at: second, error: event.isError)
            }
        }
        checkGlobal(at: second)
    }

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
                     ("scraper", behaviour.scraper.current(at: tick, rules.scraper), rules.scraper.burst)])
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

    /// A manual ban (from the CLI or the dashboard); `length` nil is permanent.
    /// nil when the address is shielded (allow list, trusted proxy, the host): a manual ban must not
    /// lock out what the operator said never to ban.
    public mutating func banManually(_ ip: IPAddress, at second: Int, length: Int?) -> GuardDecision? {
        guard !config.shields(ip) else { return nil }
        let ban = banBook.ban(ip, at: second, reason: "manual", length: .some(length))
        var decision = GuardDecision(at: second, action: .ban, ip: ip, duration: ban.duration, condition: "manual",
                                     rate: rate(of: ip), baseline: expected(for: ip), offence: ban.offence)
        decision.rule = .manual
        pending.append(decision)
        return decision
    }

    /// A ban another edge decided; nil when it changes nothing here (already in force, ended, or the
    /// address is shielded on this edge).
    @discardableResult
    public mutating func adopt(_ ban: BanBook.Ban, condition: String, from edge: String, at second: Int) -> GuardDecision? {
        guard !config.shields(ban.ip), banBook.adopt(ban, at: second) else { return nil }
        var decision = GuardDecision(at: second, action: .ban, ip: ban.ip, duration: ban.until.map { $0 - second },
                                     condition: "edge \(edge): \(condition)", rate: rate(of: ban.ip), baseline: expected(for: ban.ip),
                                     offence: ban.offence)
        decision.edge = edge
        pending.append(decision)
        return decision
    }

    /// Many bans other edges decided, taken as a restart takes its own store: no decision each (a new
    /// edge catching up over 100,000 bans writes one summary, not 100,000 audit lines). Returns the
    /// bans now in force here because of them.
    public mutating func adoptQuietly(_ bans: [BanBook.Ban], at second: Int) -> [BanBook.Ban] {
        bans.filter { !config.shields($0.ip) && banBook.adopt($0, at: second) }
    }

    /// An unban another edge made; nil when the address is not banned here.
    @discardableResult
    public mutating func adoptUnban(_ ip: IPAddress, from edge: String, at second: Int) -> GuardDecision? {
        lift(ip, at: second, condition: "edge \(edge): manual", edge: edge)
    }

    /// A manual unban; nil when the address was not banned.
    public mutating func unbanManually(_ ip: IPAddress, at second: Int) -> GuardDecision? {
        lift(ip, at: second, condition: "manual", edge: nil)
    }

    /// Lifts a ban by hand, here (`edge` nil) or on another edge.
    private mutating func lift(_ ip: IPAddress, at second: Int, condition: String, edge: String?) -> GuardDecision? {
        guard let ban = banBook.unban(ip) else { return nil }
        var decision = GuardDecision(at: second, action: .unban, ip: ip, duration: ban.duration, condition: condition,
                                     rate: rate(of: ip), baseline: expected(for: ip), offence: ban.offence,
                                     nextDuration: .some(banBook.nextLength(ip, at: second)))
        decision.edge = edge
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
        clock.advance(to: learned.baseline.newest)
        timersRan = learned.baseline.newest
        lastRecalc = learned.baseline.newest
    }

    /// Applies changed settings (SIGHUP) without losing what was learned. The per-client window
    /// length sizes every client's buckets, so it changes only at a restart: the names of such
    /// settings are returned and their old values kept.
    public mutating func reconfigure(_ new: GuardConfig) -> [String] {
        var applied = new
        var needRestart: [String] = []
        if new.window != config.window { applied.window = config.window; needRestart.append("guard.window") }
        baseline.reshape(window: new.baselineWindow, minPoints: new.minPoints, meanFloor: new.meanFloor)
        banBook.reschedule(applied.bans, forgiveAfter: applied.forgiveAfter)
        clock.horizon = max(0, applied.reorderHorizon)
        config = applied
        // The allow list or the proxies may have changed: which clients are shielded is decided again.
        for slot in clients.indices where clients[slot].isTracked { clients[slot].shielded = applied.shields(clients[slot].ip) }
        return needRestart
    }
}
