import Foundation
import Guard
import Vocabulary

/// What the daemon does with its decisions: saves them first (write-ahead), then changes the
/// firewall in one batch, appends the audit lines and queues the alerts.
extension GuardDaemon {
    /// Saves what changed (write-ahead: before the firewall or anyone hears of it); with
    /// `guard.shared`, this edge's bans and manual unbans are queued for the site in the same transaction.
    func checkpoint(_ decisions: [GuardDecision]) {
        for decision in decisions where shared != nil && decision.edge == nil {
            guard let ip = decision.ip else { continue }
            if decision.action == .ban, let ban = decision.ban {
                unsaved.outgoing.append(.init(action: .ban, ban: ban, condition: decision.condition))
            } else if decision.action == .unban, decision.condition == "manual" {
                let lifted = BanBook.Ban(ip: ip, since: decision.at, until: nil, offence: decision.offence, reason: "manual")
                unsaved.outgoing.append(.init(action: .unban, ban: lifted, condition: decision.condition))
            }
        }
        for decision in decisions {
            switch decision.action {
            case .ban:
                if let ban = decision.ban { unsaved.ban(ban) }
                if let offence = decision.offenceRecord { unsaved.offence(offence) }
            case .unban:
                if let ip = decision.ip { unsaved.lift(ip) }
            case .baselineRecalc:
                if let summary = engine.baseline.current { unsaved.recalcs.append(.init(at: decision.at, summary: summary)) }
            case .globalAnomaly, .trackingCap:
                break
            }
        }
        let learned = engine.learned(secondsAfter: savedThrough)
        unsaved.learn(learned)
        unsaved.position = tail.position ?? unsaved.position
        (unsaved.lines, unsaved.badLines) = (lines, badLines)
        do {
            try store.save(unsaved)
            if !unsaved.outgoing.isEmpty { shared?.wake() }
            unsaved = GuardStore.Checkpoint()
            if learned.baseline.first != nil { savedThrough = learned.baseline.newest - 1 - Self.lateSeconds }
            if storeProblem != nil { console.say("guard: store writable again; nothing was lost") }
            storeProblem = nil
        } catch {
            // Bans still go into the kernel; what was not saved is kept and saved with the next checkpoint.
            if storeProblem != error.description { console.warn("guard: \(error) (bans still apply; saving is retried every second)") }
            storeProblem = error.description
        }
    }

    /// Applies decisions: the firewall in one batch (a burst of bans is one transaction), then the
    /// audit log and the notifiers.
    func handle(_ decisions: [GuardDecision]) {
        for decision in decisions {
            guard let ip = decision.ip, [.ban, .unban].contains(decision.action) else { continue }
            unenforced[ip] = decision.action == .ban
        }
        enforce(at: decisions.last?.at ?? now)
        let lines = decisions.map(\.auditLine)
        record(decisions, lines: lines, enforcedAt: clock())
        appendAudit(lines)
        for (decision, line) in zip(decisions, lines) {
            logger.log(level: decision.action == .baselineRecalc ? .debug : .notice, "\(line)", metadata: decision.logMetadata)
            // One alert per decision, from the edge that decided it.
            if decision.edge == nil { notifiers.forEach { $0.notify(decision) } }
        }
    }

    /// Brings the kernel in line with the ban book for every address whose change has not reached it
    /// yet: the batch just decided, or one the firewall refused earlier (no descriptor left, `nft`
    /// busy). A refused batch is tried again entry by entry (at most `singleTries` a second), so one
    /// entry the firewall will not take never holds back the others; what is still refused is kept
    /// and tried every second, so the engine and the kernel never disagree for longer than the
    /// firewall does.
    func enforce(at second: Int) {
        guard !unenforced.isEmpty else { return }
        var changes: [(ip: IPAddress, ban: Bool, entry: EnforcedBan)] = []
        for (ip, wanted) in unenforced {
            if !wanted || engine.banBook.active[ip] == nil { changes.append((ip, false, enforced(ip, seconds: nil))) }
            if wanted, let ban = engine.banBook.active[ip] { changes.append((ip, true, entry(ban, at: second))) }
        }
        do {
            try apply(changes)
            if firewallFailing { console.say("guard: firewall answers again; \(unenforced.count) pending changes applied") }
            unenforced.removeAll()
            firewallFailing = false
        } catch {
            firewallFailures += 1
            if !firewallFailing { console.warn("guard: firewall: \(error) (the changes are kept and retried every second)") }
            firewallFailing = true
            guard changes.count > 1 else { return }
            for change in changes.prefix(Self.singleTries) where (try? apply([change])) != nil { unenforced[change.ip] = nil }
        }
    }

    /// Entries tried one by one after a refused batch, each second.
    static let singleTries = 64

    private func apply(_ changes: [(ip: IPAddress, ban: Bool, entry: EnforcedBan)]) throws {
        let lifting = changes.filter { !$0.ban }.map(\.entry), banning = changes.filter(\.ban).map(\.entry)
        if !lifting.isEmpty { try enforcer.unban(lifting) }
        if !banning.isEmpty { try enforcer.ban(banning) }
    }

    func appendAudit(_ lines: [String]) {
        do {
            try AuditLog(path: auditPath).append(lines)
        } catch {
            console.warn("guard: \(error)")
        }
    }
}
