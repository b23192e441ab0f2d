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
