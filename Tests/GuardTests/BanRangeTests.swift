import Detection
import Testing
import Vocabulary

/// Bans of ranges beside bans of clients: what a range holds, how ranges never overlap in force,
/// and the ban book's fast `isBanned` against a plain scan over every ban in force.
@Suite struct BanRanges {
    @Test func targetsAreReadAsTheOperatorWritesThem() {
        #expect(BanTarget("203.0.113.9") == BanTarget(client: IPAddress("203.0.113.9")!))
        #expect(BanTarget("10.1.2.3/8")?.description == "10.0.0.0/8", "host bits cleared")
        #expect(BanTarget("10.1.2.3/32") == BanTarget("10.1.2.3"), "a /32 is one client")
        #expect(BanTarget("2001:db8::/32")?.range == 32)
        for bad in ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/8/8", "example.com", "", "/8"] { #expect(BanTarget(bad) == nil, "\(bad)") }
        // IPv6 is judged by its group: anything no wider than one group is that group.
        #expect(BanTarget("2001:db8:1:2::9")?.grouped(ipv6Prefix: 64) == BanTarget(client: IPAddress("2001:db8:1:2::")!))
        #expect(BanTarget("2001:db8:1:2::/64")?.grouped(ipv6Prefix: 64) == BanTarget(client: IPAddress("2001:db8:1:2::")!))
        #expect(BanTarget("2001:db8:1:2::/112")?.grouped(ipv6Prefix: 64) == BanTarget(client: IPAddress("2001:db8:1:2::")!))
        #expect(BanTarget("2001:db8::/48")?.grouped(ipv6Prefix: 64).range == 48)
    }

    @Test func aRangeBansEveryClientInItAndEscalatesOnItsOwnRecord() {
        var book = BanBook(schedule: [600, 3600], forgiveAfter: 86_400)
        let range = BanTarget("198.51.100.0/24")!
        book.ban(range, at: 0, reason: "cohort")
        #expect(book.isBanned(IPAddress("198.51.100.77")!))
        #expect(!book.isBanned(IPAddress("198.51.101.77")!))
        #expect(!book.isBanned(IPAddress("2001:db8::1")!), "another family is never held by it")
        #expect(book.offences(BanTarget("198.51.100.77")!, at: 0) == 0, "the clients inside keep their own record")
        _ = book.expire(at: 600)
        #expect(!book.isBanned(IPAddress("198.51.100.77")!), "an expired range holds nothing")
        #expect(book.ban(range, at: 1000, reason: "cohort").duration == 3600, "the second offence of the range")
        #expect(book.unban(range)?.target == range)
        #expect(!book.isBanned(IPAddress("198.51.100.77")!))
    }

    @Test func aRangeInsideABannedRangeIsRefusedAndAWiderOneTakesThePlaceOfThoseInside() {
        var engine = GuardEngine(config: GuardConfig())
        let now = 1_800_000_000
        #expect(engine.banManually(BanTarget("10.1.0.0/16")!, at: now, length: 600)?.action == .ban)
        #expect(engine.banManually(BanTarget("10.2.3.0/24")!, at: now, length: nil)?.action == .ban)
        #expect(engine.banManually(BanTarget("10.1.2.0/24")!, at: now, length: 60) == nil, "inside 10.1.0.0/16")
        #expect(engine.banManually(BanTarget("10.1.2.3")!, at: now, length: 60)?.action == .ban, "a client inside a range is its own ban")
        _ = engine.drain()
        let wider = engine.banManually(BanTarget("10.0.0.0/8")!, at: now + 10, length: 60)
        let decisions = engine.drain()
        #expect(decisions.filter { $0.action == .unban }.compactMap(\.target).sorted() == [BanTarget("10.1.0.0/16")!, BanTarget("10.2.3.0/24")!])
        #expect(decisions.last == wider, "the lifts come first, so the kernel never holds overlapping ranges")
        #expect(wider?.ban?.until == nil, "as long as the longest it took the place of (a permanent one)")
        #expect(engine.banBook.active.keys.filter(\.isRange) == [BanTarget("10.0.0.0/8")!])
        #expect(engine.banBook.isBanned(IPAddress("10.200.0.1")!))
    }

    /// Another edge's decision names a range as `net/len`, an IPv6 client as its group.
    @Test func sharedDecisionsCarryRangesAndGroups() {
        func ban(_ address: String) -> BanTarget? {
            BanBook.Ban(SharedDecision(edge: "b", action: .ban, address: address, since: 0, until: 60, offence: 1, reason: "r", condition: "c"),
                        ipv6Prefix: 64)?.target
        }
        #expect(ban("198.51.100.0/24") == BanTarget("198.51.100.0/24"))
        #expect(ban("2001:db8::/32")?.range == 32)
        #expect(ban("2001:db8:1:2::/64") == BanTarget(client: IPAddress("2001:db8:1:2::")!))
        #expect(ban("203.0.113.9") == BanTarget(client: IPAddress("203.0.113.9")!))
        #expect(ban("not-an-address/8") == nil)
    }

    /// Another edge's wider range takes the place of this edge's ranges inside it, at start too; a
    /// stale one lifts nothing; none wider than /8 (IPv4) or /16 (IPv6) is ever taken.
    @Test func adoptedRangesNeverOverlapAndStaleOrHugeOnesChangeNothing() {
        let now = 1_800_000_000
        func ban(_ text: String, until: Int?) -> BanBook.Ban { BanBook.Ban(target: BanTarget(text)!, since: now - 60, until: until, offence: 1, reason: "r") }
        var engine = GuardEngine(config: GuardConfig())
        #expect(engine.banManually(BanTarget("198.51.100.0/24")!, at: now, length: nil) != nil)
        _ = engine.drain()
        #expect(engine.adopt(ban("198.51.0.0/16", until: now - 1), condition: "c", from: "b", at: now) == nil)
        #expect(engine.banBook.active[BanTarget("198.51.100.0/24")!] != nil, "a stale row lifts nothing")
        let taken = engine.adoptQuietly([ban("198.51.0.0/16", until: now + 600), ban("198.51.7.0/24", until: now + 600)], at: now)
        #expect(taken.map(\.ban.target.description) == ["198.51.0.0/16"], "the /24 inside the /16 just taken is refused")
        #expect(taken.first?.ban.until == nil, "as long as the permanent /24 it took the place of")
        #expect(engine.drain().map { "\($0.action.rawValue) \($0.target!)" } == ["unban 198.51.100.0/24"])
        #expect(engine.banBook.active.keys.filter(\.isRange) == [BanTarget("198.51.0.0/16")!])
        #expect(engine.adopt(ban("128.0.0.0/1", until: now + 600), condition: "c", from: "b", at: now) == nil)
        #expect(engine.banManually(BanTarget("2001::/12")!, at: now, length: 60) == nil)
        #expect(SharedDecision(edge: "b", action: .ban, address: "0.0.0.0/0", since: now, until: now + 60, offence: 1, reason: "r", condition: "c")
            .problem?.contains("wider than /8") == true)
        // A store holding overlapping ranges (written by another process) restores the widest only.
        var restored = GuardEngine(config: GuardConfig())
        restored.restore(bans: [ban("10.1.0.0/16", until: nil), ban("10.0.0.0/8", until: nil), ban("10.1.2.3", until: nil)], offences: [])
        #expect(restored.banBook.active.keys.map(\.description).sorted() == ["10.0.0.0/8", "10.1.2.3"])
        #expect(restored.banBook.refused == 1)
    }

    @Test func aRangeReachingAShieldedAddressIsNeverBanned() {
        var config = GuardConfig()
        config.protected = [CIDR("10.0.0.7")!]
        var engine = GuardEngine(config: config)
        #expect(engine.banManually(BanTarget("10.0.0.0/8")!, at: 0, length: 600) == nil)
        #expect(engine.banManually(BanTarget("11.0.0.0/8")!, at: 0, length: 600) != nil)
    }

    /// The fast check (one lookup per range length in force) against a scan of every ban in force,
    /// over random clients and ranges of every length of both families.
    @Test(arguments: [1, 2, 3, 4])
    func isBannedAgreesWithAScanOfEveryBan(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var book = BanBook(schedule: [nil], forgiveAfter: 3600)
        // A small address space, so ranges and clients meet often.
        func address(_ v4: Bool) -> IPAddress {
            v4 ? IPAddress(v4: 0x0A00_0000 | UInt32.random(in: 0...0xFFFF, using: &random) << 8 | UInt32.random(in: 0...3, using: &random))
               : IPAddress(v6: 0x2001_0db8_0000_0000 | UInt64.random(in: 0...0xFF, using: &random) << 16, 0)
        }
        for step in 0..<3000 {
            let v4 = Bool.random(using: &random)
            let target = Bool.random(using: &random) ? BanTarget(client: address(v4))
                : BanTarget(network: address(v4), prefix: v4 ? Int.random(in: 8...31, using: &random) : Int.random(in: 16...63, using: &random))
            if step % 3 == 2 { book.unban(target) } else if book.range(holding: target).map({ $0.target == target }) ?? true { book.ban(target, at: step, reason: "t") }
            let probe = address(Bool.random(using: &random))
            let scanned = book.active.keys.contains { $0 == BanTarget(client: probe) || CIDR($0.address, prefix: $0.range ?? 200).contains(probe) && $0.isRange }
            #expect(book.isBanned(probe) == scanned, "step \(step): \(probe)")
        }
    }
}
