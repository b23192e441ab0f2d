import Foundation
import Manifest
import Policy
import Vocabulary
import Web

/// Lifecycle events to the same webhooks as the guard's alerts (`guard.slack_webhook`,
/// `guard.webhook`): deploys, canary starts, each promotion step, promotions, policy blocks,
/// rollbacks and failed hooks. One line each for Slack; the history event itself for JSON.
public struct LifecycleNotices: Sendable {
    let name: String
    let webhooks: [Webhook]

    public init(manifest: Manifest) {
        name = manifest.name
        webhooks = [manifest.guardSettings.slackWebhook.map { Webhook(url: $0, style: .slack) },
                    manifest.guardSettings.webhook.map { Webhook(url: $0, style: .json) }].compactMap { $0 }
    }

    /// Posts the event when it is one people want to hear of.
    public func announce(_ event: HistoryEvent) {
        guard !webhooks.isEmpty, let text = sentence(event) else { return }
        let message = Webhook.Message(text: text, record: JSONValue(event))
        webhooks.forEach { $0.post(message) }
    }

    /// Waits (at most `limit`) until every announcement was sent: a command exits right after.
    public func flush(within limit: Duration = .seconds(5)) async {
        for webhook in webhooks { await webhook.flush(within: limit) }
    }

    /// One line a person reads, or nil for an event nobody is told of (init, status scrapes…).
    func sentence(_ event: HistoryEvent) -> String? {
        let details = event.details
        func text(_ key: String) -> String { details[key]?.string ?? details[key].map(\.description) ?? "?" }
        switch event.event {
        case .deploy:
            return ":rocket: \(name): \(text("version")) is stable" + (details["replaced"]?.string.map { " (replaced \($0))" } ?? "")
        case .canaryStart:
            return ":hatching_chick: \(name): canary \(text("version")) started with \(text("weight"))% of traffic"
        case .promoteStep:
            return ":arrow_up: \(name): promotion step \(text("step")): canary at \(text("weight"))%"
                + (details["inconclusive"] == .bool(true) ? ", inconclusive: waiting for traffic" : "")
        case .promote:
            return ":white_check_mark: \(name): promoted \(text("to")) (was \(text("from")))"
        case .rollback:
            return ":leftwards_arrow_with_hook: \(name): rolled back (\(text("reason")))"
        case .policy:
            guard let decision = event.decision, !decision.allow else { return nil }
            let reasons = decision.violations.map(\.message).joined(separator: "; ")
            return ":no_entry: \(name): \(decision.policy.rawValue) blocks" + (event.forced == true ? " (forced past it)" : "") + ": \(reasons)"
        case .hook:
            return details["ok"] == .bool(false) ? ":warning: \(name): hook \(text("hook")) failed (\(text("outcome")))" : nil
        case .promoteAborted:
            return ":octagonal_sign: \(name): promotion interrupted at step \(text("step")); canary back to \(text("weight"))%"
        case .failure:
            return ":x: \(name): `swiftdeploy \(text("command"))` failed: \(text("error").split(separator: "\n").first.map(String.init) ?? "")"
        case .tls:
            return ":lock: \(name): nginx reloaded its certificate (expires \(text("expires")), \(text("days_left")) days left)"
        case .initialise, .chaos, .teardown, .statusScrape, .restart:
            return nil
        }
    }
}
