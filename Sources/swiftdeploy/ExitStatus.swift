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

/// A suggestion for a command that does not exist: the closest known one, by edit distance.
enum CommandSuggestion {
    /// nil when `word` is a command; else what to say.
    static func unknown(_ word: String, among commands: [String]) -> String? {
        guard !commands.contains(word) else { return nil }
        let closest = commands.map { ($0, distance(word, $0)) }.min { $0.1 < $1.1 }
        let hint = closest.flatMap { $0.1 <= max(2, word.count / 3) ? " Did you mean `swiftdeploy \($0.0)`?" : nil } ?? ""
        return "`\(word)` is not a swiftdeploy command.\(hint) `swiftdeploy --help` lists them."
    }

    /// Levenshtein distance between two words.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let above = row[j]
                row[j] = min(diagonal + (a[i - 1] == b[j - 1] ? 0 : 1), above + 1, row[j - 1] + 1)
                diagonal = above
            }
        }
        return row[b.count]
    }
}
