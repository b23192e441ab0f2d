import Foundation
import Guard
import Manifest
import Telemetry
import Vocabulary
import Web

/// Slack incoming webhook (`{"text": …}`) or a generic JSON webhook (`{"events": […]}`), through
/// async-http-client. A burst of decisions is coalesced into one message; 5xx answers and timeouts
/// are retried with exponential backoff; a dead or slow endpoint only delays its own messages.
public final class WebhookNotifier: Notifier, @unchecked Sendable {
    public enum Style: Sendable { case slack, json }

    public let url: String
    public let style: Style
    let maxAttempts: Int
    let firstBackoff: Duration
    let timeout: Duration
    private let lock = NSLock()
    private var queue: [GuardDecision] = []
    private var sending = false
    private var delivered = 0
    private var failures: [String] = []
    /// Decisions dropped from a full queue.
    private var dropped = 0
    /// Decisions waiting at most, and failure reasons kept at most.
    static let maxQueued = 1000

    public init(url: String, style: Style, maxAttempts: Int = 5, firstBackoff: Duration = .milliseconds(500), timeout: Duration = .seconds(5)) {
        self.url = url
        self.style = style
        self.maxAttempts = maxAttempts
        self.firstBackoff = firstBackoff
        self.timeout = timeout
    }

    /// The webhooks the manifest's guard section names (Slack and/or generic JSON).
    public static func all(for settings: GuardSettings) -> [any Notifier] {
        [settings.slackWebhook.map { WebhookNotifier(url: $0, style: .slack) }, settings.webhook.map { WebhookNotifier(url: $0, style: .json) }]
            .compactMap { $0 }
    }

    public func notify(_ decision: GuardDecision) {
        guard [.ban, .unban, .globalAnomaly, .trackingCap].contains(decision.action) else { return }
        let start = lock.withLock { () -> Bool in
            // A dead endpoint during a ban storm must not grow memory: the oldest waiting go first.
            if queue.count >= Self.maxQueued { queue.removeFirst(queue.count - Self.maxQueued + 1); dropped += 1 }
            queue.append(decision)
            if sending { return false }
            sending = true
            return true
        }
        if start { Task.detached { await self.drain() } }
    }

    /// Messages delivered so far and the reasons of those given up on.
    public var report: (delivered: Int, failures: [String], dropped: Int) { lock.withLock { (delivered, failures, dropped) } }

    private func drain() async {
        while true {
            let batch = lock.withLock { () -> [GuardDecision] in
                let taken = Array(queue.prefix(50))
                queue.removeFirst(taken.count)
                if taken.isEmpty { sending = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            await send(body(for: batch))
        }
    }

    /// Slack's incoming-webhook message.
    struct SlackMessage: Encodable { var text: String }
    /// The generic webhook's body: the batch's decisions as data.
    struct Events: Encodable { var events: [DecisionRecord] }

    func body(for batch: [GuardDecision]) -> String {
        switch style {
        case .slack: SlackMessage(text: batch.map(Self.sentence).joined(separator: "\n")).jsonLine
        case .json: Events(events: batch.map(\.record)).jsonLine
        }
    }

    private func send(_ body: String) async {
        var backoff = firstBackoff
        var lastError = ""
        for attempt in 1...maxAttempts {
            do {
                let response = try await HTTP.send(.POST, url, headers: [("Content-Type", "application/json")], body: body,
                                                   timeout: timeout, limit: 1 << 16)
                if (200..<300).contains(response.status) {
                    lock.withLock { delivered += 1 }
                    return
                }
                lastError = "HTTP \(response.status)"
                if response.status < 500 && response.status != 429 { break }  // our fault: retrying will not help
            } catch {
                lastError = "\(error)"
            }
            if attempt < maxAttempts {
                try? await Task.sleep(for: backoff)
                backoff *= 2
            }
        }
        lock.withLock {
            failures.append(lastError)
            if failures.count > Self.maxQueued { failures.removeFirst(failures.count - Self.maxQueued) }
        }
    }

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
