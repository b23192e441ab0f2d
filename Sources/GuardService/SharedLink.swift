import Foundation
import Detection
import GuardStorage
import Manifest
import SharedDecisions
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// This edge's link to the site's shared decisions (`guard.shared`). What this edge decides is
/// queued in its own store with the checkpoint (so a database that is away loses nothing) and
/// sent from there; what the other edges decide is read by id from the last one seen (NOTIFY only
/// says when to look, so a missed notification costs at most a second) and handed to the daemon.
/// The edge never waits for the database to ban: it decides alone while the database is away, says
/// so, and catches up when it returns.
final class SharedLink: @unchecked Sendable {
    let settings: SharedGuardSettings
    let store: SharedDecisionStore
    let local: GuardStore
    let ipv6Prefix: Int
    private let lock = NSLock()
    private var inbox: [SharedDecision] = []
    private var cursor: Int64 = 0
    /// What the dashboard and `/metrics` show of the link.
    private var current: GuardSnapshot.Shared
    private let bell = Bell()
    /// The site's total traffic and its alerts (`SiteTraffic`), fed from the shared table.
    private var site: SiteTraffic
    private var siteCursor: Int?
    private var trafficCursor: Int?
    /// Site-wide alerts waiting to be claimed, and those this edge claimed (it sends them).
    private var raised: [GuardDecision] = []
    private var claimed: [GuardDecision] = []
    /// Called when decisions from other edges arrive (the daemon wakes to apply them).
    private let arrived: @Sendable () -> Void

    init(settings: SharedGuardSettings, local: GuardStore, config: GuardConfig, arrived: @escaping @Sendable () -> Void) throws(SharedStoreError) {
        self.settings = settings
        self.local = local
        ipv6Prefix = config.ipv6Prefix
        site = SiteTraffic(config: config)
        self.arrived = arrived
        current = GuardSnapshot.Shared(edge: settings.edge, connected: false, pending: 0, problem: nil, edges: [])
        store = try Self.open(settings)
    }

    /// The site's store as `guard.shared` describes it (not yet connected: the first query connects).
    static func open(_ settings: SharedGuardSettings) throws(SharedStoreError) -> SharedDecisionStore {
        try SharedDecisionStore(url: try DatabaseURL(settings.url), password: try password(settings))
    }

    /// Sends what this edge has queued now, once (`guard bans add|remove` while no daemon runs here).
    func flush() async throws {
        try await store.migrate()
        try await send()
    }

    /// The password: `password_file` (read as `SecretFile` reads: no link, root's or the guard's
    /// user's, nobody else may read it), else the environment, else none.
    static func password(_ settings: SharedGuardSettings) throws(SharedStoreError) -> String? {
        if let file = settings.passwordFile {
            do {
                return String(decoding: try SecretFile.read(file, limit: 4096), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw SharedStoreError("guard.shared.password_file: \(error)")
            }
        }
        let environment = ProcessInfo.processInfo.environment
        return environment["SWIFTDEPLOY_GUARD_DB_PASSWORD"] ?? environment["PGPASSWORD"]
    }

    var status: GuardSnapshot.Shared { lock.withLock { current } }

    /// The site's state before this edge decides anything: bans in force and offences that still
    /// count. Nil when the database does not answer (the edge then starts alone and catches up later).
    func catchUp(at second: Int, forgiveAfter: Int) async -> [SharedDecision]? {
        do {
            try await store.migrate()
            let (latest, through) = try await store.state(at: second, forgiveAfter: forgiveAfter)
            lock.withLock {
                cursor = through
                current.connected = true
                current.problem = nil
            }
            return latest
        } catch {
            note(error)
            return nil
        }
    }

    /// Decisions from other edges that arrived since the last call.
    func take() -> [SharedDecision] {
        lock.withLock {
            defer { inbox.removeAll() }
            return inbox
        }
    }

    /// A site-wide alert this edge raised: sent only if no other edge raised the same kind within the
    /// cooldown (`takeClaimed`), so the site gets one alert per anomaly.
    func raise(_ alert: GuardDecision) {
        lock.withLock { raised.append(alert) }
        bell.ring()
    }

    /// The site-wide alerts this edge claimed since the last call (its own, or the site's traffic's).
    func takeClaimed() -> [GuardDecision] {
        lock.withLock {
            defer { claimed.removeAll() }
            return claimed
        }
    }

    /// Changed guard settings (SIGHUP): the site's rules follow them.
    func reconfigure(_ config: GuardConfig) { lock.withLock { site.reconfigure(config) } }

    /// Something was queued to send, or a notification came: look now.
    func wake() { bell.ring() }

    /// Sends, receives and beats until cancelled; every failure is reported and retried a second later.
    func run(heartbeat: @escaping @Sendable () -> EdgeStatus) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listen() }
            group.addTask { await self.exchange(heartbeat: heartbeat) }
            await group.next()
            group.cancelAll()
        }
    }

    private func listen() async {
        while !Task.isCancelled {
            do {
                try await store.listen { [bell] in bell.ring() }
            } catch {
                if Task.isCancelled { return }
                note(SharedStoreError("listening on \(store.url.shown): \(error)"))
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    private func exchange(heartbeat: @Sendable () -> EdgeStatus) async {
        var migrated = false, nextBeat = 0, nextPrune = 0
        while !Task.isCancelled {
            do {
                try await claimAlerts()
                if !migrated { try await store.migrate() }
                migrated = true
                try await send()
                try await exchangeTraffic()
                let fresh = try await store.decisions(after: lock.withLock { cursor }, excluding: settings.edge)
                if let last = fresh.last?.id {
                    lock.withLock {
                        inbox += fresh
                        cursor = last
                    }
                    arrived()
                }
                let second = Int(Date().timeIntervalSince1970)
                if second >= nextBeat {
                    try await store.heartbeat(heartbeat())
                    let edges = try await store.edges()
                    lock.withLock { current.edges = edges }
                    nextBeat = second + 5
                }
                if second >= nextPrune {
                    try await store.prune(endedBefore: second - Int(settings.retention.seconds))
                    try await store.prune(trafficBefore: second - lock.withLock { site.config.baselineWindow } - 3600)
                    nextPrune = second + 3600
                }
                lock.withLock {
                    current.connected = true
                    current.problem = nil
                }
            } catch {
                note(error)
            }
            await bell.wait(upTo: .seconds(1))
        }
    }

    /// This edge's queued decisions, oldest first, in batches; each batch leaves the queue once written.
    private func send() async throws {
        while true {
            let queued = try local.outgoing(limit: 5000)
            lock.withLock { current.pending = queued.count }
            guard let last = queued.last else { return }
            try await store.publish(queued.map { shared($0.item) })
            try local.removeOutgoing(through: last.seq)
        }
    }

    /// Seconds an edge's second may still change after it closed (late lines), and seconds more the
    /// site waits for every edge to have sent it.
    static let (settling, gathering) = (3, 2)

    /// Publishes this edge's settled seconds from its own store (so an outage's seconds are sent
    /// when the database returns), then reads the site's newly gathered seconds and judges them.
    private func exchangeTraffic() async throws {
        let now = Int(Date().timeIntervalSince1970)
        let keep = lock.withLock { site.config.baselineWindow }
        if trafficCursor == nil { trafficCursor = try await store.lastPublished(by: settings.edge) ?? now - keep }
        let unsent = try local.history(since: max(trafficCursor! + 1, now - keep)).filter { $0.second <= now - Self.settling }
        try await store.publish(traffic: unsent.map { TrafficSecond(second: $0.second, requests: $0.requests, errors: $0.errors) }, from: settings.edge)
        if let last = unsent.last { trafficCursor = last.second }
        let after = lock.withLock { siteCursor } ?? now - keep
        let gathered = try await store.site(after: after, through: now - Self.settling - Self.gathering)
        lock.withLock {
            for second in gathered {
                // Catching up over old seconds learns from them, but alerts only on what is recent.
                if let alert = site.add(second), alert.at >= now - 60 { raised.append(alert) }
            }
            siteCursor = max(after, now - Self.settling - Self.gathering)
            current.siteRPS = site.rate
            current.siteBaseline = site.baseline.current
            current.siteEdges = site.edges
        }
        if lock.withLock({ !raised.isEmpty }) { try await claimAlerts() }
    }

    /// Claims every raised alert for the site; when the database cannot answer, this edge sends them
    /// itself (an alert twice is better than none).
    private func claimAlerts() async throws {
        let alerts = lock.withLock {
            defer { raised.removeAll() }
            return raised
        }
        var mine: [GuardDecision] = []
        defer { lock.withLock { claimed += mine } }
        for (index, alert) in alerts.enumerated() {
            do {
                let kind = (alert.alert ?? .traffic).rawValue
                let cooldown = lock.withLock { site.config.globalCooldown }
                if try await store.claimAlert(kind, at: alert.at, cooldown: cooldown, edge: settings.edge, condition: alert.condition) == nil {
                    mine.append(alert)
                }
            } catch {
                mine += alerts[index...]
                throw error
            }
        }
    }

    func shared(_ item: GuardStore.Outgoing) -> SharedDecision {
        let ban = item.ban
        let address = ban.ip.isV4 || ban.target.isRange ? ban.target.description : "\(ban.ip)/\(ipv6Prefix)"
        return SharedDecision(edge: settings.edge, action: item.action == .ban ? .ban : .unban, address: address, since: ban.since,
                              until: item.action == .ban ? ban.until : nil, offence: ban.offence, reason: ban.reason, condition: item.condition)
    }

    private func note(_ error: any Error) {
        lock.withLock {
            current.connected = false
            current.problem = "\(error)"
        }
    }
}

/// Wakes one waiter, or the next one to wait.
final class Bell: @unchecked Sendable {
    private let lock = NSLock()
    private var rung = false
    private var waiter: CheckedContinuation<Void, Never>?

    func ring() {
        let waiting: CheckedContinuation<Void, Never>? = lock.withLock {
            guard let waiter else {
                rung = true
                return nil
            }
            self.waiter = nil
            return waiter
        }
        waiting?.resume()
    }

    /// Returns when rung (at once if it was rung since the last wait), or after `limit`.
    func wait(upTo limit: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let now: Bool = self.lock.withLock {
                        if self.rung {
                            self.rung = false
                            return true
                        }
                        self.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
            group.addTask {
                if (try? await Task.sleep(for: limit)) != nil { self.ring() }
            }
            await group.next()
            group.cancelAll()
        }
        lock.withLock { rung = false }
    }
}
