import Foundation
import Logging

/// Keeps the last reason postgres-nio gave for failing to connect. The connection pool retries
/// quietly in the background, so a query only learns that nothing answered in time; this is what
/// turns "no answer" into "password authentication failed" for the user. Logs nothing itself.
final class ConnectionProblems: @unchecked Sendable {
    private let lock = NSLock()
    private var last: String?

    var latest: String? { lock.withLock { last } }

    func note(_ problem: String) { lock.withLock { last = problem } }

    /// A logger for postgres-nio's background work that records its errors here and prints nothing.
    var logger: Logger { Logger(label: "swiftdeploy.guard.shared") { _ in Handler(problems: self) } }

    struct Handler: LogHandler {
        let problems: ConnectionProblems
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            guard let error = metadata?["psql_error"] ?? metadata?["error"] else { return }
            problems.note("\(message): \(error)")
        }
    }
}
