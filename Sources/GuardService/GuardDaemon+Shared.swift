import Foundation
import Detection
import SharedDecisions
import Vocabulary

/// The daemon as one edge of several (`guard.shared`): joining the site, adopting other edges'
/// decisions, and handing site-wide alerts to the site to be claimed once.
extension GuardDaemon {
    /// With `guard.shared`: adopts the site's bans in force and the offences that still count before
    /// anything is decided here, then keeps exchanging decisions in the background.
    func joinSite() async -> Task<Void, Never>? {
        guard let shared else { return nil }
        let second = now
        if let state = await shared.catchUp(at: second, forgiveAfter: Int(settings.forgiveAfter.seconds)) {
            // Saved like any ban; the kernel gets them with the rest in `reconcile`, in one batch.
            let adopted = engine.adoptQuietly(valid(state).compactMap { BanBook.Ban($0, ipv6Prefix: settings.ipv6Prefix) }, at: second)
            checkpoints.adopt(adopted)
            console.say("guard: shared decisions at \(shared.store.url.shown) as edge \(shared.settings.edge): \(engine.banBook.active.count) bans in force after catching up")
        } else {
            console.warn("guard: shared decisions: \(shared.status.problem ?? "no answer"); deciding alone and queueing decisions until the database answers")
        }
        return Task { [weak self] in
            await shared.run { [weak self] in
                let snapshot = self?.snapshot
                return EdgeStatus(edge: shared.settings.edge, heartbeat: Int(Date().timeIntervalSince1970),
                                  linesPerSecond: snapshot?.globalRPS ?? 0, bans: snapshot?.bans.count ?? 0)
            }
        }
    }

    /// Other edges' decisions, as they decided them; rows that no real decision could be are skipped.
    func adopt(_ decisions: [SharedDecision], at second: Int) {
        for decision in valid(decisions) {
            guard let ban = BanBook.Ban(decision, ipv6Prefix: settings.ipv6Prefix) else { continue }
            switch decision.action {
            case .ban: engine.adopt(ban, condition: decision.condition, from: decision.edge, at: second)
            case .unban: engine.adoptUnban(ban.target, from: decision.edge, at: second)
            }
        }
    }

    /// The decisions that hold what a real decision holds (`SharedDecision.problem`); the others are
    /// counted and said once per batch, with the first one's row and reason.
    func valid(_ decisions: [SharedDecision]) -> [SharedDecision] {
        var refused: [(SharedDecision, String)] = []
        let kept = decisions.filter { decision in
            guard let problem = decision.problem else { return true }
            refused.append((decision, problem))
            return false
        }
        if let (first, problem) = refused.first {
            refusedSharedRows += refused.count
            console.warn("guard: shared decisions: skipped \(refused.count) row(s) no real decision could be, first id \(first.id.map(String.init) ?? "?"): \(problem); an edge or the path to the database wrote them (see docs/security.md)")
        }
        return kept
    }

    /// With `guard.shared` and the database answering, this edge's site-wide alerts go to the site
    /// to be claimed (one alert per anomaly for the whole site) and those it claimed come back.
    func siteWide(_ decisions: [GuardDecision]) -> [GuardDecision] {
        guard let shared else { return decisions }
        var kept = decisions
        if shared.status.connected {
            kept.removeAll { decision in
                guard decision.alert != nil, decision.edge == nil else { return false }
                shared.raise(decision)
                return true
            }
        }
        return kept + shared.takeClaimed()
    }
}
