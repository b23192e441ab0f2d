import CSpawn
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Ctrl-C (SIGINT) or SIGTERM during a long command, as the cancellation of its work: the work
/// sees `CancellationError` at its next wait and can put things back before it ends (a promotion
/// returns the traffic to where it was). A second signal ends the process at once, as usual.
public enum Interruption {
    /// SIGINT and SIGTERM heard by `handler` (with the signal and how many of it came so far)
    /// instead of ending the process; the returned closure gives them their default back.
    public static func trap(_ handler: @escaping @Sendable (_ signal: Int32, _ count: Int) -> Void) -> () -> Void {
        let signals = [SIGINT, SIGTERM]
        let sources = signals.map { number -> DispatchSourceSignal in
            cspawn_signal_disposition(number, 1)  // ignored, so only the dispatch source hears it
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            let count = Counter()
            source.setEventHandler { handler(number, count.next()) }
            source.resume()
            return source
        }
        return {
            for (source, number) in zip(sources, signals) {
                source.cancel()
                cspawn_signal_disposition(number, 0)
            }
        }
    }

    /// Runs `work` with SIGINT and SIGTERM cancelling it; their usual handling comes back after.
    public static func cancelling<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await work() }
        let release = trap { number, count in
            if count > 1 {
                let note = "swiftdeploy: interrupted again: stopping at once; what was being put back is left as it is\n"
                _ = note.withCString { write(2, $0, strlen($0)) }
                cspawn_signal_disposition(number, 0)
                raise(number)
            }
            task.cancel()
        }
        defer { release() }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}

/// How many times something happened.
private final class Counter: Sendable {
    private let count = Mutex(0)
    /// Counts one more; returns the count so far.
    func next() -> Int {
        count.withLock { count in
            count += 1
            return count
        }
    }
}
