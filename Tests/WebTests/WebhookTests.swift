import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing
import Vocabulary
@testable import Web

/// The one webhook queue the guard's alerts and the lifecycle's events go through, against a real
/// HTTP endpoint: retries, giving up on a refused message, coalescing, and the two body styles.
@Suite struct WebhookDelivery {
    @Test func aServerErrorIsRetriedAndAClientErrorIsNot() async throws {
        let endpoint = WebhookEndpoint(statuses: [503, 500, 400])
        try await endpoint.app().test(.live) { client in
            let hook = Webhook(url: "http://127.0.0.1:\(client.port!)/hook", style: .json, firstBackoff: .milliseconds(10))
            hook.post(.init(text: "one", record: .string("one")))
            await hook.flush(within: .seconds(30))
            // 503 and 500 are retried; 400 is the sender's fault, so it is given up at once.
            #expect(endpoint.received == Array(repeating: #"{"events":["one"]}"#, count: 3))
            #expect(hook.report.delivered == 0 && hook.report.failures == ["HTTP 400"])
            hook.post(.init(text: "two", record: .string("two")))
            await hook.flush(within: .seconds(30))
            #expect(hook.report.delivered == 1 && endpoint.received.last == #"{"events":["two"]}"#)
        }
    }

    @Test func aBurstIsCoalescedInOrderIntoSlackLines() async throws {
        let endpoint = WebhookEndpoint()
        try await endpoint.app().test(.live) { client in
            let hook = Webhook(url: "http://127.0.0.1:\(client.port!)/hook", style: .slack, firstBackoff: .milliseconds(10))
            for index in 1...20 { hook.post(.init(text: "line \(index)", record: .number(Double(index)))) }
            await hook.flush(within: .seconds(30))
            // A post the endpoint took but answered after the timeout (a loaded machine) is sent again:
            // delivery is at least once, so a body repeated in a row is one delivery.
            let received = endpoint.received
            let bodies = received.indices.filter { $0 == 0 || received[$0 - 1] != received[$0] }.map { received[$0] }
            let lines = try bodies.flatMap { body -> [String] in
                let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: String]
                return (object?["text"] ?? "").components(separatedBy: "\n")
            }
            #expect(lines == (1...20).map { "line \($0)" }, "every message, once, in order")
            #expect(bodies.count < 20, "a burst goes out in fewer posts than messages")
        }
    }
}
