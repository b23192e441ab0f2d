import Deploy
import Runtime

/// What `swiftdeploy` exits with, the same for every command (docs/operations.md, "Exit status"),
/// so a script can tell a policy's no from a held lock or an app that never turned healthy.
enum ExitStatus {
    static let ok: Int32 = 0
    /// A policy denied (or another failure not listed here).
    static let denied: Int32 = 1
    /// The policy engine could not answer (which is also a no).
    static let noAnswer: Int32 = 2
    /// Another swiftdeploy command holds the project's lock.
    static let locked: Int32 = 3
    /// An instance did not become healthy, or a track is down (`status`).
    static let unhealthy: Int32 = 4
    /// The command line is wrong (sysexits' EX_USAGE, as swift-argument-parser uses).
    static let usage: Int32 = 64

    static func of(_ error: any Error) -> Int32 {
        switch error {
        case let blocked as PolicyBlocked: blocked.decision.unanswered == nil ? denied : noAnswer
        case let lock as LockError: lock.isHeld ? locked : denied
        case is LaunchError: unhealthy
        default: denied
        }
    }
}
