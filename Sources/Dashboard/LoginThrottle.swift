import Foundation
import Synchronization

/// Wrong tokens over the last minute, per address: five close the door to that address for the
/// rest of the minute, and nobody else. At most `capacity` addresses are remembered (the longest
/// quiet forgotten first), so a guesser with many addresses cannot grow it without end; each of
/// them still gets five guesses a minute at a 16-character token.
final class LoginThrottle: Sendable {
    static let (limit, span, capacity) = (5, Duration.seconds(60), 4096)
    private let failures = Mutex([String: [ContinuousClock.Instant]]())
    private let now: @Sendable () -> ContinuousClock.Instant

    init(now: @escaping @Sendable () -> ContinuousClock.Instant) { self.now = now }

    func failed(_ address: String) {
        let at = now()
        failures.withLock { failures in
            failures[address] = (failures[address] ?? []).filter { at - $0 < Self.span }.suffix(Self.limit - 1) + [at]
            guard failures.count > Self.capacity else { return }
            failures = failures.filter { at - ($0.value.last ?? at) < Self.span }
            while failures.count > Self.capacity, let quietest = failures.min(by: { ($0.value.last ?? at) < ($1.value.last ?? at) }) {
                failures[quietest.key] = nil
            }
        }
    }

    /// How long until `address` may try again; nil when it may now.
    func wait(_ address: String) -> Duration? {
        let at = now()
        return failures.withLock { failures in
            let recent = (failures[address] ?? []).filter { at - $0 < Self.span }
            failures[address] = recent.isEmpty ? nil : recent
            guard recent.count >= Self.limit, let last = recent.last else { return nil }
            return Self.span - (at - last)
        }
    }
}
