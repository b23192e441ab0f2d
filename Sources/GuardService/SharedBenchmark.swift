import Vocabulary
import Foundation
import Manifest
import SharedDecisions

/// `guard bench shared URL`: how many decisions a site's shared database takes per second when
/// several edges write at once (each in batches, as a daemon sends its queue).
public enum SharedBenchmark {
    public struct Figures: Sendable {
        public var decisions: Int
        public var edges: Int
        public var seconds: Double
        public var perSecond: Double { Double(decisions) / seconds }
    }

    public static func publish(url: String, decisions: Int, edges: Int, batch: Int = 500) async throws -> Figures {
        let settings = SharedGuardSettings(url: url, edge: "bench")
        let store = try SharedDecisionStore(url: try DatabaseURL(url), password: try SharedLink.password(settings))
        defer { store.close() }
        try await store.migrate()
        let each = max(1, decisions / max(1, edges))
        let now = Int(Date().timeIntervalSince1970)
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for edge in 0..<edges {
                group.addTask {
                    for first in stride(from: 0, to: each, by: batch) {
                        let items = (first..<min(each, first + batch)).map { index in
                            SharedDecision(edge: "bench-\(edge)", action: .ban, address: "198.18.\(edge).\(index % 250)", since: now,
                                           until: now + 600, offence: 1, reason: "bench", condition: "bench")
                        }
                        try await store.publish(items)
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        return Figures(decisions: each * edges, edges: edges, seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
}
