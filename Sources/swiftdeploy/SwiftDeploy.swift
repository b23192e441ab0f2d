import ArgumentParser
import Deploy
import Foundation
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
            ImageCommand.self, LockCommand.self, ReleasesCommand.self, TLSCommand.self,
        ]
    )
}

enum SwiftDeployVersion {
    static let current = "0.1.0"
}

/// `-f FILE`, shared by every command that reads the manifest.
struct ManifestOption: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("file")], help: "The manifest to use.")
    var file: String = "swiftdeploy.yaml"
}

/// Reports a failed command on stderr in the user's words and exits 1.
enum Failure {
    static func print(_ message: String) {
        TerminalConsole().warn("error: \(message)")
    }

    /// Runs `body`; any error is printed (its description is written for the user) and becomes exit 1.
    static func reporting(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            print("\(error)")
            throw ExitCode(1)
        }
    }
}
