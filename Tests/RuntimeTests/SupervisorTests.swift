import Foundation
import Runtime
import TestSupport
import Testing

/// The local runtime's supervisor on real processes: a crashing app is started again after a
/// growing pause, and one that keeps crashing is given up on, with how it ended on record.
@Suite struct SupervisorRestarts {
    @Test func aCrashingAppIsStartedAgainThenGivenUpOn() async throws {
        let folder = TestSupport.temporaryDirectory("supervisor")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let log = "\(folder)/app.log"
        var supervisor = Supervisor(command: ["/bin/sh", "-c", "echo started; exit 3"], log: log, statusFile: Supervisor.Status.file(forLog: log))
        supervisor.maxRestarts = 2
        let started = ContinuousClock.now
        #expect(await supervisor.run() == 1, "it gives up")
        #expect(ContinuousClock.now - started >= .seconds(3), "pauses of 1 s and 2 s between the starts")
        let status = try #require(Supervisor.Status.read(supervisor.statusFile))
        #expect(status.state == .failed && status.restarts == 2 && status.lastEnding == "exited with status 3", "\(status)")
        #expect(status.summary == "failed after 2 restarts (exited with status 3)")
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.components(separatedBy: "started\n").count - 1 == 3, "three starts: \(text)")
        #expect(text.contains("swiftdeploy supervise: the app exited with status 3; starting it again in 1s (restart 1)"), "\(text)")
        #expect(text.contains("giving up"), "\(text)")
    }

    @Test func anAppThatEndsWellIsNotRestarted() async throws {
        let folder = TestSupport.temporaryDirectory("supervisor-ok")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let log = "\(folder)/app.log"
        let supervisor = Supervisor(command: ["/bin/sh", "-c", "exit 0"], log: log, statusFile: Supervisor.Status.file(forLog: log))
        #expect(await supervisor.run() == 0)
        #expect(Supervisor.Status.read(supervisor.statusFile)?.state == .stopped)
    }

    /// A start separator per start: a failure quotes only its own start's lines.
    @Test func aFailureQuotesOnlyItsOwnStart() {
        let text = LaunchError.separator(track: .stable, version: "1", port: 1, at: 0) + "\nold crash\n"
            + LaunchError.separator(track: .stable, version: "2", port: 1, at: 60) + "\nnew line\n"
        #expect(LaunchError.thisStart(text) == ["new line"])
        #expect(LaunchError.thisStart("no separator\n") == ["no separator"])
    }
}
