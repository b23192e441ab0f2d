import Telemetry
import Vocabulary

/// An instance that was started but never became healthy: which track and release, why (in one
/// sentence), and the last lines of its own log from this start only.
public struct LaunchError: Error, Sendable, CustomStringConvertible {
    public let track: Track
    public let version: String
    /// Why, as one sentence: `the process exited with status 3`, `/healthz did not answer 200 within 60s (last: HTTP 503)`.
    public let reason: String
    /// Where the instance's output is (`.swiftdeploy/logs/app-stable-3000.log`, `docker logs NAME`).
    public let log: String
    public let lastLines: [String]

    public init(track: Track, version: String, reason: String, log: String, lastLines: [String]) {
        (self.track, self.version, self.reason, self.log, self.lastLines) = (track, version, reason, log, lastLines)
    }

    public var description: String {
        let tail = lastLines.isEmpty ? "its log (\(log)) has nothing from this start"
            : "last lines of \(log) from this start:\n" + lastLines.map { "  \($0)" }.joined(separator: "\n")
        return "the \(track) track (\(version)) did not become healthy: \(reason).\n\(tail)"
    }

    private static let separatorPrefix = "----- swiftdeploy: "

    /// The line written into an instance's log before each start, so a failure quotes only its own start.
    public static func separator(track: Track, version: String, port: Int, at seconds: Int) -> String {
        "\(separatorPrefix)\(track) \(version) starting on port \(port) at \(ISO8601.format(seconds)) -----"
    }

    /// The lines of `text` after the last start separator (at most `count`).
    public static func thisStart(_ text: String, count: Int = 10) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = lines.lastIndex { $0.hasPrefix(separatorPrefix) }.map { $0 + 1 } ?? 0
        return Array(lines[start...].filter { !$0.isEmpty }.suffix(count))
    }
}
