import Testing
import Vocabulary

@testable import Detection

/// Bans from outside this process (another edge's row, a store on disk) are input: impossible
/// figures are refused and counted, never trapped on (issue 27, H1: `since = Int.min` stopped every
/// edge with an overflow trap, for good, since the row was also saved to each edge's store).
@Suite struct BanFiguresFromOutside {
    let now = 1_800_000_000
    let ip = IPAddress("203.0.113.50")!

    @Test(arguments: [(Int.min, Int?.none, 1), (Int.min, Int?.some(Int.max), 1), (1_800_000_000, Int?.some(Int.min), 1),
                      (1_800_000_000, Int?.some(1_700_000_000), 1), (1_800_000_000, Int?.some(1_800_000_600), 0),
                      (1_800_000_000, Int?.some(1_800_000_600), Int.max), (0, Int?.none, 1), (5_000_000_000, Int?.none, 1)])
    func anImpossibleBanIsRefusedAndNothingTraps(since: Int, until: Int?, offence: Int) {
        var engine = GuardEngine(config: GuardConfig())
        engine.advance(to: now)
        let ban = BanBook.Ban(ip: ip, since: since, until: until, offence: offence, reason: "flood")
        #expect(ban.problem != nil)
        #expect(engine.adopt(ban, condition: "flood", from: "edge-b", at: now) == nil)
        #expect(engine.adoptQuietly([ban], at: now).isEmpty)
        engine.restore(bans: [ban], offences: [BanBook.Offence(ip: ip, count: offence, last: since)])
        // The timers, the recalc and forgiveness run over whatever was handed in.
        for minute in 1...3 { engine.advance(to: now + minute * 60) }
        _ = engine.drain()
        #expect(!engine.banBook.isBanned(ip))
        #expect(engine.banBook.refused >= 3)
    }

    @Test func aPermanentBanFromAnotherEdgeIsTaken() {
        var engine = GuardEngine(config: GuardConfig())
        engine.advance(to: now)
        let ban = BanBook.Ban(ip: ip, since: now - 60, until: nil, offence: 4, reason: "manual")
        #expect(ban.problem == nil)
        #expect(engine.adopt(ban, condition: "manual", from: "edge-b", at: now) != nil)
        engine.advance(to: now + 86_400 * 3)
        #expect(engine.banBook.isBanned(ip))
    }

    @Test func differencesSaturate() {
        #expect(BanBook.seconds(from: Int.min, to: 10) == Int.max)
        #expect(BanBook.seconds(from: Int.max, to: -10) == Int.min)
        #expect(BanBook.seconds(from: 10, to: 25) == 15)
        #expect(BanBook.Ban(ip: ip, since: Int.min, until: Int.max, offence: 1, reason: "").duration == Int.max)
    }

    @Test func aManualBanLongerThanTimeDoesNotTrap() {
        var book = BanBook(schedule: [600], forgiveAfter: 3600)
        let ban = book.ban(BanTarget(client: ip), at: now, reason: "manual", length: .some(Int.max))
        #expect(ban.until == Int.max)
        #expect(book.expire(at: now + 600).isEmpty)
    }
}
