import Foundation

/// Manifest durations: a number and a unit (`ms`, `s`, `m`, `h`, `d`), or several such as `1h30m`,
/// up to a hundred years (a longer one is no duration a user meant, and would not fit in `Duration`'s milliseconds).
public enum DurationText {
    public static let longest = 100 * 365 * 86400.0

    public static func parse(_ text: String) -> Duration? {
        var total = 0.0
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard let amount = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ms": total += amount / 1000
            case "s": total += amount
            case "m": total += amount * 60
            case "h": total += amount * 3600
            case "d": total += amount * 86400
            default: return nil
            }
        }
        guard total <= longest else { return nil }
        return .milliseconds(Int64((total * 1000).rounded()))
    }
}

extension Duration {
    /// Seconds as a Double, for arithmetic and JSON.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// The shortest manifest spelling: `500ms`, `30s`, `10m`, `2h`.
    public var manifestText: String {
        let milliseconds = Int64((seconds * 1000).rounded())
        if milliseconds % 1000 != 0 { return "\(milliseconds)ms" }
        let whole = milliseconds / 1000
        if whole != 0 && whole % 3600 == 0 { return "\(whole / 3600)h" }
        if whole != 0 && whole % 60 == 0 { return "\(whole / 60)m" }
        return "\(whole)s"
    }
}

extension Duration {
    /// A remaining or elapsed time for people, to the minute or second: `1h05m`, `4m09s`, `42s`.
    public var readable: String {
        let total = Int(seconds)
        if total >= 3600 { return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m" }
        if total >= 60 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total)s"
    }
}
