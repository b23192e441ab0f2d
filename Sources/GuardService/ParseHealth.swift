import Telemetry

/// Whether the access log parses, over the last minute. A guard that cannot read its log bans
/// nobody, so when more than 1% of the last 60 seconds' lines are malformed (and at least 10 of
/// them, so one odd line on an idle site is no alarm) the daemon says so at once, again at most once
/// a minute while it lasts, and once when it ends. Time comes from the injected clock, in
/// milliseconds since the epoch.
struct ParseHealth: Sendable {
    /// What the daemon must say now, with the last minute's figures.
    enum Notice: Equatable {
        case malformed(lines: Int, bad: Int)
        case recovered(lines: Int, bad: Int)
    }

    static let windowSeconds = 60
    static let alarmLines = 10
    static let repeatMS = 60_000

    let clock: @Sendable () -> Int
    /// Per second of the window, by second modulo its length: which second it holds, lines, malformed lines.
    private var slots = [(second: Int, lines: Int, bad: Int)](repeating: (Int.min, 0, 0), count: ParseHealth.windowSeconds)
    /// When the alarm was last said (nil: no alarm).
    private var warnedAt: Int?

    init(clock: @escaping @Sendable () -> Int) { self.clock = clock }

    /// Counts what one read gave (lines, the malformed among them) and says what to report now.
    mutating func count(lines: Int, bad: Int) -> Notice? {
        let now = clock()
        let second = now / 1000
        let slot = second % Self.windowSeconds
        if slots[slot].second != second { slots[slot] = (second, 0, 0) }
        slots[slot].lines += lines
        slots[slot].bad += bad
        let minute = figures(at: second)
        if minute.bad >= Self.alarmLines && Double(minute.bad) > LogReadability.alarmShare * Double(minute.lines) {
            if let warnedAt, now - warnedAt < Self.repeatMS { return nil }
            warnedAt = now
            return .malformed(lines: minute.lines, bad: minute.bad)
        }
        guard warnedAt != nil else { return nil }
        warnedAt = nil
        return .recovered(lines: minute.lines, bad: minute.bad)
    }

    /// Lines and malformed lines read in the last 60 seconds.
    var lastMinute: (lines: Int, bad: Int) { figures(at: clock() / 1000) }

    /// Whether malformed lines are above the alarm now (the dashboard's banner).
    var alarming: Bool { warnedAt != nil }

    private func figures(at second: Int) -> (lines: Int, bad: Int) {
        slots.reduce(into: (lines: 0, bad: 0)) { sum, slot in
            guard slot.second > second - Self.windowSeconds, slot.second <= second else { return }
            sum.lines += slot.lines
            sum.bad += slot.bad
        }
    }
}
