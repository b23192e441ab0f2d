import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Wakes whoever follows a log (with a `LogTail`) when the file may have changed, so a line is read
/// right after it is written and an idle follower sleeps. inotify watches the file (writes,
/// truncation, its rename or deletion) and its directory (a new file under the name, as rotation
/// makes); changes within `batching` of a wake are read together, so a busy log costs what polling
/// every `batching` did. Where inotify cannot watch (no directory yet, no inotify) waits end every
/// `fallbackPoll`; every wait ends after `safetyPoll` at the latest, so a change inotify cannot see
/// (a network filesystem) is read all the same.
public final class LogFollower: Sendable {
    public let path: String
    public let safetyPoll: Duration
    public let fallbackPoll: Duration
    private let bell = Doorbell()
    private let watcher: InotifyWatcher?

    public init(path: String, safetyPoll: Duration = .seconds(1), fallbackPoll: Duration = .milliseconds(10),
                batching: Duration = .milliseconds(10)) {
        self.path = path
        self.safetyPoll = safetyPoll
        self.fallbackPoll = fallbackPoll
        watcher = InotifyWatcher(path: path, batching: batching, bell: bell)
    }

    deinit { watcher?.stop() }

    /// Whether a change wakes the waiter now (else waits end every `fallbackPoll`).
    public var isWatching: Bool { watcher?.arm() ?? false }

    /// Returns when the file may have changed since the last return, at `deadline`, at the next
    /// safety or fallback poll, on `wake()`, or when the task is cancelled. While inotify watches,
    /// its thread also keeps the time, so a wait costs no timer.
    public func wait(until deadline: ContinuousClock.Instant) async {
        guard let watcher, watcher.arm() else { return await poll(until: min(deadline, .now + fallbackPoll)) }
        watcher.due(min(deadline, .now + safetyPoll))
        await bell.wait()
        watcher.due(nil)
    }

    /// A wait that a timer ends, when inotify cannot watch.
    private func poll(until limit: ContinuousClock.Instant) async {
        let bell = bell
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(until: limit) }
            group.addTask { await bell.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Ends the current wait at once (or the next one, when nobody waits).
    public func wake() { bell.ring() }
}

/// One waiter at a time: `ring()` resumes it, or makes the next `wait()` return at once.
final class Doorbell: @unchecked Sendable {
    private let lock = NSLock()
    private var rung = false
    private var waiter: CheckedContinuation<Void, Never>?

    func ring() {
        let waiting = lock.withLock { () -> CheckedContinuation<Void, Never>? in
            defer { waiter = nil }
            if waiter == nil { rung = true }
            return waiter
        }
        waiting?.resume()
    }

    /// Returns on a ring (or one that came while nobody waited), or when the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now = lock.withLock { () -> Bool in
                    guard !rung && !Task.isCancelled else { rung = false; return true }
                    waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiting = lock.withLock { () -> CheckedContinuation<Void, Never>? in
                defer { waiter = nil }
                return waiter
            }
            waiting?.resume()
        }
    }
}
