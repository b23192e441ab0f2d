import ArgumentParser
import Deploy
import Foundation
import Spawn
import Vocabulary

/// The `swiftdeploy` command: one type per command, each calling one use case.
@main
struct SwiftDeploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swiftdeploy",
        abstract: "Policy-gated deploys and an edge guard for self-hosted web services.",
        discussion: """
            swiftdeploy.yaml is the single source of truth: nginx.conf and docker-compose.yml are generated from it, \
            every risky step asks a Rego policy first, and the guard bans abusive clients in the kernel firewall. \
            Docs: README.md and docs/ in the project.
            """,
        version: SwiftDeployVersion.current,
        subcommands: [
            Init.self, Validate.self, Diff.self, DeployCommand.self, CanaryCommand.self, Promote.self, Rollback.self,
            Status.self, Audit.self, Teardown.self, Chaos.self, PolicyCommand.self, GuardCommand.self, DemoCommand.self,
            ImageCommand.self, LockCommand.self, ReleasesCommand.self, TLSCommand.self, LogsCommand.self, Supervise.self,
        ]
    )

    /// Line-buffered output (a pipe or a file gets each line as it is said, in order with the
    /// errors), a global `-f FILE` before the command, and a suggestion for a mistyped command.
    static func main() async {
        ChildProcess.lineBufferStandardOutput()
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.count >= 2, ["-f", "--file"].contains(arguments[0]) {
            setenv(ManifestOption.environmentName, arguments[1], 1)
            arguments.removeFirst(2)
        }
        if let first = arguments.first, !first.hasPrefix("-"), let suggestion = CommandSuggestion.unknown(first, among: configuration.subcommands.map { $0._commandName } + ["help"]) {
            Failure.print(suggestion)
            Foundation.exit(ExitStatus.usage)
        }
        do {
            var command = try parseAsRoot(arguments)
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

enum SwiftDeployVersion {
    static let current = "0.1.0"
}

/// `-f FILE`, shared by every command that reads the manifest (also before the command, or as
/// `SWIFTDEPLOY_MANIFEST`).
struct ManifestOption: ParsableArguments {
    static let environmentName = "SWIFTDEPLOY_MANIFEST"

    @Option(name: [.customShort("f"), .customLong("file")], help: "The manifest to use (default: $SWIFTDEPLOY_MANIFEST, else swiftdeploy.yaml).")
    var file: String = ManifestOption.defaultFile
    @Flag(help: "As root, act as root on a project another user can change (that user then decides what root runs and writes).")
    var trustManifest = false

    static var defaultFile: String { ProcessInfo.processInfo.environment[environmentName] ?? "swiftdeploy.yaml" }

    var chosen: ManifestChoice { ManifestChoice(file: file, trustManifest: trustManifest) }

    func project(_ foreign: ManifestChoice.Foreign = .becomeOwner) throws -> Project { try chosen.project(foreign) }
    func owner() throws -> String { try chosen.owner() }
}

/// Reports a failed command on stderr in the user's words and exits with its status (`ExitStatus`).
enum Failure {
    static func print(_ message: String) {
        TerminalConsole().warn("error: \(message)")
    }

    /// Runs `body`; any error is printed (its description is written for the user) and becomes the
    /// exit status that says what kind of failure it was.
    static func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("\(error)")
            throw ExitCode(ExitStatus.of(error))
        }
    }
}
