import Foundation
import Runtime
import Synchronization
import TestSupport
import Testing

/// The local runtime's supervisor on real processes: a crashing app is started again after a
/// growing pause, and one that keeps crashing is given up on, with how it ended on record (its
/// status file, its notices, and through `swiftdeploy supervise` the project's history).
@Suite struct SupervisorRestarts {
    /// What a supervisor told, in order.
    final class Notices: Sendable {
        private let told = Mutex<[Supervisor.Notice]>([])
        func tell(_ notice: Supervisor.Notice) { told.withLock { $0.append(notice) } }
        var all: [Supervisor.Notice] { told.withLock { $0 } }
    }

    /// A supervisor of a canary running `script`, its log in `folder`, and what it tells.
    private static func supervisor(of script: String, in folder: String, maxRestarts: Int = 5) -> (Supervisor, Notices) {
        let log = "\(folder)/app.log", notices = Notices()
        var supervisor = Supervisor(command: ["/bin/sh", "-c", script], log: log, statusFile: Supervisor.Status.file(forLog: log),
                                    track: .canary, tell: notices.tell)
        supervisor.maxRestarts = maxRestarts
        return (supervisor, notices)
    }

    @Test func aCrashingAppIsStartedAgainThenGivenUpOn() async throws {
        let folder = TestSupport.temporaryDirectory("supervisor")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (supervisor, notices) = Self.supervisor(of: "echo started; exit 3", in: folder, maxRestarts: 2)
        let started = ContinuousClock.now
        #expect(await supervisor.run() == 1, "it gives up")
        #expect(ContinuousClock.now - started >= .seconds(3), "pauses of 1 s and 2 s between the starts")
        let status = try #require(Supervisor.Status.read(supervisor.statusFile))
        #expect(status.state == .failed && status.restarts == 2 && status.lastEnding == "exited with status 3", "\(status)")
        #expect(status.summary == "failed after 2 restarts (exited with status 3)")
        let text = try String(contentsOfFile: supervisor.log, encoding: .utf8)
        #expect(text.components(separatedBy: "started\n").count - 1 == 3, "three starts: \(text)")
        #expect(text.contains("swiftdeploy supervise: the app exited with status 3; starting it again in 1s (restart 1)"), "\(text)")
        #expect(text.contains("giving up"), "\(text)")
        let exited = Supervisor.Ending("exited with status 3")
        #expect(notices.all == [.restart(track: .canary, ending: exited, attempt: 1, backoff: .seconds(1)),
                                .restart(track: .canary, ending: exited, attempt: 2, backoff: .seconds(2)),
                                .gaveUp(track: .canary, ending: exited, exits: 3, window: .seconds(60))])
        #expect(exited.exitCode == 3 && exited.signal == nil)
    }

    /// Through the seam: a restart and the give-up name the track, the signal and the attempt.
    @Test func aKilledAppsRestartAndGiveUpAreTold() async throws {
        let folder = TestSupport.temporaryDirectory("supervisor-told")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (supervisor, notices) = Self.supervisor(of: "kill -9 $$", in: folder, maxRestarts: 1)
        #expect(await supervisor.run() == 1)
        let killed = Supervisor.Ending("was killed by signal 9")
        #expect(notices.all == [.restart(track: .canary, ending: killed, attempt: 1, backoff: .seconds(1)),
                                .gaveUp(track: .canary, ending: killed, exits: 2, window: .seconds(60))])
        #expect(killed.signal == 9 && killed.exitCode == nil)
    }

    /// `swiftdeploy supervise` writes each restart to `history.jsonl`; when it cannot (a full disk,
    /// here a state directory that is a file) it warns and goes on supervising.
    @Test func theCommandRecordsRestartsAndOutlivesAHistoryItCannotWrite() async throws {
        let folder = TestSupport.temporaryDirectory("supervise-history")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Crashes once (exit 3), then ends well: one restart.
        let app = ["/bin/sh", "-c", "test -e \"$0\" && exit 0; : > \"$0\"; exit 3"]
        func supervise(stateDirectory: String, marker: String) throws -> (TestSupport.CommandResult, Supervisor.Status?) {
            let log = "\(folder)/\(marker).log"
            let result = try TestSupport.run("swiftdeploy", ["supervise", "--log", log, "--status", Supervisor.Status.file(forLog: log),
                                                             "--track", "canary", "--state-dir", stateDirectory, "--"] + app + ["\(folder)/\(marker)"])
            return (result, Supervisor.Status.read(Supervisor.Status.file(forLog: log)))
        }

        let (recorded, status) = try supervise(stateDirectory: "\(folder)/state", marker: "first")
        #expect(recorded.status == 0 && status?.state == .stopped && status?.restarts == 1, "\(recorded.stderr) \(String(describing: status))")
        let lines = try String(contentsOfFile: "\(folder)/state/history.jsonl", encoding: .utf8).split(separator: "\n")
        let event = try #require(lines.count == 1 ? try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any] : nil, "\(lines)")
        #expect(event["event"] as? String == "restart" && event["track"] as? String == "canary", "\(event)")
        #expect(event["exit_code"] as? Int == 3 && event["attempt"] as? Int == 1 && event["backoff_seconds"] as? Int == 1, "\(event)")

        try Data().write(to: URL(fileURLWithPath: "\(folder)/not-a-directory"))
        let (unrecorded, kept) = try supervise(stateDirectory: "\(folder)/not-a-directory", marker: "second")
        #expect(unrecorded.status == 0 && kept?.state == .stopped && kept?.restarts == 1, "it went on: \(String(describing: kept))")
        #expect(unrecorded.stderr.contains("swiftdeploy supervise: warning: not in the history: cannot write \(folder)/not-a-directory/history.jsonl"),
                "\(unrecorded.stderr)")
    }

    @Test func anAppThatEndsWellIsNotRestarted() async throws {
        let folder = TestSupport.temporaryDirectory("supervisor-ok")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (supervisor, notices) = Self.supervisor(of: "exit 0", in: folder)
        #expect(await supervisor.run() == 0)
        #expect(Supervisor.Status.read(supervisor.statusFile)?.state == .stopped)
        #expect(notices.all.isEmpty, "an app that ends well is no restart")
    }

    /// A start separator per start: a failure quotes only its own start's lines.
    @Test func aFailureQuotesOnlyItsOwnStart() {
        let text = LaunchError.separator(track: .stable, version: "1", port: 1, at: 0) + "\nold crash\n"
            + LaunchError.separator(track: .stable, version: "2", port: 1, at: 60) + "\nnew line\n"
        #expect(LaunchError.thisStart(text) == ["new line"])
        #expect(LaunchError.thisStart("no separator\n") == ["no separator"])
    }
}
