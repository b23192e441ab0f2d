import Detection
import Vocabulary

/// A row of the shared decisions table as another edge, or anyone on the path to the database,
/// could write it (issue 27, H1: one such row once trapped every edge for good). The bytes give
/// the figures whole (`since`, `until`, `offence` as 64-bit numbers, so every extreme is reached)
/// and the texts (edge, address, reason, condition, split at zero bytes). A row `problem` passes
/// must go through the engine exactly as the daemon takes it (adopted, its timers and forgiveness run years ahead,
/// its decisions written as audit lines) without a trap and without a line break in any line; a
/// row it refuses must be refused by the ban book too.
enum SharedRowFuzz {
    static let start = 1_800_000_000

    static func take(_ bytes: UnsafeBufferPointer<UInt8>) {
        var reader = bytes.makeIterator()
        func number() -> Int {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 8) { value |= UInt64(reader.next() ?? 0) << UInt64(shift) }
            return Int(truncatingIfNeeded: value)
        }
        let flags = reader.next() ?? 0
        let (since, until, offence) = (number(), number(), number())
        var texts: [String] = [], current: [UInt8] = []
        while let byte = reader.next() {
            if byte == 0 { texts.append(String(decoding: current, as: UTF8.self)); current = [] } else { current.append(byte) }
        }
        texts.append(String(decoding: current, as: UTF8.self))
        func text(_ index: Int, _ fallback: String) -> String { index < texts.count ? texts[index] : fallback }
        let decision = SharedDecision(edge: text(0, "edge-b"), action: flags & 2 == 0 ? .ban : .unban, address: text(1, "192.0.2.1"),
                                      since: since, until: flags & 1 == 0 ? until : nil, offence: offence,
                                      reason: text(2, "flood"), condition: text(3, "requests=9 in 1s"))
        var config = GuardConfig()
        config.allow = []  // nothing shielded: every row reaches the ban book
        var engine = GuardEngine(config: config)
        engine.advance(to: start)
        guard let ban = BanBook.Ban(decision, ipv6Prefix: 64) else { return }
        let problem = decision.problem
        switch decision.action {
        case .ban: engine.adopt(ban, condition: decision.condition, from: decision.edge, at: start)
        case .unban: engine.adoptUnban(ban.target, from: decision.edge, at: start)
        }
        // A range wider than a ban may hold is refused before the ban book sees its figures.
        if decision.action == .ban, !ban.target.isTooWide,
           BanBook.Ban(target: ban.target, since: since, until: decision.until, offence: offence, reason: "").problem != nil {
            precondition(engine.banBook.refused == 1, "the ban book took figures `problem` refuses")
        }
        guard problem == nil else { return }
        for second in [start + 1, start + 86_400, start + 1_000_000_000] { engine.advance(to: second) }
        for made in engine.drain() { precondition(!made.auditLine.contains("\n"), "a shared row forged an audit line: \(made.auditLine)") }
    }
}
