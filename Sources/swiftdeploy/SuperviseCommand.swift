import ArgumentParser
import Deploy
import Runtime
import Spawn
import Vocabulary

/// `swiftdeploy supervise`: the local runtime's supervisor for one instance (started by `deploy`,
/// `canary start` and `promote`, not by hand): runs the app and starts it again when it crashes.
/// Each restart and the give-up go to the project's history, so `history` and `audit` show them.
struct Supervise: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an app and start it again when it crashes (the local runtime's supervisor).", shouldDisplay: false)
    @Option(help: "The instance's log.") var log: String
    @Option(help: "Where the supervisor keeps the instance's state.") var status: String
    @Option(help: "The track the instance serves (stable, canary).") var track: String
    @Option(name: .customLong("state-dir"), help: "The project's state directory, whose history gets each restart and give-up.")
    var stateDirectory: String
    @Argument(parsing: .captureForPassthrough, help: "-- and the app's command line.") var command: [String] = []

    func run() async throws {
        ChildProcess.lineBufferStandardOutput()
        let app = command.first == "--" ? Array(command.dropFirst()) : command
        guard !app.isEmpty else { throw ValidationError("supervise needs the app's command after --") }
        guard let track = Track(rawValue: track) else { throw ValidationError("--track is stable or canary, not \(track)") }
        let history = History(stateDirectory: stateDirectory)
        let supervisor = Supervisor(command: app, log: log, statusFile: status, track: track) { notice in
            // A history that cannot be written (full disk) must not end the supervision: the app
            // matters more than its record, and the warning lands in the instance's log.
            do throws(FileWriteError) { try history.record(notice) } catch {
                TerminalConsole().warn("swiftdeploy supervise: warning: not in the history: \(error)")
            }
        }
        let status = await supervisor.run()
        if status != 0 { throw ExitCode(status) }
    }
}
