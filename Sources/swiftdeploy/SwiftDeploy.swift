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
    @Flag(help: "As root, act as root on a project another user can change (that user then decides what root runs and writes).")
    var trustManifest = false

    /// What root does with a project another user can change.
    enum Foreign { case becomeOwner, refuse }

    /// The project, loaded as the right user: as root on a project another user owns, this process
    /// first becomes that user (`.becomeOwner`, said on stderr) or refuses (`.refuse`, for the guard,
    /// which needs root); a project anyone may write is refused. `--trust-manifest` keeps root.
    func project(_ foreign: Foreign = .becomeOwner) throws -> Project {
        try settle([file], foreign)
        let project = try Project(file: file)
        try settle([project.manifest.stateDirectory], foreign)
        return project
    }

    /// Who a unit for this project runs as: its owner's name, or root.
    func owner() throws -> String {
        guard geteuid() == 0, !trustManifest else { return Privileges.User(uid: geteuid(), fallbackGroup: getegid()).name }
        let project = try Project(file: file)
        guard case .user(let uid, let gid) = try ProjectOwner.verdict(for: [file, project.manifest.stateDirectory]) else { return "root" }
        return Privileges.User(uid: uid, fallbackGroup: gid).name
    }

    private func settle(_ paths: [String], _ foreign: Foreign) throws {
        guard geteuid() == 0, !trustManifest, case .user(let uid, let gid) = try ProjectOwner.verdict(for: paths) else { return }
        let user = Privileges.User(uid: uid, fallbackGroup: gid)
        if foreign == .refuse {
            throw ProjectOwner.Refusal(description: "\(paths[0]) can be changed by \(user.name) (uid \(uid)), and the guard acts as root on what its manifest says; "
                + "keep the guard's manifest and state where only root can write (/etc/swiftdeploy, /var/lib/swiftdeploy), or pass --trust-manifest")
        }
        TerminalConsole().warn("swiftdeploy: acting as \(user.name), who can change \(paths[0]) (root does not act in another user's project; --trust-manifest keeps root)")
        try Privileges.become(user)
    }
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
