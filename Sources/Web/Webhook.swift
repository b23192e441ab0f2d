import Foundation
import Vocabulary

/// One webhook endpoint: a Slack incoming webhook (`{"text": …}`) or a generic JSON webhook
/// (`{"events": […]}`), through async-http-client. Posting only queues: a burst is coalesced into
/// one message, 5xx answers and timeouts are retried with exponential backoff, and a dead or slow
/// endpoint only delays its own messages. The guard's alerts and the deploy side's lifecycle
/// events both go through it.
public final class Webhook: @unchecked Sendable {
    public enum Style: Sendable { case slack, json }

    /// One thing to tell: a line a person reads (Slack) and the same as data (JSON).
    public struct Message: Sendable {
        public var text: String
        public var record: JSONValue

        public init(text: String, record: JSONValue) { (self.text, self.record) = (text, record) }
    }

    public let url: String
    public let style: Style
    let maxAttempts: Int
    let firstBackoff: Duration
    let timeout: Duration
    private let lock = NSLock()
    private var queue: [Message] = []
    private var sending = false
    private var delivered = 0
    private var failures: [String] = []
    private var dropped = 0
    /// Messages waiting at most, and failure reasons kept at most.
    static let maxQueued = 1000

    public init(url: String, style: Style, maxAttempts: Int = 5, firstBackoff: Duration = .milliseconds(500), timeout: Duration = .seconds(5)) {
        self.url = url
        self.style = style
        self.maxAttempts = maxAttempts
        self.firstBackoff = firstBackoff
        self.timeout = timeout
    }

    public func post(_ message: Message) {
        let start = lock.withLock { () -> Bool in
            // A dead endpoint during a storm must not grow memory: the oldest waiting go first.
            if queue.count >= Self.maxQueued { queue.removeFirst(queue.count - Self.maxQueued + 1); dropped += 1 }
            queue.append(message)
            if sending { return false }
            sending = true
            return true
        }
        if start { Task.detached { await self.drain() } }
    }

    /// Messages delivered so far, the reasons of those given up on, and those dropped from a full queue.
    public var report: (delivered: Int, failures: [String], dropped: Int) { lock.withLock { (delivered, failures, dropped) } }

    /// Waits until everything posted was sent or given up on, or `limit` passed (a command that
    /// exits must not lose its last message to a fast exit, nor hang on a dead endpoint).
    public func flush(within limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while lock.withLock({ sending }), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
    }

    private func drain() async {
        while true {
            let batch = lock.withLock { () -> [Message] in
                let taken = Array(queue.prefix(50))
                queue.removeFirst(taken.count)
                if taken.isEmpty { sending = false }
                return taken
            }
            guard !batch.isEmpty else { return }
            await send(body(for: batch))
        }
    }

    struct SlackMessage: Encodable { var text: String }
    struct Events: Encodable { var events: [JSONValue] }

    func body(for batch: [Message]) -> String {
        switch style {
        case .slack: SlackMessage(text: batch.map(\.text).joined(separator: "\n")).jsonLine
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
}
