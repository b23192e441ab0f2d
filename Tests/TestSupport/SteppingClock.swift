import Synchronization
import Vocabulary

/// A clock that moves only when slept on: each sleep advances it at once by its duration, so a
/// promotion's minutes take microseconds. It keeps every sleep; `cancelAt` makes the Nth sleep
/// behave as Ctrl-C does to a real one (the task is cancelled and the sleep throws).
public final class SteppingClock: WaitingClock {
    private let books: Mutex<(now: ContinuousClock.Instant, slept: [Duration])>
    private let cancelAt: Int?

    public init(cancelAt: Int? = nil) {
        books = Mutex((.now, []))
        self.cancelAt = cancelAt
    }

    public var now: ContinuousClock.Instant { books.withLock { $0.now } }
    /// Every sleep so far, in order.
    public var slept: [Duration] { books.withLock { $0.slept } }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        let count = books.withLock { books in
            books.now = books.now.advanced(by: duration)
            books.slept.append(duration)
            return books.slept.count
        }
        if count == cancelAt {
            withUnsafeCurrentTask { $0?.cancel() }
            throw CancellationError()
        }
        await Task.yield()
    }
}
