import CPrefetch
import Foundation
import Telemetry
import Vocabulary

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
    public internal(set) var config: GuardConfig
    public internal(set) var baseline: Baseline
    public internal(set) var banBook: BanBook
    /// The cohorts of quiet addresses (nil when `config.cohorts` is).
    public internal(set) var cohorts: CohortWatch?
    /// The ip-to-ASN table cohorts are judged with (kept for a reload that switches them on).
    let owners: NetworkOwners
    /// Every request, for display.
    public internal(set) var global: SlidingWindow
    /// The traffic the baseline learns from (banned, allow-listed and anomalous clients left out):
    /// global anomalies compare this with the baseline, so both count the same thing.
    public internal(set) var learnable: SlidingWindow
    /// Site-wide login failures (credential stuffing spreads them over many addresses).
    public internal(set) var loginFailures: SlidingWindow
    var learnedLoginFailures = 0.0
    /// Tracked clients by slot (a slot's buckets are `config.window` entries of `slab` from
    /// slot × window); `index` finds a client's slot by address.
    var clients: [Client] = []
    var index = ClientIndex()
    /// The expected client rate (the `client_quantile` of recent clients' window rates).
    public internal(set) var typicalClientRate: Double = 0
    /// A robust spread of client rates: (quantile − median) / 2.33.
    public internal(set) var clientRateSpread: Double = 0
    /// The engine's time, from the lines' own times (late and stale lines, clock steps).
    public internal(set) var clock: LogClock
    /// The engine's clock: the newest second placed or advanced to.
    public var now: Int? { clock.now }
    /// The second the timers last ran for.
    var timersRan: Int?
    var lastRecalc: Int?
    var lastGlobalAlert: Int?
    var lastStuffingAlert: Int?
    var lastCapAlert: Int?
    public internal(set) var untrackedRequests = 0
    /// Set while the site's total traffic is judged instead (`guard.shared`, database answering):
    /// this edge's slice of the traffic raises no traffic alert of its own.
    public var leavesTrafficAlertsToSite = false
    var pending: [GuardDecision] = []

    /// Every client's per-second buckets, `config.window` of them per slot.
    var slab: [UInt32] = []
    var freeSlots: [Int32] = []

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
        /// What its cohorts need to know of it (pages, assets, browser, autonomous system).
        var visitor = CohortWatch.Visitor()
    }

    /// `owners` is the ip-to-ASN table autonomous-system cohorts come from (none: prefixes only).
    public init(config: GuardConfig, owners: NetworkOwners = NetworkOwners()) {
        self.config = config
        self.owners = owners
        cohorts = config.cohorts.map { CohortWatch(settings: $0, owners: owners) }
        baseline = Baseline(window: config.baselineWindow, minPoints: config.minPoints, meanFloor: config.meanFloor)
        banBook = BanBook(schedule: config.bans, forgiveAfter: config.forgiveAfter)
        clock = LogClock(horizon: config.reorderHorizon)
        global = SlidingWindow(length: config.window)
        learnable = SlidingWindow(length: config.window)
        loginFailures = SlidingWindow(length: config.window)
    }

    public var trackedClients: Int { index.count }

    /// The tracked client at `ip`.
    func client(_ ip: IPAddress) -> Client? {
        guard let slot = index.slot(of: ip) else { return nil }
        return clients[Int(slot)]
    }

    /// The window rate of one client (0 when untracked).
    public func rate(of ip: IPAddress) -> Double { client(ip)?.window.rate(config.window) ?? 0 }

    /// Starts tracking `ip` in a free slot or a new one (growing the slab by doubling), with empty buckets.
    mutating func track(_ ip: IPAddress, at second: Int, address: IPAddress? = nil) -> Int {
        var fresh = Client(ip: ip, lastSeen: second, shielded: config.shields(ip))
        if cohorts != nil, !owners.isEmpty { fresh.visitor.system = owners.system(of: address ?? ip) }
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
    mutating func evictLeastRecent() -> Int {
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
    mutating func runTimers() {
        guard let second = clock.now, second > timersRan ?? Int.min else { return }
        timersRan = second
        for ban in banBook.expire(at: second) {
            var decision = GuardDecision(at: ban.until ?? second, action: .unban, ip: ban.ip, duration: ban.duration,
                                         condition: "expired after offence \(ban.offence)", rate: rate(of: ban.ip),
                                         baseline: expected(for: ban.ip), offence: ban.offence,
                                         nextDuration: .some(banBook.nextLength(ban.target, at: second)))
            decision.ban = ban
            pending.append(decision)
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
            slot = track(ip, at: second, address: event.address)
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
        if cohorts != nil { judgeCohorts(event, slot: slot, at: second) }
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
                let ban = banBook.ban(BanTarget(client: ip), at: second, reason: verdict.condition)
                var decision = GuardDecision(at: second, action: .ban, ip: ip, duration: ban.duration, condition: verdict.condition,
                                             rate: verdict.rate, baseline: verdict.expected, offence: ban.offence)
                decision.rule = verdict.rule
                decision.observedAt = event.timestamp
                (decision.ban, decision.offenceRecord) = (ban, banBook.offence(ban.target))
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
}
