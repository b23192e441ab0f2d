import Foundation
import Spawn
import Synchronization
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// Keeps one local instance running, as systemd's `Restart=on-failure` would: the local runtime
/// starts `swiftdeploy supervise`, which starts the app, and when the app ends without being asked
/// to, starts it again after a growing pause (1 s, 2 s, 4 s … 30 s). More than `maxRestarts` ends
/// within `window` and it gives up: the track is failed. Its state is a small JSON file beside the
/// instance's log that `status` and the health wait read; each restart and the give-up are also told
/// (`tell`), for the project's history. SIGTERM (a retire) stops the app (SIGKILL after 8 s) and
/// then the supervisor.
public struct Supervisor: Sendable {
    /// What `status` shows for an instance, from the supervisor's file.
    public struct Status: Codable, Sendable, Equatable {
        public enum State: String, Codable, Sendable {
            /// The app runs.
            case up
            /// The app ended; it is started again after a pause.
            case restarting
            /// It ended too often: the supervisor gave up.
            case failed
            /// It ended with status 0, or was stopped: not restarted.
            case stopped
        }

        public var state: State
        /// The app's current process.
        public var pid: Int32?
        public var restarts: Int
        /// How the app last ended (`exited with status 3`, `was killed by signal 9`).
        public var lastEnding: String?
        /// When the state began.
        public var since: Date

        /// Reads the file; nil when there is none (an instance started before supervision) or it is unreadable.
        public static func read(_ path: String) -> Status? {
            FileManager.default.contents(atPath: path).flatMap { try? JSONDecoder.sorted.decode(Status.self, from: $0) }
        }

        /// The file beside an instance's log.
        public static func file(forLog log: String) -> String { log + ".status" }

        /// In words: `up`, `restarting (exited with status 1; 2 restarts)`, `failed after 6 restarts (…)`.
        public var summary: String {
            let ending = lastEnding.map { "last \($0)" }
            switch state {
            case .up: return restarts == 0 ? "up" : "up (\(restarts) restart\(restarts == 1 ? "" : "s")\(ending.map { ", \($0)" } ?? ""))"
            case .restarting: return "restarting (\([ending, "\(restarts) restarts"].compactMap { $0 }.joined(separator: "; ")))"
            case .failed: return "failed after \(restarts) restarts (\(lastEnding ?? "it kept ending"))"
            case .stopped: return "stopped (\(ending ?? "asked to"))"
            }
        }
    }

    /// How the app ended: `ChildProcess.ending`'s words, and the exit status or signal in them.
    public struct Ending: Sendable, Equatable {
        /// `exited with status 3`, `was killed by signal 9`.
        public let words: String

        public init(_ words: String) { self.words = words }

        /// The status it exited with; nil when a signal ended it.
        public var exitCode: Int32? { number(after: "exited with status ") }
        /// The signal that ended it; nil when it exited.
        public var signal: Int32? { number(after: "was killed by signal ") }

        private func number(after prefix: String) -> Int32? {
            words.hasPrefix(prefix) ? Int32(words.dropFirst(prefix.count)) : nil
        }
    }

    /// What the supervisor tells besides its status file: the deploy side records it in the
    /// project's history (Runtime does not know the history, so this is a seam).
    public enum Notice: Sendable, Equatable {
        /// The app ended and is started again after `backoff`; `attempt` counts restarts from 1.
        case restart(track: Track, ending: Ending, attempt: Int, backoff: Duration)
        /// The app ended `exits` times within `window`: the supervisor gave up, the track is failed.
        case gaveUp(track: Track, ending: Ending, exits: Int, window: Duration)
    }

    public let command: [String]
    public let log: String
    public let statusFile: String
    /// The track the instance serves, named in every notice.
    public let track: Track
    /// Told of each restart and of the give-up, before the pause or the return.
    public let tell: @Sendable (Notice) -> Void
    public var maxRestarts = 5
    public var window: Duration = .seconds(60)

    public init(command: [String], log: String, statusFile: String, track: Track, tell: @escaping @Sendable (Notice) -> Void = { _ in }) {
        (self.command, self.log, self.statusFile, self.track, self.tell) = (command, log, statusFile, track, tell)
    }

    /// The command line that runs `command` under supervision (`swiftdeploy supervise …`); its
    /// notices go to the history under `stateDirectory`.
    public static func commandLine(for command: [String], log: String, track: Track, stateDirectory: String) -> [String] {
        [ChildProcess.executablePath, "supervise", "--log", log, "--status", Status.file(forLog: log),
         "--track", track.rawValue, "--state-dir", stateDirectory, "--"] + command
    }

    /// Runs until asked to stop or until it gives up; returns the exit status for the supervisor.
    public func run() async -> Int32 {
        let stopping = Mutex<(asked: Bool, child: pid_t?)>((false, nil))
        let release = Interruption.trap { _, _ in
            let child = stopping.withLock { state in
                state.asked = true
                return state.child
            }
            if let child { kill(child, SIGTERM) }
        }
        defer { release() }
        var restarts = 0, endings: [ContinuousClock.Instant] = [], pause = Duration.seconds(1), lastEnding: String?
        while true {
            let pid: pid_t
            do {
                pid = try ChildProcess.spawn(command, logFile: log)
            } catch {
                write(Status(state: .failed, pid: nil, restarts: restarts, lastEnding: "could not start: \(error)", since: Date()))
                return 1
            }
            stopping.withLock { $0.child = pid }
            write(Status(state: .up, pid: pid, restarts: restarts, lastEnding: lastEnding, since: Date()))
            let ending = await ended(pid, stopping: { stopping.withLock { $0.asked } })
            lastEnding = ending
            stopping.withLock { $0.child = nil }
            if stopping.withLock({ $0.asked }) || ending == "exited with status 0" {
                write(Status(state: .stopped, pid: nil, restarts: restarts, lastEnding: ending, since: Date()))
                return 0
            }
            let now = ContinuousClock.now
            endings = endings.filter { now - $0 < window } + [now]
            guard endings.count <= maxRestarts else {
                say("the app \(ending) for the \(endings.count)th time in \(window.manifestText); giving up (the track is failed)")
                write(Status(state: .failed, pid: nil, restarts: restarts, lastEnding: ending, since: Date()))
                tell(.gaveUp(track: track, ending: Ending(ending), exits: endings.count, window: window))
                return 1
            }
            restarts += 1
            say("the app \(ending); starting it again in \(pause.manifestText) (restart \(restarts))")
            write(Status(state: .restarting, pid: nil, restarts: restarts, lastEnding: ending, since: Date()))
            tell(.restart(track: track, ending: Ending(ending), attempt: restarts, backoff: pause))
            let resume = ContinuousClock.now + pause
            while ContinuousClock.now < resume, !stopping.withLock({ $0.asked }) { try? await Task.sleep(for: .milliseconds(50)) }
            if stopping.withLock({ $0.asked }) {
                write(Status(state: .stopped, pid: nil, restarts: restarts, lastEnding: ending, since: Date()))
                return 0
            }
            pause = min(pause * 2, .seconds(30))
        }
    }

    /// Waits for the app to end; once a stop is asked, gives it 8 s before SIGKILL.
    private func ended(_ pid: pid_t, stopping: () -> Bool) async -> String {
        var killAt: ContinuousClock.Instant?
        while true {
            if let ending = await ChildProcess.ending(pid, patience: .zero) { return ending }
            if killAt == nil, stopping() { killAt = .now + .seconds(8) }
            if let killAt, ContinuousClock.now > killAt { kill(pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    private func say(_ line: String) {
        try? PrivateFile.append(log, Array("swiftdeploy supervise: \(line)\n".utf8), mode: 0o644)
    }

    private func write(_ status: Status) {
        try? PrivateFile.replace(statusFile, with: Array(JSONEncoder.sorted.encode(status)), mode: 0o644)
    }
}
