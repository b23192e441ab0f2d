import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Detection
import Manifest
import Telemetry
import Vocabulary

/// Parsed requests handed from the reader thread to the judging one, a bounded number at a time.
final class EventBatches: @unchecked Sendable {
    static let size = 8192
    private let condition = NSCondition()
    private var queue: [[ClientEvent]] = []
    private var done = false
    private var parser: GuardLogParser?
    private var error: (any Error)?

    func put(_ batch: [ClientEvent]) {
        condition.lock()
        while queue.count >= 8 { condition.wait() }
        queue.append(batch)
        condition.broadcast()
        condition.unlock()
    }

    func finish(parser: GuardLogParser, error: (any Error)?) {
        condition.lock()
        (self.parser, self.error, done) = (parser, error, true)
        condition.broadcast()
        condition.unlock()
    }

    /// The next batch; nil once the reader finished and every batch was taken.
    func take() -> [ClientEvent]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !done { condition.wait() }
        guard !queue.isEmpty else { return nil }
        condition.broadcast()
        return queue.removeFirst()
    }

    /// The reader's parser (its line counts and malformed samples) and its error, once finished.
    var result: (GuardLogParser?, (any Error)?) {
        condition.lock()
        defer { condition.unlock() }
        return (parser, error)
    }
}
