import HummingbirdTesting
import Hummingbird
import AsyncHTTPClient
import Deploy
import Foundation
import Manifest
import Runtime
import NIOCore
import TestSupport
import Testing
import Vocabulary

/// Keeps a few clients sending requests until told to stop (or until `maxRequests`), counting failures.
final class SteadyLoad: @unchecked Sendable {
    struct Outcome: Sendable {
        var sent = 0
        var failed = 0
        var firstFailure: String?
    }

    let url: String
    let workers: Int
    let maxRequests: Int
    private let lock = NSLock()
    private var stopped = false
    private var outcome = Outcome()

    init(url: String, workers: Int, maxRequests: Int) {
        self.url = url
        self.workers = workers
        self.maxRequests = maxRequests
    }

    func stop() { lock.withLock { stopped = true } }

    var sent: Int { lock.withLock { outcome.sent } }

    private func next() -> Bool {
        lock.withLock {
            guard !stopped, outcome.sent < maxRequests else { return false }
            outcome.sent += 1
            return true
        }
    }

    private func fail(_ reason: String) {
        lock.withLock {
            outcome.failed += 1
            if outcome.firstFailure == nil { outcome.firstFailure = reason }
        }
    }

    func run() async -> Outcome {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<workers {
                group.addTask {
                    while self.next() {
                        do {
                            // A new connection per request: nginx closes idle keep-alive connections when it
                            // reloads, and a request racing that close needs a client retry (as browsers do);
                            // here every failure counts.
                            let response = try await TestSupport.get(self.url, headers: ["Connection": "close"])
                            if response.status != 200 { self.fail("HTTP \(response.status): \(response.body)") }
                        } catch {
                            self.fail("\(error)")
                        }
                    }
                }
            }
        }
        return lock.withLock { outcome }
    }
}
