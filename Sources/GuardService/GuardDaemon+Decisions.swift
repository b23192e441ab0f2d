import Foundation
import Detection
import Vocabulary

/// What the daemon does with its decisions: saves them first (write-ahead, `Checkpointer`), then
/// changes the firewall in one batch (`EnforcementQueue`), appends the audit lines and queues the
/// alerts. Everything it acts on is what the decisions carry.
extension GuardDaemon {
    /// Saves what changed (write-ahead: before the firewall or anyone hears of it).
    func checkpoint(_ decisions: [GuardDecision]) {
        checkpoints.take(decisions, sharing: shared != nil, summary: engine.baseline.current)
        let sharing = !checkpoints.unsaved.outgoing.isEmpty
        switch checkpoints.save(learned: { engine.learned(secondsAfter: $0) }, position: tail.position, lines: lines, badLines: badLines) {
        case .saved(let recovered):
            if sharing { shared?.wake() }
            if recovered { console.say("guard: store writable again; nothing was lost") }
        case .failed(let problem, let firstTime):
            // Bans still go into the kernel; what was not saved is kept and saved with the next checkpoint.
            if firstTime { console.warn("guard: \(problem) (bans still apply; saving is retried every second)") }
        }
    }

    /// Applies decisions: the firewall in one batch (a burst of bans is one transaction), then the
    /// audit log and the notifiers.
    func handle(_ decisions: [GuardDecision]) {
        decisions.forEach { firewall.queue($0) }
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

    /// Sends the firewall every change not yet in the kernel: the batch just decided, or one the
    /// firewall refused earlier (no descriptor left, `nft` busy), tried again every second so the
    /// engine and the kernel never disagree for longer than the firewall does.
    func enforce(at second: Int) {
        switch firewall.flush(to: enforcer, at: second, ipv6Prefix: settings.ipv6Prefix) {
        case .nothingPending, .applied(recovered: nil):
            break
        case .applied(let recovered?):
            console.say("guard: firewall answers again; \(recovered) pending changes applied")
        case .refused(let problem, let firstTime):
            if firstTime { console.warn("guard: firewall: \(problem) (the changes are kept and retried every second)") }
        }
    }

    func appendAudit(_ lines: [String]) {
        do {
            try AuditLog(path: auditPath).append(lines)
        } catch {
            console.warn("guard: \(error)")
        }
    }
}
