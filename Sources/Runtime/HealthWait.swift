import Foundation
import Web

/// Polls a URL until it answers 200, or gives up with what it last saw.
public enum HealthWait {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let url: String
        public let lastSeen: String
        public let timeout: Duration
        public var description: String { "\(url) did not answer 200 within \(timeout) (last: \(lastSeen))" }
    }

    public static func until200(
        _ url: String, timeout: Duration, interval: Duration = .milliseconds(100),
        alive: @Sendable () -> Bool = { true }
    ) async throws -> Void {
        let deadline = ContinuousClock.now + timeout
        var lastSeen = "no answer"
        while ContinuousClock.now < deadline {
            guard alive() else { throw Failure(url: url, lastSeen: "the process exited", timeout: timeout) }
            do {
                let reply = try await HTTP.get(url)
                if reply.status == 200 { return }
                lastSeen = "HTTP \(reply.status)"
            } catch {
                lastSeen = "\(error)"
            }
            try await Task.sleep(for: interval)
        }
        throw Failure(url: url, lastSeen: lastSeen, timeout: timeout)
    }
}
