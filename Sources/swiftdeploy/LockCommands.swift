import ArgumentParser
import Foundation
import Deploy
import Manifest
import Policy
import Runtime
import Spawn
import Telemetry
import Vocabulary

/// `--wait`, for every command that changes the stack (they hold the project's lock while they run).
struct LockOption: ParsableArguments {
    @Flag(help: "When another command is changing this stack, wait for it instead of refusing.") var wait = false

    /// Runs `change` on the manifest's stack while holding the project's lock as `command`; a failure
    /// is said in the user's words and exits 1.
    func changing(_ manifest: ManifestOption, as command: String, _ change: @escaping (Stack) async throws -> Void) async throws {
        try await Failure.reporting {
            let stack = try Stack(project: manifest.project())
            try await stack.changing(command, wait: wait) { try await change(stack) }
        }
    }
}

struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock", abstract: "The project's deploy lock: who holds it, and forgetting a finished holder's record.",
        subcommands: [Status.self, Release.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Who holds the lock (exit 1 while it is held).")
        @OptionGroup var manifest: ManifestOption

        func run() async throws {
            var held = false
            try await Failure.reporting {
                let now = Int(Date().timeIntervalSince1970)
                switch try ProjectLock.state(stateDirectory: manifest.project().manifest.stateDirectory) {
                case .held(let holder):
                    held = true
                    print("lock: held by \(holder.described(now: now))")
                case .free(let last):
                    print("lock: free" + (last.map { "; last held by \($0.described(now: now)), which has ended" } ?? ""))
                }
            }
            if held { throw ExitCode(1) }
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget the record a finished holder left; refused while a command holds the lock.",
            discussion: "The lock is the kernel's: it is released when its holder ends, however it ends (crash or kill included).")
        @OptionGroup var manifest: ManifestOption

        func run() async throws {
            try await Failure.reporting {
                let last = try ProjectLock.release(stateDirectory: manifest.project().manifest.stateDirectory)
                print("lock: free" + (last.map { " (forgot pid \($0.pid)'s record: swiftdeploy \($0.command))" } ?? ""))
            }
        }
    }
}
