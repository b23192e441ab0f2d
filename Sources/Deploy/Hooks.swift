import Foundation
import Manifest
import Spawn
import Vocabulary

/// The manifest's hooks (`hooks:`), run around lifecycle events with the release described in
/// their environment (`SWIFTDEPLOY_EVENT`, `SWIFTDEPLOY_PROJECT`, `SWIFTDEPLOY_VERSION`,
/// `SWIFTDEPLOY_PREVIOUS_VERSION`, `SWIFTDEPLOY_URL`, `SWIFTDEPLOY_STATE_DIR`). A pre-hook that
/// fails or times out stops the change with its output; a post-hook's failure is reported, the
/// change stays done.
struct Hooks: Sendable {
    let manifest: Manifest
    let console: any Console
    let history: History

    /// Runs the hook for `event`, if the manifest has one.
    func run(_ event: HookEvent, version: String, previous: String?, url: String) async throws {
        guard let hook = manifest.hooks[event] else { return }
        console.say("hook \(event.rawValue): \(hook.shown)")
        let environment = ProcessInfo.processInfo.environment.merging([
            "SWIFTDEPLOY_EVENT": event.rawValue, "SWIFTDEPLOY_PROJECT": manifest.name, "SWIFTDEPLOY_VERSION": version,
            "SWIFTDEPLOY_PREVIOUS_VERSION": previous ?? "", "SWIFTDEPLOY_URL": url, "SWIFTDEPLOY_STATE_DIR": manifest.stateDirectory,
        ]) { $1 }
        let folder = "'" + manifest.directory.replacingOccurrences(of: "'", with: "'\\''") + "'"
        let started = ContinuousClock.now
        let (status, output) = try await ChildProcess.run(["/bin/sh", "-c", "cd \(folder) && \(hook.run)"], environment: environment, limit: hook.timeout)
        let tail = output.split(separator: "\n").suffix(20).map { "  | \($0)" }.joined(separator: "\n")
        let outcome = status.map { "exit \($0)" } ?? "still running after \(hook.timeout.manifestText), stopped"
        try history.record(.hook, ["hook": .string(event.rawValue), "command": .string(hook.shown), "outcome": .string(outcome),
                                   "ok": .bool(status == 0), "seconds": .number(((ContinuousClock.now - started).seconds * 1000).rounded() / 1000)])
        if status == 0 {
            if !tail.isEmpty { console.say(tail) }
            return
        }
        let message = "hook \(event.rawValue) failed (\(outcome)): \(hook.shown)" + (tail.isEmpty ? " (no output)" : "\n\(tail)")
        guard event.isPre else {
            console.warn("WARNING: \(message)")
            return
        }
        throw LifecycleError(message + "\nnothing was changed")
    }
}
