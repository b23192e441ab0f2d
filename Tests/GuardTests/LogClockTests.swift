import Testing
@testable import Detection

/// What the engine does with a line's own time: late lines within the horizon, stale ones beyond
/// it, a gap, a clock stepping back (docs/guard.md, "Time as logs have it").
@Suite struct LogClockPlacement {
    @Test func linesAtOrAfterTheClockMoveIt() {
        var clock = LogClock(horizon: 120)
        #expect(clock.place(1000) == (.current, 1000))
        #expect(clock.place(1000) == (.current, 1000))
        #expect(clock.place(1005) == (.current, 1005))
        #expect(clock.now == 1005)
    }

    @Test func aLineWithinTheHorizonIsLateAtItsOwnSecond() {
        var clock = LogClock(horizon: 120)
        _ = clock.place(1000)
        #expect(clock.place(990) == (.late(10), 990))
        #expect(clock.place(880) == (.late(120), 880))
        #expect(clock.now == 1000)
        #expect(clock.lateLines == 2)
    }

    @Test func aLineBeyondTheHorizonIsStaleAndCountsInTotalsOnly() {
        var clock = LogClock(horizon: 120)
        _ = clock.place(1000)
        #expect(clock.place(879).placement == .stale)
        // A current line between stale ones: a merged log with one skewed host, not a step.
        #expect(clock.place(1001).placement == .current)
        #expect(clock.place(879).placement == .stale)
        #expect(clock.staleLines == 2)
        #expect(clock.steps == 0)
    }

    @Test func aGapOfDaysJustMovesTheClock() {
        var clock = LogClock(horizon: 120)
        _ = clock.place(1000)
        #expect(clock.place(1000 + 3 * 86400) == (.current, 1000 + 3 * 86400))
        #expect(clock.steps == 0)
    }

    @Test func aClockSteppingBackIsFollowedAfterAHorizonOfStaleLines() {
        var clock = LogClock(horizon: 120, stepLines: 5)
        _ = clock.place(10_000)
        // The log's clock steps back an hour: stale lines for two minutes of their own time…
        for second in stride(from: 6400, to: 6520, by: 10) { #expect(clock.place(second).placement == .stale) }
        // …then the next one shows the step: it lands on the clock, and the lines after it count.
        let step = clock.place(6520)
        #expect(clock.steps == 1)
        #expect(clock.shift == 10_000 - 6520)
        #expect(step == (.current, 10_000))
        #expect(clock.place(6521) == (.current, 10_001))
        #expect(clock.place(6510) == (.late(11), 9990))
    }

    @Test func aMergedLogWithASkewedHostNeverSteps() {
        var clock = LogClock(horizon: 120, stepLines: 5)
        for second in 0..<1000 {
            _ = clock.place(10_000 + second)
            #expect(clock.place(9_000 + second).placement == .stale)
            #expect(clock.place(9_000 + second).placement == .stale)
        }
        #expect(clock.steps == 0)
        #expect(clock.staleLines == 2000)
    }

    @Test func aShortBacklogFromThePastIsNoStep() {
        var clock = LogClock(horizon: 120, stepLines: 5)
        _ = clock.place(10_000)
        for index in 0..<500 { #expect(clock.place(6400 + index / 100).placement == .stale) }
        #expect(clock.steps == 0)
    }

    @Test func theWallClockMovesItForward() {
        var clock = LogClock(horizon: 120)
        clock.advance(to: 5000)
        #expect(clock.place(4950) == (.late(50), 4950))
        clock.advance(to: 4000)
        #expect(clock.now == 5000)
    }
}
