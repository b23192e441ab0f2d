import Foundation
import Detection
import Firewall
import GuardStorage
import Logging
import Manifest
import SharedDecisions
import Spawn
import ServiceLifecycle
import Synchronization
import Telemetry
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// `swiftdeploy guard run`: follows the access log, decides, bans in the firewall, alerts and keeps
/// an audit log, until SIGTERM/SIGINT; SIGHUP reloads the manifest's guard settings. Bans stay in
/// the kernel when it stops (they expire by their own timeouts); at start the kernel is reconciled
/// with the store. Every decision is saved (`guard.db`) before it is acted on.
public final class GuardDaemon: @unchecked Sendable {
    public internal(set) var settings: GuardSettings
    public let stateDirectory: String
    public let logPath: String
    public let enforcer: any Enforcer
    public internal(set) var notifiers: [any Notifier]
    public let console: any Console
    /// Decisions as structured log records (swift-log): the audit line as message, its fields as metadata.
    public let logger: Logger
    public let store: GuardStore
    /// Live measurements for `/metrics` (detection latency).
    public let metrics = GuardMetrics()
    var engine: GuardEngine
    var parser: GuardLogParser
    let tail: LogTail
    let auditPath: String
    /// What is not yet in the store (a failed save is retried with everything it held).
    var checkpoints: Checkpointer
    /// What is not yet in the kernel (a refused change is retried every second).
    var firewall = EnforcementQueue()
    /// Lines read and malformed lines skipped, over the store's life.
    public private(set) var lines = 0
    public private(set) var badLines = 0
    /// Shared decisions skipped because no real decision could hold their figures.
    var refusedSharedRows = 0
    /// The wall clock, seconds since the epoch (injected, so time-dependent reporting is testable).
    let clock: @Sendable () -> Double
    /// Malformed lines over the last minute, and whether that is an alarm.
    var health: ParseHealth
    /// The format last said to be recognised (with `auto`, said once it is known).
    var announcedFormat: AccessLogFormat?
    /// How far behind the wall clock the newest line of the last read was, when it was read.
    var lag: Double?
    /// Set while the backlog found at start is read: lines read and when reading began.
    var catchingUp: (lines: Int, since: Double)?
    /// How the loop sleeps until the log may have changed (the follower's wait; tests count them).
    var pause: @Sendable (ContinuousClock.Instant) async -> Void
    /// The site's shared decisions (`guard.shared`), when this edge is one of several.
    let shared: SharedLink?
    /// Wakes the loop early (a shared decision arrived).
    private let follower: LogFollower
    /// systemd's notify socket (`Type=notify`): ready, reloading, stopping, the watchdog's heartbeat.
    let systemd = SystemdNotify()
    /// What the dashboard shows; built by the daemon's loop, read from any thread. Everything else
    /// here belongs to the loop's task (hence `@unchecked Sendable`): only this crosses threads.
    let published: Mutex<GuardSnapshot>

    /// - Parameters:
    ///   - notifiers: nil builds them from the settings' webhooks (and again on a reload).
    ///   - clock: the wall clock, seconds since the epoch.
    public init(settings: GuardSettings, stateDirectory: String, logPath: String? = nil, enforcer: any Enforcer,
                notifiers: [any Notifier]? = nil, console: any Console = TerminalConsole(),
                logger: Logger = Logger(label: "swiftdeploy.guard"),
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        self.settings = settings
        self.clock = clock
        health = ParseHealth { Int((clock() * 1000).rounded(.down)) }
        self.stateDirectory = stateDirectory
        self.logPath = logPath ?? settings.log
        self.enforcer = enforcer
        self.notifiers = notifiers ?? WebhookNotifier.all(for: settings)
        self.console = console
        self.logger = logger
        store = try GuardStore(path: GuardStore.path(stateDirectory: stateDirectory),
                               historySeconds: max(3600, Int(settings.baseline.window.seconds)))
        let saved = try store.load()
        // One daemon per store: a second would race the first for the log, the store and the port.
        if let other = saved.daemonPid, other != getpid(), ChildProcess.isAlive(other), ChildProcess.commandLine(other).contains("guard") {
            throw GuardCommandError.alreadyRunning(pid: other, store: store.path)
        }
        engine = GuardEngine(config: GuardConfig(daemon: settings), owners: try NetworkOwners.load(settings.asnTable))
        engine.restore(bans: saved.bans, offences: saved.offences, learned: saved.learned)
        checkpoints = Checkpointer(store: store, learnedThrough: saved.learned?.baseline.newest)
        (lines, badLines) = (saved.lines, saved.badLines)
        parser = GuardLogParser(settings)
        tail = LogTail(path: logPath ?? settings.log, startAtEnd: saved.position == nil, resume: saved.position)
        auditPath = Self.auditPath(stateDirectory: stateDirectory)
        let follower = LogFollower(path: logPath ?? settings.log)
        self.follower = follower
        pause = { await follower.wait(until: $0) }
        let local = store, config = engine.config
        shared = try settings.shared.map { try SharedLink(settings: $0, local: local, config: config) { follower.wake() } }
        let started = Int(clock())
        published = Mutex(GuardSnapshot(at: started, startedAt: started, enforcer: enforcer.name, log: logPath ?? settings.log))
    }

    /// The audit log, one line per decision, in the guard's own folder beside its store.
    public static func auditPath(stateDirectory: String) -> String { "\(GuardStore.directory(stateDirectory: stateDirectory))/guard-audit.log" }

    /// The latest published look at the guard (at most a second old while it runs).
    public var snapshot: GuardSnapshot { published.withLock { $0 } }

    var now: Int { Int(clock()) }

    /// Just after the wall clock's next whole second, when the timers are due.
    static func nextSecond() -> ContinuousClock.Instant {
        let wall = Date().timeIntervalSince1970
        return .now + .seconds(wall.rounded(.down) + 1 - wall) + .milliseconds(1)
    }

    /// Installs the firewall objects, reads what the log gained while no daemon ran (once, with the
    /// log's own times), and makes the kernel hold exactly the active bans.
    public func reconcile() throws {
        try enforcer.install()
        let second = now
        let expired = engine.banBook.active.values.filter { ($0.until ?? Int.max) <= second }.count
        let backlog = step(at: second)
        let stored = engine.banBook.active.values.map { EnforcedBan($0.target, ban: $0, at: second, ipv6Prefix: settings.ipv6Prefix) }
        let strays = try enforcer.replace(with: stored, ipv6Prefix: settings.ipv6Prefix)
        let learned = engine.baseline.current.map { String(format: "baseline resumed: mean %.2f req/s over %d s", $0.mean, $0.points) }
            ?? "baseline: learning from zero"
        let kernel = strays.map { "\($0) stray kernel entries removed" } ?? "kernel sets replaced in one transaction"
        var caughtUp = "\(backlog) log lines caught up"
        if !tail.reachedEnd {
            // The rest is read in slices by the loop, with the log's own times, while the timers run.
            catchingUp = (backlog, clock())
            caughtUp = "catching up with the log (\(backlog) lines read, \(tail.backlog / 1_000_000) MB waiting)"
        }
        console.say("guard: \(stored.count) bans in force, \(expired) expired while stopped, \(kernel), \(caughtUp); \(learned)")
    }

    /// Runs until the task is cancelled, its service group shuts down gracefully (both end the wait at
    /// once) or `stop()` answers true (asked at every wake-up, at least once a second). Sleeps until
    /// the log changes (`LogFollower`: inotify, polling only where that cannot watch) or the next
    /// second, when the timers run and `reloaded()` is asked for new settings (after a SIGHUP). It
    /// does not sleep while the last read stopped at its cap (`LogTail.maxRead`) with more waiting:
    /// a flood or a backlog is read slice after slice, the timers still running between slices.
    public func run(stop: @Sendable () -> Bool = { false }, reloaded: @Sendable () -> GuardSettings? = { nil }) async throws {
        let exchange = await joinSite()
        defer { exchange?.cancel() }
        try reconcile()
        publish()
        try store.setDaemon(pid: getpid())
        let waking = follower.isWatching ? "woken by inotify" : "polled every 10 ms, inotify cannot watch it"
        console.say("guard: following \(logPath) (\(formatText), \(waking)); audit log \(auditPath); store \(store.path)")
        if let refusal = tail.refusal { console.warn("guard: \(refusal)") }
        systemd.ready(status: statusLine)
        var lastTick = now
        await withTaskCancellationOrGracefulShutdownHandler {
            while !stop() && !Task.isCancelled && !Task.isShuttingDownGracefully {
                let second = now
                if second != lastTick {
                    lastTick = second
                    if let new = reloaded() {
                        systemd.reloading()
                        reload(new)
                        systemd.ready(status: statusLine)
                    }
                    step(at: second)
                    publish()
                    // The watchdog hears from the loop itself: a loop that hangs stops the heartbeat.
                    systemd.alive()
                    if second % 5 == 0 { systemd.status(statusLine) }
                } else {
                    step(at: nil)
                }
                if tail.reachedEnd {
                    await pause(Self.nextSecond())
                } else {
                    await Task.yield()
                }
            }
        } onCancelOrGracefulShutdown: { [follower] in
            follower.wake()
        }
        systemd.stopping()
        step(at: now)
        try store.setDaemon(pid: nil)
        console.say("guard: stopped; \(engine.banBook.active.count) bans stay in the kernel until they expire")
    }

    /// Reads new lines (one slice, at most `LogTail.maxRead`); with `second` (the wall clock), also
    /// runs the timers and takes manual requests. The engine's clock moves to the wall clock only once
    /// the log is read to its end: lines still waiting count at their own times, not as stale. Decisions
    /// are saved, then acted on. Returns the number of lines read.
    @discardableResult
    func step(at second: Int?) -> Int {
        let overlongBefore = tail.overlong
        let read = tail.poll()
        let badBefore = parser.badLines
        let wall = clock()
        // A line stamped in the future (a skewed or forged clock) counts as now: it must not run the
        // timers ahead and lift every ban at once.
        let latest = (wall + 1).rounded(.down)
        var events: [ClientEvent] = []
        events.reserveCapacity(read.count)
        for line in read {
            guard var event = line.withUnsafeBufferPointer({ parser.parse($0) }) else { continue }
            event.timestamp = min(event.timestamp, latest)
            events.append(event)
        }
        // Parsed first, then judged with the engine told a few requests ahead, as `guard replay` does.
        events.withUnsafeBufferPointer { events in
            for position in events.indices {
                engine.prefetch(ahead: position, in: events)
                engine.ingest(events[position])
            }
        }
        if let newest = events.lazy.map(\.timestamp).max() { lag = max(0, wall - newest) }
        let overlong = tail.overlong - overlongBefore
        lines += read.count
        badLines += parser.badLines - badBefore + overlong
        watchReading(lines: read.count + overlong, bad: parser.badLines - badBefore + overlong)
        if let shared {
            adopt(shared.take(), at: second ?? now)
            // While the database answers, the site's total traffic is judged there (`SiteTraffic`).
            engine.leavesTrafficAlertsToSite = shared.status.connected
        }
        if let second {
            if tail.reachedEnd { engine.advance(to: second) }
            takeRequests(at: second)
            enforce(at: second)
        }
        guard second != nil || engine.hasDecisions else { return read.count }
        let decisions = siteWide(engine.drain())
        checkpoint(decisions)
        handle(decisions)
        return read.count
    }

    /// One manual ban or unban, grouped like the detector groups (IPv6 by prefix).
}

extension GuardDecision {
    /// The decision's fields for a structured log record.
    var logMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = [
            "action": .string(action.rawValue), "condition": .string(condition),
            "rate": .stringConvertible(rate), "baseline": .stringConvertible(baseline),
        ]
        if let ip { metadata["ip"] = .string(ip.description) }
        if [.ban, .unban].contains(action) {
            metadata["duration_s"] = .stringConvertible(duration ?? -1)
            metadata["offence"] = .stringConvertible(offence)
        }
        return metadata
    }
}
