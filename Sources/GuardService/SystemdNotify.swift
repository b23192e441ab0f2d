import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd how the daemon is doing (`sd_notify`): ready, reloading, stopping, alive (the
/// watchdog) and a one-line status for `systemctl status`. Speaks the protocol itself: one datagram
/// per message to the socket in `NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
/// Without that variable (not started by systemd) every call does nothing.
public struct SystemdNotify: Sendable {
    public let socketPath: String?
    /// How often the watchdog wants to hear from us: half of `WATCHDOG_USEC`, nil when it is off.
    public let watchdogInterval: Duration?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        socketPath = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        // WATCHDOG_PID, when set, names the process the watchdog is for; another process stays quiet.
        let forUs = environment["WATCHDOG_PID"].map { Int32($0) == getpid() } ?? true
        if forUs, let text = environment["WATCHDOG_USEC"], let microseconds = Int64(text), microseconds > 0 {
            watchdogInterval = .microseconds(microseconds / 2)
        } else {
            watchdogInterval = nil
        }
    }

    public var isActive: Bool { socketPath != nil }

    public func ready(status: String) { send("READY=1\nSTATUS=\(status)") }
    /// Reloading starts now; `ready` says it is done (systemd's `Type=notify-reload` needs the time).
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        send("RELOADING=1\nMONOTONIC_USEC=\(Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000)")
    }
    public func stopping() { send("STOPPING=1") }
    public func alive() { if watchdogInterval != nil { send("WATCHDOG=1") } }
    public func status(_ text: String) { send("STATUS=\(text)") }

    /// Sends one message; a failure is ignored (systemd gone is not the daemon's problem).
    func send(_ message: String) {
        guard let socketPath else { return }
        UnixDatagram.send(Array(message.utf8), to: socketPath)
    }
}
