import Detection
import Foundation
import GuardStorage
import Manifest
import Telemetry
import Vocabulary

/// What reaches the running daemon from outside its log: manual bans and unbans (`guard bans`, the
/// dashboard) through the store, and new settings after a SIGHUP.
extension GuardDaemon {
    /// Manual bans and unbans queued by `guard bans add|remove` (or the dashboard) while the daemon runs.
    func takeRequests(at second: Int) {
        let requests: [GuardStore.Request]
        do { requests = try store.takeRequests() } catch { return }
        for request in requests { apply(request, at: second) }
    }

    @discardableResult
    public func apply(_ request: GuardStore.Request, at second: Int) -> GuardDecision? {
        let target = request.target.grouped(ipv6Prefix: settings.ipv6Prefix)
        switch request.action {
        case .ban: return engine.banManually(target, at: second, length: request.seconds, reason: request.reason ?? "manual")
        case .unban: return engine.unbanManually(target, at: second)
        }
    }

    /// New settings after a SIGHUP: thresholds, ban lengths, allow list, trusted proxies, baseline
    /// settings and webhooks apply at once; the log, the enforcer and the window need a restart.
    func reload(_ new: GuardSettings) {
        let config = GuardConfig(daemon: new)
        var later = engine.reconfigure(config)
        shared?.reconfigure(config)
        if new.log != settings.log { later.append("guard.log") }
        if new.enforcer != settings.enforcer { later.append("guard.enforcer") }
        parser = GuardLogParser(new)
        announcedFormat = nil
        if (new.slackWebhook, new.webhook) != (settings.slackWebhook, settings.webhook) { notifiers = WebhookNotifier.all(for: new) }
        settings = new
        console.say("guard: configuration reloaded" + (later.isEmpty ? "" : "; needs a restart to change: \(later.joined(separator: ", "))"))
    }
}
