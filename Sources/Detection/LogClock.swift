/// The engine's time, taken from the times lines carry. Real logs are not in time order: nginx
/// stamps a request when it ends and Apache when it starts, merged logs interleave hosts, and clocks
/// step. The clock never goes back; each line is placed against it:
/// - **current**: at or after the clock, which moves to it;
/// - **late**: up to `horizon` seconds behind, counted at its own second in the windows that still
///   hold it (a late line never moves the clock, so it can never expire a window or a ban);
/// - **stale**: further behind, counted in the totals only, never in a short-window rule.
/// Stale lines alone for a whole horizon of their own time (at least `stepLines` of them, no current
/// or late line among them) are the log's clock stepping back (an NTP correction, a host restored
/// from a snapshot): from then on lines are shifted forward by the step, so the guard judges again
/// after one horizon instead of going blind until the log catches up. A merged log with one skewed
/// host never steps: the other hosts' lines keep arriving in time.
/// A gap (hours or days without a line) just moves the clock: the windows empty, and the baseline
/// records the quiet seconds as quiet.
public struct LogClock: Sendable, Equatable {
    public enum Placement: Sendable, Equatable {
        case current
        /// Seconds behind the clock (1 … horizon).
        case late(Int)
        case stale
    }

    public var horizon: Int
    public let stepLines: Int
    /// The newest second placed (nil before the first line).
    public private(set) var now: Int?
    /// Seconds added to every line's own time since the log's clock stepped back.
    public private(set) var shift = 0
    public private(set) var lateLines = 0
    public private(set) var staleLines = 0
    public private(set) var steps = 0
    private var staleRun = 0
    private var staleFirst = Int.min
    private var staleNewest = Int.min

    public init(horizon: Int, stepLines: Int = 20) {
        self.horizon = max(0, horizon)
        self.stepLines = max(1, stepLines)
    }

    /// Places a line stamped `second`; returns where it counts and its second on the engine's clock.
    public mutating func place(_ second: Int) -> (placement: Placement, second: Int) {
        let shifted = second &+ shift
        guard let current = now, shifted < current else {
            now = shifted
            staleRun = 0
            return (.current, shifted)
        }
        let behind = current - shifted
        if behind <= horizon {
            lateLines += 1
            staleRun = 0
            return (.late(behind), shifted)
        }
        staleRun += 1
        if staleRun == 1 { (staleFirst, staleNewest) = (shifted, shifted) }
        staleNewest = max(staleNewest, shifted)
        guard staleRun >= stepLines, staleNewest - staleFirst >= horizon else {
            staleLines += 1
            return (.stale, shifted)
        }
        // The log's clock stepped back: its newest stale second becomes the clock's, so the lines
        // that follow count again (at most a second behind) and nothing already decided is undone.
        shift += current - staleNewest
        steps += 1
        staleRun = 0
        return place(second)
    }

    /// Moves the clock to `second` (the wall clock, in a live daemon) if that is ahead of it.
    public mutating func advance(to second: Int) {
        if now.map({ second > $0 }) ?? true { now = second }
    }
}
