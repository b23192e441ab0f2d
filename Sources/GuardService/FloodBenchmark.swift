import Foundation
import Firewall
import Logging
import Manifest
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// `swiftdeploy guard bench flood`: the live daemon (its own loop, a `DryRunEnforcer`) follows a
/// real file while a writer appends each second's lines in one write, a flooder among them from the
/// third second on; then the daemon stops, a backlog is written, and a new daemon on the same store
/// reads it, as after a restart. It measures how long after its write each burst had been read, how
/// long from the flooder's first line written to its ban, and how fast the restarted daemon read the
/// backlog on its one thread.
public enum FloodBenchmark {
    public struct Figures: Sendable {
        public let bursts: Int
        public let linesPerBurst: Int
        /// Seconds from each burst's write to the daemon having read all of it: median and worst.
        public let readP50: Double
        public let readMax: Double
        /// Seconds from the flooder's first line written to its ban in the firewall; nil: never banned.
        public let timeToBan: Double?
        /// The backlog after the restart: its lines and the seconds from the new daemon's start until
        /// all were read.
        public let backlogLines: Int
        public let backlogSeconds: Double
        public let peakRSSMB: Double
    }

    static let flooder = "198.51.100.66"
    /// Bursts before the flooder starts (the daemon is in its stride by then).
    static let floodFrom = 2

    /// - Parameters:
    ///   - rate: lines per second, written as one burst a second, for `seconds` seconds (at least 3).
    ///   - flooderRate: the flooder's share of each burst from the third on, per second.
    ///   - backlog: lines written while no daemon runs, read by the next one.
    public static func run(rate: Int, seconds: Int, flooderRate: Int = 2_000, backlog: Int, ips: Int) async throws -> Figures {
        let seconds = max(floodFrom + 1, seconds)
        let directory = NSTemporaryDirectory() + "swiftdeploy-flood-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = "\(directory)/access.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let settings = try ManifestLoader.parse(
            yaml: "name: flood\nservices:\n  app: { command: [x], port: 3000 }\nguard: { log: access.log, enforcer: dry-run, max_tracked_ips: \(max(200_000, ips * 2)) }\n",
            file: "swiftdeploy.yaml", directory: directory).guardSettings
        let progress = Progress()
        let enforcer = DryRunEnforcer { if $0.contains("would ban \(flooder) ") { progress.banned() } }
        var logger = Logger(label: "swiftdeploy.guard.bench")
        logger.logLevel = .critical
        /// A daemon on the benchmark's store whose loop reports, each time it has read the log to its
        /// end and is about to wait, how many lines it has read since it started.
        func daemon() throws -> GuardDaemon {
            let daemon = try GuardDaemon(settings: settings, stateDirectory: directory, enforcer: enforcer, notifiers: [], console: Quiet(),
                                         logger: logger)
            let (wait, base) = (daemon.pause, daemon.lines)
            daemon.pause = { [unowned daemon] in
                progress.saw(daemon.lines - base)
                await wait($0)
            }
            return daemon
        }

        // The flood, live.
        let live = try daemon()
        let total = rate * seconds
        let following = Task { try await live.run { progress.stopping } }
        while progress.latest == nil { try await Task.sleep(for: .milliseconds(10)) }
        let written = try await write(log: log, rate: rate, seconds: seconds, flooderRate: flooderRate, ips: ips)
        try await finish(following, progress: progress, lines: total)
        let reads = (0..<seconds).map { burst in (progress.time(reaching: (burst + 1) * rate) ?? .infinity) - written[burst] }.sorted()

        // The restart: a backlog waits, stamped from the flood's end to now, and a new daemon reads it.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        let floodEnd = written[seconds - 1], perSecond = Double(backlog) / max(1, Date().timeIntervalSince1970 - floodEnd)
        for chunk in stride(from: 0, to: backlog, by: 100_000) {
            try handle.write(contentsOf: IngestBenchmark.generate(lines: chunk..<min(backlog, chunk + 100_000), ips: ips,
                                                                  start: floodEnd, perSecond: perSecond))
        }
        try handle.close()
        let restarted = Date().timeIntervalSince1970
        progress.reset()
        let next = try daemon()
        let catching = Task { try await next.run { progress.stopping } }
        try await finish(catching, progress: progress, lines: backlog)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Figures(bursts: seconds, linesPerBurst: rate, readP50: reads[reads.count / 2], readMax: reads.last ?? .nan,
                       timeToBan: progress.bannedAt.map { $0 - written[floodFrom] },
                       backlogLines: backlog, backlogSeconds: (progress.time(reaching: backlog) ?? .infinity) - restarted,
                       peakRSSMB: Double(usage.ru_maxrss) / 1024)
    }

    /// Writes one burst a second on a thread of its own (generating the next burst while the daemon
    /// reads the last); returns when each burst's write began.
    static func write(log: String, rate: Int, seconds: Int, flooderRate: Int, ips: Int) async throws -> [Double] {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try handle.seekToEnd()
        defer { try? handle.close() }
        return await withCheckedContinuation { done in
            Thread {
                let first = (Date().timeIntervalSince1970 + 1).rounded(.up)
                var written: [Double] = []
                for burst in 0..<seconds {
                    let lines = IngestBenchmark.generate(lines: (burst * rate)..<((burst + 1) * rate), ips: ips, start: first - 1,
                                                         perSecond: Double(rate),
                                                         flooder: burst >= floodFrom ? (flooder, max(1, rate / flooderRate)) : nil)
                    let wait = first + Double(burst) - Date().timeIntervalSince1970
                    if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                    written.append(Date().timeIntervalSince1970)
                    try? handle.write(contentsOf: lines)
                }
                done.resume(returning: written)
            }.start()
        }
    }

    /// Waits (at most a minute) until the daemon has read `lines`, then stops it.
    static func finish(_ running: Task<Void, any Error>, progress: Progress, lines: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while progress.time(reaching: lines) == nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        progress.stop()
        try await running.value
    }

    /// What the daemon's loop reported at each wake-up (lines read so far, when), and the ban.
    final class Progress: @unchecked Sendable {
        private let lock = NSLock()
        private var seen: [(at: Double, lines: Int)] = []
        private var isStopping = false
        private var ban: Double?

        /// Called by the loop each time it has read the log to its end.
        func saw(_ lines: Int) {
            let now = Date().timeIntervalSince1970
            lock.withLock { if seen.last?.lines != lines { seen.append((now, lines)) } }
        }

        var stopping: Bool { lock.withLock { isStopping } }

        var latest: Int? { lock.withLock { seen.last?.lines } }

        /// When the loop had first read at least `lines`.
        func time(reaching lines: Int) -> Double? { lock.withLock { seen.first { $0.lines >= lines }?.at } }

        func banned() { lock.withLock { ban = ban ?? Date().timeIntervalSince1970 } }
        var bannedAt: Double? { lock.withLock { ban } }
        func stop() { lock.withLock { isStopping = true } }
        func reset() { lock.withLock { (seen, isStopping) = ([], false) } }
    }

    struct Quiet: Console {
        func say(_ line: String, terminator: String) {}
        func warn(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
    }
}
