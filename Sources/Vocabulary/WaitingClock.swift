/// The time a lifecycle command reads and waits on: the system's continuous clock in a real run,
/// a clock that only moves when told to in tests (so a promotion's minutes take milliseconds).
public protocol WaitingClock: Sendable {
    var now: ContinuousClock.Instant { get }
    /// Waits `duration`; throws `CancellationError` when the task is cancelled (Ctrl-C).
    func sleep(for duration: Duration) async throws
}

/// The system's continuous clock.
public struct SystemClock: WaitingClock {
    public init() {}
    public var now: ContinuousClock.Instant { .now }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}
