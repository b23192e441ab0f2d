import Foundation
import Detection
import GuardStorage
import Logging
import Manifest
import Spawn
import Telemetry
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// `swiftdeploy guard bans list|add|remove`: through the running daemon when there is one,
/// otherwise straight on the store and the firewall; with `guard.shared`, on the whole site's
/// decisions in PostgreSQL. A ban holds one address (an IPv6 address: its group) or a range.
public struct GuardBansUseCase: Sendable {
    public let settings: GuardSettings
    public let stateDirectory: String
    public let console: any Console

    public init(settings: GuardSettings, stateDirectory: String, console: any Console = TerminalConsole()) {
        self.settings = settings
        self.stateDirectory = stateDirectory
        self.console = console
    }

    func openStore() throws -> GuardStore { try GuardStore(path: GuardStore.path(stateDirectory: stateDirectory)) }

    /// Whether a guard ever kept state in `directory` (a listing must not create a store there).
    public static func hasState(in directory: String) -> Bool { FileManager.default.fileExists(atPath: GuardStore.path(stateDirectory: directory)) }

    /// The bans in force: with `guard.shared`, the whole site's from PostgreSQL (each with the edge
    /// that decided it); else, or when the database does not answer, this edge's own store.
    public func list(json: Bool) async throws {
        let now = Int(Date().timeIntervalSince1970)
        var active: [ListedBan]?
        if let shared = settings.shared {
            do {
                active = try await siteBans(shared, at: now)
            } catch {
                console.warn("guard: the shared decisions did not answer (\(error)); showing this edge's own store")
            }
        }
        let listed = try active ?? inForce(at: now).map { ban in
            ListedBan(ip: shown(ban.target), offence: ban.offence, remainingSeconds: ban.until.map { $0 - now } ?? -1, reason: ban.reason)
        }
        if json {
            console.say(listed.jsonLine)
            return
        }
        if listed.isEmpty { console.say("no active bans"); return }
        let site = settings.shared != nil
        let rows = [["ip", "offence", "remaining", "reason"] + (site ? ["edge"] : [])] + listed.map { ban in
            [ban.ip, String(ban.offence), ban.remainingSeconds < 0 ? "permanent" : Duration.seconds(ban.remainingSeconds).readable, ban.reason]
                + (site ? [ban.edge ?? "-"] : [])
        }
        TextTable.lines(rows).forEach { console.say($0) }
    }

    /// This edge's bans in force at `now`, from its store.
    func inForce(at now: Int) throws -> [BanBook.Ban] { try openStore().bans().filter { ($0.until ?? Int.max) > now } }

    /// The site's bans in force, each address's latest decision.
    func siteBans(_ shared: SharedGuardSettings, at now: Int) async throws -> [ListedBan] {
        let store = try SharedLink.open(shared)
        defer { store.close() }
        try await store.migrate()
        let latest = try await store.state(at: now, forgiveAfter: 0).latest
        // Rows no real decision could be (SharedDecision.problem) are not listed as bans.
        return latest.filter { $0.problem == nil && $0.isInForce(at: now) }.sorted { $0.address < $1.address }.map { decision in
            ListedBan(ip: decision.address, offence: decision.offence, remainingSeconds: decision.until.map { $0 - now } ?? -1,
                      reason: decision.reason, edge: decision.edge)
        }
    }

    /// A ban's target as the firewall holds it: an IPv6 client with the prefix it is banned by
    /// (`2001:db8:1:2::/64`), a range with its own.
    func shown(_ target: BanTarget) -> String {
        target.isRange || target.address.isV4 || settings.ipv6Prefix == 128 ? target.description : "\(target.address)/\(settings.ipv6Prefix)"
    }

    /// Lifts every ban in force here (`bans remove --all`), or those whose reason is `reason`;
    /// returns how many.
    @discardableResult
    public func removeAll(reason: String? = nil) async throws -> Int {
        let chosen = try inForce(at: Int(Date().timeIntervalSince1970)).filter { reason == nil || $0.reason == reason }
        for ban in chosen { try await change(add: false, target: ban.target.description, seconds: nil) }
        let which = reason.map { " with reason \"\($0)\"" } ?? ""
        console.say("guard: \(chosen.count) ban\(chosen.count == 1 ? "" : "s")\(which) lifted")
        return chosen.count
    }

    /// Bans or lifts an address or a range by hand: through the daemon when one runs here (it
    /// shares the decision; the command waits, up to 5 s, until the daemon has applied it), else
    /// decided here and, with `guard.shared`, sent to the site at once. `reason` is the operator's
    /// own (default "manual").
    public func change(add: Bool, target text: String, seconds: Int?, reason: String? = nil) async throws {
        guard let target = BanTarget(text)?.grouped(ipv6Prefix: settings.ipv6Prefix) else { throw GuardCommandError.notAnAddress(text) }
        let store = try openStore()
        if add { try check(target, against: store) }
        let request = GuardStore.Request(action: add ? .ban : .unban, target: target, seconds: seconds, reason: reason)
        if let pid = try store.load().daemonPid, ChildProcess.isAlive(pid) {
            try store.enqueue(request)
            // The daemon takes requests once a second: wait for its answer, so a `list` right after shows it.
            let deadline = ContinuousClock.now + .seconds(5)
            var applied = false
            while !applied, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                let now = Int(Date().timeIntervalSince1970)
                applied = try store.bans().contains { $0.target == target && ($0.until ?? Int.max) > now } == add
            }
            console.say(applied ? "guard: \(shown(target)) \(add ? "banned" : "unbanned") by the running daemon (pid \(pid))"
                        : "guard: \(add ? "ban" : "unban") of \(shown(target)) handed to the running daemon (pid \(pid)); it has not applied it yet")
            return
        }
        // No daemon: the same engine decides (offence count, grouping), then the firewall and the store.
        let enforcer = EnforcerChoice.make(settings.enforcer) { console.say($0) }
        try enforcer.install()
        let daemon = try GuardDaemon(settings: settings, stateDirectory: stateDirectory, enforcer: enforcer, notifiers: [], console: console)
        let now = Int(Date().timeIntervalSince1970)
        guard daemon.apply(request, at: now) != nil else { console.say("guard: \(shown(target)) is not banned"); return }
        let decisions = daemon.engine.drain()
        daemon.checkpoint(decisions)
        daemon.handle(decisions)
        if daemon.checkpoints.problem != nil { throw GuardCommandError.notSaved }
        guard let shared = daemon.shared else { return }
        do {
            try await shared.flush()
            console.say("guard: shared with the site at \(shared.store.url.shown)")
        } catch {
            console.warn("guard: the shared decisions did not answer (\(error)); the decision is queued here and sent when this edge's daemon runs")
        }
        shared.store.close()
    }

    /// Why a ban of `target` cannot be made, said before anything is handed over: an address the
    /// guard must never ban, or a range inside a wider one already banned here.
    func check(_ target: BanTarget, against store: GuardStore) throws {
        if target.isTooWide { throw GuardCommandError.tooWide(target.description) }
        if GuardConfig(daemon: settings).shields(target) { throw GuardCommandError.shielded(target.description) }
        guard target.isRange else { return }
        var book = BanBook(schedule: [nil], forgiveAfter: 0)
        book.restore(bans: try inForce(at: Int(Date().timeIntervalSince1970)), offences: [])
        if let wider = book.range(holding: target), wider.target != target {
            throw GuardCommandError.insideRange(target.description, range: wider.target.description)
        }
    }
}

/// One active ban in `guard bans list --json`; `remaining_s` -1 is permanent.
public struct ListedBan: Codable, Sendable, Equatable {
    public var ip: String
    public var offence: Int
    public var remainingSeconds: Int
    public var reason: String
    /// With `guard.shared`: the edge that decided it.
    public var edge: String?

    public init(ip: String, offence: Int, remainingSeconds: Int, reason: String, edge: String? = nil) {
        (self.ip, self.offence, self.remainingSeconds, self.reason, self.edge) = (ip, offence, remainingSeconds, reason, edge)
    }

    enum CodingKeys: String, CodingKey {
        case ip, offence, remainingSeconds = "remaining_s", reason, edge
    }
}
