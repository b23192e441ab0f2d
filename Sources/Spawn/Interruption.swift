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
    /// Ignores `signal` (a dispatch source still hears it).
    public static func ignore(_ signal: Int32) { cspawn_signal_disposition(signal, 1) }

    /// Gives `signal` its default action back.
    public static func restoreDefault(_ signal: Int32) { cspawn_signal_disposition(signal, 0) }

    /// Runs `work` with SIGINT and SIGTERM cancelling it; their usual handling comes back after.
    public static func cancelling<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await work() }
        let signals = [SIGINT, SIGTERM]
        let sources = signals.map { number -> DispatchSourceSignal in
            ignore(number)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            let seen = Seen()
            source.setEventHandler {
                if seen.before() {
                    let note = "swiftdeploy: interrupted again: stopping at once; what was being put back is left as it is\n"
                    _ = note.withCString { write(2, $0, strlen($0)) }
                    restoreDefault(number)
                    raise(number)
                }
                task.cancel()
            }
            source.resume()
            return source
        }
        defer {
            for (source, number) in zip(sources, signals) {
                source.cancel()
                restoreDefault(number)
            }
        }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }
}

/// Whether a signal came before.
private final class Seen: Sendable {
    private let seen = Mutex(false)
    /// True from the second call on.
    func before() -> Bool {
        seen.withLock { seen in
            defer { seen = true }
            return seen
        }
    }
}
