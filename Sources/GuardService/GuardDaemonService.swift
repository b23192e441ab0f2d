import Foundation
import Synchronization
import Manifest
import ServiceLifecycle
import UnixSignals

/// `guard run` as a ServiceLifecycle service: the daemon runs until its `ServiceGroup` shuts down
/// gracefully (the group turns SIGTERM and SIGINT into that) or is cancelled; SIGHUP reloads the
/// settings `reload` reads (nil: refused, the running configuration stays).
public struct GuardDaemonService: ServiceLifecycle.Service {
    public let daemon: GuardDaemon
    public let reload: @Sendable () -> GuardSettings?

    public init(daemon: GuardDaemon, reload: @escaping @Sendable () -> GuardSettings?) {
        self.daemon = daemon
        self.reload = reload
    }

    public func run() async throws {
        // Trapped before the daemon says it follows the log, so an early SIGHUP is not lost.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let asked = ReloadRequest()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for await _ in hangups { asked.raise() } }
            try await daemon.run(reloaded: { asked.take() ? reload() : nil })
            group.cancelAll()
        }
    }
}

/// Whether a SIGHUP came since the daemon last asked.
private final class ReloadRequest: Sendable {
    private let raised = Mutex(false)

    func raise() { raised.withLock { $0 = true } }

    func take() -> Bool {
        raised.withLock { raised in
            defer { raised = false }
            return raised
        }
    }
}
