import ArgumentParser
import Deploy
import GuardService
import Spawn

/// `swiftdeploy logs`: one part of the stack's log, optionally followed.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Show a log of the stack: stable, canary, nginx (its errors), access (the edge log) or guard (its decisions).")
    // -f is follow here, as in `tail -f` and `docker logs -f`: the manifest is --file (or -f before `logs`).
    @Option(name: .customLong("file"), help: "The manifest to use (default: $SWIFTDEPLOY_MANIFEST, else swiftdeploy.yaml).")
    var file: String = ManifestOption.defaultFile
    @Flag(help: "As root, act as root on a project another user can change.") var trustManifest = false
    @Argument(help: "stable, canary, nginx, access or guard.") var source: String = "stable"
    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Keep showing what is written (Ctrl-C ends).") var follow = false
    @Option(name: [.customShort("n"), .customLong("lines")], help: "Lines to show first.") var lines: Int = 50

    func validate() throws {
        guard LogsUseCase.Source(rawValue: source) != nil else {
            throw ValidationError("logs shows \(LogsUseCase.Source.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(source)\"")
        }
    }

    func run() async throws {
        try await Failure.reporting {
            let chosen = LogsUseCase.Source(rawValue: source)!
            // The guard's log is root's; the others are the project owner's, read as that user.
            let stack = try Stack(project: ManifestChoice(file: file, trustManifest: trustManifest).project(chosen == .guard ? .refuse : .becomeOwner))
            let location: LogsUseCase.Location = chosen == .guard
                ? .file(GuardDaemon.auditPath(stateDirectory: stack.project.manifest.stateDirectory))
                : try LogsUseCase(stack: stack).location(of: chosen)
            try ChildProcess.replaceProcess(with: LogsUseCase.command(showing: location, lines: max(1, lines), follow: follow))
        }
    }
}
