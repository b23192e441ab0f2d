import Foundation
import Hummingbird

/// A webhook endpoint on loopback (Slack's incoming webhook, or any JSON hook): it answers each post
/// with the next scripted status (200 once the script runs out), after `delay`, and keeps every body
/// with the status it got.
public final class WebhookEndpoint: @unchecked Sendable {
    /// Slack's incoming-webhook path, as the tests' `slack_webhook` URLs name it.
    public static let slackPath = "/services/T000/B000/XXXX"

    private let lock = NSLock()
    private var statuses: [Int]
    private var posts: [(body: String, status: Int)] = []
    private let delay: Duration
    private let path: String

    public init(statuses: [Int] = [], delay: Duration = .zero, path: String = "/hook") {
        (self.statuses, self.delay, self.path) = (statuses, delay, path)
    }

    /// A Slack stand-in whose first `failFirst` posts get a 500.
    public static func slack(failFirst: Int = 0, delay: Duration = .zero) -> WebhookEndpoint {
        WebhookEndpoint(statuses: Array(repeating: 500, count: failFirst), delay: delay, path: slackPath)
    }

    /// Every body posted, in order, whatever it was answered.
    public var received: [String] { lock.withLock { posts.map(\.body) } }
    /// The bodies answered with a 2xx: the messages that arrived.
    public var delivered: [String] { lock.withLock { posts.filter { (200..<300).contains($0.status) }.map(\.body) } }

    public func app() -> some ApplicationProtocol {
        let router = Router()
        router.post(RouterPath(path)) { request, _ in
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 1 << 20))
            try await Task.sleep(for: self.delay)
            let status = self.lock.withLock { () -> Int in
                let status = self.statuses.isEmpty ? 200 : self.statuses.removeFirst()
                self.posts.append((body, status))
                return status
            }
            return Response(status: .init(code: status), body: .init(byteBuffer: ByteBuffer(string: status < 300 ? "ok" : "busy")))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }
}
