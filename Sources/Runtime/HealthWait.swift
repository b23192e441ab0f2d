import AsyncHTTPClient
import Foundation
import Vocabulary
import Web

/// Polls a URL until it answers 200, or gives up with what it last saw.
public enum HealthWait {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let url: String
        public let lastSeen: String
        public let timeout: Duration
        public var description: String { "\(url) did not answer 200 within \(timeout.manifestText) (last: \(lastSeen))" }
    }

    /// - Parameter notYet: asked before each try: nil to try the URL now, or why not yet (what the
    ///   runtime sees: Docker's health still `starting`); it throws when the instance can never
    ///   become healthy (its process exited, its container stopped), which ends the wait at once.
    public static func until200(
        _ url: String, timeout: Duration, interval: Duration = .milliseconds(100), client: HTTPClient = .shared,
        notYet: @Sendable () throws -> String? = { nil }
    ) async throws -> Void {
        let deadline = ContinuousClock.now + timeout
        var lastSeen = "no answer"
        while ContinuousClock.now < deadline {
            if let reason = try notYet() {
                lastSeen = reason
            } else {
                do {
                    let reply = try await HTTP.get(url, client: client)
                    if reply.status == 200 { return }
                    lastSeen = "HTTP \(reply.status)"
                } catch {
                    lastSeen = "\(error)"
                }
            }
            try await Task.sleep(for: interval)
        }
        throw Failure(url: url, lastSeen: lastSeen, timeout: timeout)
    }
}
