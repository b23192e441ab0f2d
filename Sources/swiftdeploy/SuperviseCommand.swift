import ArgumentParser
import Runtime
import Spawn

/// `swiftdeploy supervise`: the local runtime's supervisor for one instance (started by `deploy`,
/// `canary start` and `promote`, not by hand): runs the app and starts it again when it crashes.
struct Supervise: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an app and start it again when it crashes (the local runtime's supervisor).", shouldDisplay: false)
    @Option(help: "The instance's log.") var log: String
    @Option(help: "Where the supervisor keeps the instance's state.") var status: String
    @Argument(parsing: .captureForPassthrough, help: "-- and the app's command line.") var command: [String] = []

    func run() async throws {
        ChildProcess.lineBufferStandardOutput()
        let app = command.first == "--" ? Array(command.dropFirst()) : command
        guard !app.isEmpty else { throw ValidationError("supervise needs the app's command after --") }
        let status = await Supervisor(command: app, log: log, statusFile: status).run()
        if status != 0 { throw ExitCode(status) }
    }
}
