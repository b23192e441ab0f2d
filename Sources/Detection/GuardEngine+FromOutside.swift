import CPrefetch
import Foundation
import Telemetry
import Vocabulary

/// Decisions from outside the log (a person, another edge) and the state a restart brings back.
extension GuardEngine {
    /// A manual ban (from the CLI or the dashboard) of a client or a range; `length` nil is permanent.
    /// nil when the target is shielded (allow list, trusted proxy, the host: a manual ban must not
    /// lock out what the operator said never to ban) or lies in a wider range already banned.
    public mutating func banManually(_ target: BanTarget, at second: Int, length: Int?, reason: String = "manual") -> GuardDecision? {
        guard !config.shields(target), rangeFits(target) else { return nil }
        let until = absorbRanges(inside: target, at: second, until: length.map { second + $0 })
        let ban = banBook.ban(target, at: second, reason: reason, length: .some(until.map { $0 - second }))
        var decision = GuardDecision(at: second, action: .ban, ip: target.address, duration: ban.duration, condition: reason,
                                     rate: rate(of: target.address), baseline: expected(for: target.address), offence: ban.offence)
        decision.rule = .manual
        (decision.ban, decision.offenceRecord) = (ban, banBook.offence(target))
        pending.append(decision)
        return decision
    }

    /// A ban another edge decided; nil when it changes nothing here (already in force, ended, or the
    /// address is shielded on this edge).
    @discardableResult
    public mutating func adopt(_ ban: BanBook.Ban, condition: String, from edge: String, at second: Int) -> GuardDecision? {
        guard !config.shields(ban.target), rangeFits(ban.target) else { return nil }
        // Nothing is lifted for a ban that has ended or is in force already (a stale row must not
        // clear this edge's ranges); a wider range lasts as long as those it takes the place of.
        var ban = ban
        if (ban.until ?? Int.max) > second, banBook.active[ban.target] != ban {
            ban.until = absorbRanges(inside: ban.target, at: second, until: ban.until)
        }
        guard banBook.adopt(ban, at: second) else { return nil }
        var decision = GuardDecision(at: second, action: .ban, ip: ban.ip, duration: ban.until.map { $0 - second },
                                     condition: "edge \(edge): \(condition)", rate: rate(of: ban.ip), baseline: expected(for: ban.ip),
                                     offence: ban.offence)
        decision.edge = edge
        (decision.ban, decision.offenceRecord) = (ban, banBook.offence(ban.target))
        pending.append(decision)
        return decision
    }

    /// Many bans other edges decided, taken as a restart takes its own store: no decision each (a new
    /// edge catching up over 100,000 bans writes one summary, not 100,000 audit lines). Returns the
    /// bans now in force here because of them, each with its address's offence record (what to save).
    public mutating func adoptQuietly(_ bans: [BanBook.Ban], at second: Int) -> [(ban: BanBook.Ban, offence: BanBook.Offence?)] {
        // Ranges first, widest first: a narrower range inside one already taken is then refused, and
        // one of this edge's own inside a range taken now is lifted (a decision: saved and enforced).
        return BanBook.widestFirst(bans).compactMap { ban -> BanBook.Ban? in
            guard !config.shields(ban.target), rangeFits(ban.target) else { return nil }
            var taken = ban
            if (ban.until ?? Int.max) > second, ban.target.isRange { taken.until = absorbRanges(inside: ban.target, at: second, until: ban.until) }
            return banBook.adopt(taken, at: second) ? taken : nil
        }.map { ($0, banBook.offence($0.target)) }
    }

    /// Whether a ban of `target` can be in force beside the others: a range wider than
    /// `BanTarget.widest` cannot, nor one inside a wider banned range (that range already drops it,
    /// and the kernel refuses overlapping ranges).
    func rangeFits(_ target: BanTarget) -> Bool {
        guard !target.isTooWide else { return false }
        guard target.isRange, let holder = banBook.range(holding: target) else { return true }
        return holder.target == target
    }

    /// Lifts the ranges in force inside the range `target`, which takes their place; returns `until`
    /// (nil: permanent) made at least as late as theirs, so no address is freed early.
    mutating func absorbRanges(inside target: BanTarget, at second: Int, until: Int?) -> Int? {
        var latest = until
        for ban in banBook.ranges(inside: target) {
            lift(ban.target, at: second, condition: "inside \(target)", edge: nil)
            latest = latest.flatMap { mine in ban.until.map { max(mine, $0) } }
        }
        return latest
    }

    /// An unban another edge made; nil when the target is not banned here.
    @discardableResult
    public mutating func adoptUnban(_ target: BanTarget, from edge: String, at second: Int) -> GuardDecision? {
        lift(target, at: second, condition: "edge \(edge): manual", edge: edge)
    }

    /// A manual unban; nil when the target was not banned.
    public mutating func unbanManually(_ target: BanTarget, at second: Int) -> GuardDecision? {
        lift(target, at: second, condition: "manual", edge: nil)
    }

    /// Lifts a ban by hand, here (`edge` nil) or on another edge.
    mutating func lift(_ target: BanTarget, at second: Int, condition: String, edge: String?) -> GuardDecision? {
        guard let ban = banBook.unban(target) else { return nil }
        let ip = target.address
        var decision = GuardDecision(at: second, action: .unban, ip: ip, duration: ban.duration, condition: condition,
                                     rate: rate(of: ip), baseline: expected(for: ip), offence: ban.offence,
                                     nextDuration: .some(banBook.nextLength(target, at: second)))
        decision.edge = edge
        decision.ban = ban
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
        // Cohorts keep what they found under new settings; switched off, they are forgotten.
        if let settings = applied.cohorts {
            if cohorts == nil { cohorts = CohortWatch(settings: settings, owners: owners) }
            cohorts?.settings = settings
        } else {
            cohorts = nil
        }
        clock.horizon = max(0, applied.reorderHorizon)
        config = applied
        // The allow list or the proxies may have changed: which clients are shielded is decided again.
        for slot in clients.indices where clients[slot].isTracked { clients[slot].shielded = applied.shields(clients[slot].ip) }
        return needRestart
    }
}
