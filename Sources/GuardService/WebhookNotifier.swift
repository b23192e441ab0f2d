import Foundation
import Detection
import Manifest
import Telemetry
import Vocabulary
import Web

/// The guard's decisions to a webhook (`guard.slack_webhook`, `guard.webhook`): one line each for
/// Slack, `DecisionRecord`s for JSON; queued, coalesced and retried by `Webhook`.
public final class WebhookNotifier: Notifier, Sendable {
    public typealias Style = Webhook.Style
    let webhook: Webhook

    public init(url: String, style: Style, maxAttempts: Int = 5, firstBackoff: Duration = .milliseconds(500), timeout: Duration = .seconds(5)) {
        webhook = Webhook(url: url, style: style, maxAttempts: maxAttempts, firstBackoff: firstBackoff, timeout: timeout)
    }

    /// The webhooks the manifest's guard section names (Slack and/or generic JSON).
    public static func all(for settings: GuardSettings) -> [any Notifier] {
        [settings.slackWebhook.map { WebhookNotifier(url: $0, style: .slack) }, settings.webhook.map { WebhookNotifier(url: $0, style: .json) }]
            .compactMap { $0 }
    }

    public func notify(_ decision: GuardDecision) {
        guard [.ban, .unban, .globalAnomaly, .trackingCap, .cohort].contains(decision.action) else { return }
        webhook.post(Webhook.Message(text: Self.sentence(decision), record: JSONValue(decision.record)))
    }

    /// Messages delivered so far and the reasons of those given up on.
    public var report: (delivered: Int, failures: [String], dropped: Int) { webhook.report }

    /// One line a person reads in Slack.
    static func sentence(_ decision: GuardDecision) -> String {
        let when = ISO8601.format(decision.at)
        let rate = String(format: "%.2f req/s", decision.rate), baseline = String(format: "%.2f req/s", decision.baseline)
        switch decision.action {
        case .ban:
            return ":no_entry: BAN \(decision.ip.map(\.description) ?? "?") for \(length(decision.duration)) (offence \(decision.offence)): \(decision.condition), rate \(rate) against an expected \(baseline), at \(when)"
        case .unban:
            let next = decision.nextDuration.map { length($0) } ?? "unknown"
            return ":white_check_mark: UNBAN \(decision.ip.map(\.description) ?? "?") after \(length(decision.duration)) at \(when); a next offence would mean a ban of \(next)"
        case .globalAnomaly:
            return ":warning: GLOBAL ANOMALY: \(decision.condition), site rate \(rate) against a learned \(baseline), at \(when) (alert only, nobody banned)"
        default:
            return ":warning: \(decision.action.rawValue.uppercased()): \(decision.condition) at \(when)"
        }
    }

    static func length(_ seconds: Int?) -> String {
        guard let seconds else { return "permanent" }
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
