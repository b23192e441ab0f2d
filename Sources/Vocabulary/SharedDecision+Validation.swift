/// A shared decision is input from other machines: any edge, or anyone on the path to the database,
/// may have written it. Before an edge acts on one, it must hold what a real decision holds.
extension SharedDecision {
    public static let maxText = 1024

    /// Why this decision cannot be acted on; nil when it can. A bad row is skipped and counted,
    /// never trusted and never fatal.
    public var problem: String? {
        if let problem = BanFigures.problem(since: since, until: until, offence: offence) { return problem }
        if let target = BanTarget(address), target.isTooWide {
            return "its range \(address) is wider than /\(BanTarget.widest.v4) (IPv4) or /\(BanTarget.widest.v6) (IPv6)"
        }
        for (name, text, limit) in [("edge", edge, 255), ("address", address, 64), ("reason", reason, Self.maxText), ("condition", condition, Self.maxText)] {
            guard text.utf8.count <= limit else { return "its \(name) is longer than \(limit) bytes" }
            guard !Self.hasControlCharacters(text) else { return "its \(name) holds control characters (a newline would forge audit lines)" }
        }
        return nil
    }

    public static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" || $0 == "\u{2029}" }
    }
}
