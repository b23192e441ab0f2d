import Foundation
import Testing

@testable import GuardService

/// A clock the test moves by hand, in milliseconds.
final class HandClock: @unchecked Sendable {
    private let lock = NSLock()
    private var ms: Int

    init(_ ms: Int) { self.ms = ms }

    var now: Int { lock.withLock { ms } }
    func move(to ms: Int) { lock.withLock { self.ms = ms } }
}

@Suite struct ParseHealthAlarm {
    let start = 1_800_000_000_000
    func health(_ clock: HandClock) -> ParseHealth { ParseHealth { clock.now } }

    @Test func oneOddLineOnAnIdleSiteIsNoAlarm() {
        let clock = HandClock(start)
        var health = health(clock)
        #expect(health.count(lines: 1, bad: 1) == nil, "100% of one line, but fewer than 10 malformed")
        clock.move(to: start + 500)
        #expect(health.count(lines: 5, bad: 8) == nil)
        #expect(!health.alarming)
    }

    @Test func moreThanOnePercentOfAMinuteIsSaidAtOnceThenAtMostOnceAMinute() {
        let clock = HandClock(start)
        var health = health(clock)
        #expect(health.count(lines: 1000, bad: 10) == nil, "exactly 1% is not more than 1%")
        clock.move(to: start + 200)
        #expect(health.count(lines: 0, bad: 1) == .malformed(lines: 1000, bad: 11))
        #expect(health.alarming)
        clock.move(to: start + 59_999)
        #expect(health.count(lines: 500, bad: 100) == nil, "said less than a minute ago")
        clock.move(to: start + 60_200)
        // The first second's lines have left the window; the alarm still holds, and is said again.
        #expect(health.count(lines: 0, bad: 0) == .malformed(lines: 500, bad: 100))
    }

    @Test func itsEndIsSaidOnceWhenTheMalformedLinesLeaveTheMinute() {
        let clock = HandClock(start)
        var health = health(clock)
        #expect(health.count(lines: 100, bad: 50) == .malformed(lines: 100, bad: 50))
        clock.move(to: start + 30_000)
        #expect(health.count(lines: 1000, bad: 0) == nil, "50 of 1,100 is still more than 1%")
        clock.move(to: start + 60_000)
        #expect(health.count(lines: 1000, bad: 0) == .recovered(lines: 2000, bad: 0))
        #expect(!health.alarming)
        clock.move(to: start + 61_000)
        #expect(health.count(lines: 1000, bad: 0) == nil, "said once")
    }

    @Test func theMinuteSlides() {
        let clock = HandClock(start)
        var health = health(clock)
        _ = health.count(lines: 10, bad: 1)
        clock.move(to: start + 59_999)
        _ = health.count(lines: 20, bad: 2)
        #expect(health.lastMinute == (lines: 30, bad: 3))
        clock.move(to: start + 60_000)
        #expect(health.lastMinute == (lines: 20, bad: 2), "the first second is out")
        clock.move(to: start + 200_000)
        #expect(health.lastMinute == (lines: 0, bad: 0), "a slot of an old second never counts again")
    }
}
